"""One request's audit bundle, built from the log (``clearance audit bundle`` and
``GET /v1/requests/{id}/audit/bundle``; the format and its offline check are in
:mod:`clearance.domain.ledger.bundle`).

The bundle holds the request's entries and every ``key`` and ``member.*`` entry of the
authorities that decided it, each with its inclusion proof in the latest checkpoint's
tree, and that checkpoint with the witnesses' cosignatures. Finding the key entries
reads only entries of those kinds (by the kind's index); a request's own entries come from
the request's index.
"""

from __future__ import annotations

from typing import Any

from clearance.domain.errors import NotFoundError
from clearance.domain.ledger import audit, members
from clearance.domain.ledger.bundle import make_bundle, wanted
from clearance.service.audit import AuditLog

__all__ = ["request_bundle"]


def request_bundle(log: AuditLog, request_id: str) -> dict[str, Any]:
    """The bundle of ``request_id`` (who may see the request is the caller's check);
    raises :class:`NotFoundError` when the log holds no entry about it."""
    checkpoint, own = log.request_entries(request_id)
    if not own:
        raise NotFoundError(f"the audit log holds no entry about request {request_id}")
    size = checkpoint.size
    authorities: set[str] = set()
    for e in own:
        entry = audit.parse_entry(e.data)
        detail = entry.get("detail")
        if entry["kind"] == audit.DECIDED and isinstance(detail, dict):
            authorities.add(str(detail.get("authority")))
    rows = [(e.index, e.data, e.proof) for e in own]
    if authorities:
        with log.uow() as uow:
            for stored in uow.audit.entries_of_kinds((audit.KEY, *members.KINDS), size):
                if stored.index is None or not wanted(audit.parse_entry(stored.data), authorities):
                    continue
                _, proof = uow.audit.inclusion_proof(stored.index, size)
                rows.append((stored.index, stored.data, proof))
    return make_bundle(
        request_id, log.origin, log.vkey, checkpoint.note, rows, log.disclosures_of(own)
    )
