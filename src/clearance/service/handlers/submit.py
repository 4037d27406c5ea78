"""Submit a request document, or amend a stored one: read, evaluate against the current
scenario version, deconflict, store, flag what it overrides."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from clearance.domain.clearance import access
from clearance.domain.clearance.model import Principal
from clearance.domain.clearance.workflow import RequestRecord
from clearance.domain.errors import ConflictError, NotFoundError, RequestError
from clearance.domain.ledger.signatures import document_digest
from clearance.service.context import Context
from clearance.service.documents import evaluate_in, flag, not_over, read, read_first, read_live
from clearance.service.notify import record_changed
from clearance.service.queries import visible


@dataclass(frozen=True)
class Submitted:
    record: RequestRecord
    created: bool  # False when an Idempotency-Key replayed an earlier submission


@dataclass(frozen=True)
class Amended:
    record: RequestRecord
    kept: list[str]
    reset: list[str]


def new_request_id() -> str:
    """Unique, and sorting in creation order (nanoseconds first, then randomness)."""
    return f"req-{time.time_ns():016x}{secrets.token_hex(4)}"


def submit(
    ctx: Context, who: Principal, document: object, idempotency_key: str | None = None
) -> Submitted:
    scenario, (doc, request) = read_first(ctx, read, document)
    if idempotency_key is not None and not 0 < len(idempotency_key) <= 255:
        raise RequestError("must be 1 to 255 characters", field="Idempotency-Key")
    access.must_submit_for(who, request.operator)
    # only with a key: a document's digest is its RFC 8785 form, which costs
    digest = document_digest(doc) if idempotency_key else ""
    with ctx.airspace.lock, ctx.uow() as uow:
        if idempotency_key:
            earlier = uow.idempotency.find(who.name, idempotency_key)
            if earlier is not None:
                if earlier[1] != digest:
                    raise RequestError(
                        "was already used with a different request body",
                        field="Idempotency-Key",
                    )
                record = uow.requests.get(earlier[0])
                if record is None:  # pragma: no cover - the same transaction wrote both
                    raise NotFoundError(f"request {earlier[0]} is gone")
                return Submitted(record, created=False)
        not_over(ctx, request)
        now = ctx.clock.now()
        request_id = new_request_id()
        request, evaluation, flagged = evaluate_in(ctx, uow, doc, request, scenario, request_id)
        record = RequestRecord.open(request_id, doc, request, evaluation, who.name, now)
        record_changed(uow, record)
        uow.requests.add(record)
        if idempotency_key:
            uow.idempotency.remember(who.name, idempotency_key, digest, record.id)
        flag(uow, flagged, record.id, now)
        uow.commit()
    return Submitted(record, created=True)


def amend(
    ctx: Context, who: Principal, request_id: str, document: object, expected_version: int
) -> Amended:
    """Replace a request's document, at the version its author saw; approvals the change
    does not touch are kept, the others reset."""
    scenario, (doc, request) = read_first(ctx, read_live, document)
    with ctx.airspace.lock, ctx.uow() as uow:
        record = visible(uow, who, request_id)
        access.must_amend(who, record)
        if record.version != expected_version:
            raise ConflictError(
                f"request {request_id} is at version {record.version}, not {expected_version}"
            )
        now = ctx.clock.now()
        request, evaluation, flagged = evaluate_in(ctx, uow, doc, request, scenario, request_id)
        kept, reset = record.amend(doc, request, evaluation, who.name, now)
        record_changed(uow, record)
        uow.requests.save(record, expected_version)
        flag(uow, flagged, record.id, now)
        uow.commit()
    return Amended(record, kept, reset)
