"""One request's audit bundle, built from the log (``clearance audit bundle`` and
``GET /v1/requests/{id}/audit/bundle``; the format and its offline check are in
:mod:`clearance.domain.ledger.bundle`).

The bundle holds the request's entries and every ``key`` and ``member.*`` entry of the
authorities that decided it, each with its inclusion proof in the latest checkpoint's
tree, and that checkpoint with the witnesses' cosignatures. Finding the key entries
reads the log once (a page at a time); a request's own entries come from its index.
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
    context: list[int] = []
    if authorities:
        for page in log.pages():
            for stored in page:
                if stored.index is None or stored.index >= size:
                    continue
                key_like = stored.kind == audit.KEY or stored.kind in members.KINDS
                if key_like and wanted(audit.parse_entry(stored.data), authorities):
                    context.append(stored.index)
    rows = [(e.index, e.data, e.proof) for e in own]
    with log.uow() as uow:
        for index in context:
            stored_entry = uow.audit.entry(index)
            if stored_entry is None:  # pragma: no cover - integrated entries stay
                raise NotFoundError(f"audit entry {index} is missing from the database")
            _, proof = uow.audit.inclusion_proof(index, size)
            rows.append((index, stored_entry.data, proof))
    return make_bundle(
        request_id, log.origin, log.vkey, checkpoint.note, rows, log.disclosures_of(own)
    )
