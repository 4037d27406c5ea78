"""``/v1/audit/...`` and ``/v1/keys``: the tamper-evident log, its proofs and public keys.

- ``GET /v1/audit/checkpoint``: the latest signed checkpoint, a C2SP signed note
  (``text/plain``; with ``Accept: application/json``, also its origin, size and root).
- ``GET /v1/audit/entries/{index}``: one entry (base64 of its canonical JSON, and the
  JSON itself), its leaf hash, and its inclusion proof in the latest checkpoint's tree.
  Any principal's token reads any entry: a request entry holds in clear only what every
  party may see, the rest as salted commitments (``domain.ledger.disclosure``).
- ``GET /v1/requests/{id}/audit``: every entry about one request, with inclusion proofs
  in the latest checkpoint's tree, and the disclosures that open its commitments (only
  for those who may see the request: its operator and the authorities in its chain).
  Entries name requests and the people who acted, so a principal's token is needed.
- ``GET /v1/audit/entries?from=&limit=``: a page of entries (base64 data, no proofs),
  what ``clearance monitor`` reads to recompute the tree.
- ``GET /v1/requests/{id}/audit/bundle``: the request's audit bundle (entries, proofs,
  cosigned checkpoint, the key entries its decisions need), for offline checks.
- ``GET /v1/audit/consistency?from=&to=``: the proof that the tree of ``from`` entries
  is a prefix of the tree of ``to`` entries.
- ``GET /v1/keys``: the log's public key and every authority's, as C2SP verifier keys
  (``<name>+<key id>+<base64>``) and raw base64.

Hashes are standard base64. Every read first integrates the entries committed since the
last checkpoint, so proofs always cover the latest changes.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from clearance.api import schemas
from clearance.api.deps import ContextDep, PrincipalDep
from clearance.api.problems import ok, problem_responses
from clearance.domain.errors import NotFoundError
from clearance.service import bundle, queries
from clearance.service.audit import (
    AuditLog,
    b64,
    checkpoint_view,
    consistency_view,
    entry_view,
)

router = APIRouter(tags=["audit"])

MAX_INDEX = 2**62


async def get_audit_log(request: Request) -> AuditLog:
    log: AuditLog = request.app.state.audit_log
    return log


AuditLogDep = Annotated[AuditLog, Depends(get_audit_log)]

CHECKPOINT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The signed checkpoint (a C2SP signed note), or JSON on request.",
        "content": {
            "text/plain": {"schema": {"type": "string"}},
            "application/json": {"schema": {"$ref": "#/components/schemas/Checkpoint"}},
        },
    }
}


# The checkpoint, the consistency proofs and the public keys are public: a checkpoint
# is meant to be gossiped and checked by anyone, and they name no request or person.
@router.get(
    "/v1/audit/checkpoint", response_class=PlainTextResponse, responses=CHECKPOINT_RESPONSES
)
def checkpoint(log: AuditLogDep, accept: Annotated[str | None, Header()] = None) -> Response:
    latest = log.checkpoint()
    if accept is not None and "application/json" in accept.lower():
        return JSONResponse(checkpoint_view(latest))
    return PlainTextResponse(latest.note, media_type="text/plain; charset=utf-8")


MAX_PAGE = 1000


@router.get(
    "/v1/audit/entries",
    response_model=None,
    responses=ok(schemas.EntryPage) | problem_responses(401, 404, 422),
)
def entries(
    who: PrincipalDep,
    log: AuditLogDep,
    start: Annotated[int, Query(alias="from", ge=0, le=MAX_INDEX, description="First index.")],
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="At most this many.")] = 100,
) -> dict[str, Any]:
    """Entries of the latest checkpoint's tree from log index ``from`` (base64 of each
    entry's canonical JSON), without proofs: a monitor recomputes the tree from them."""
    checkpoint, page = log.entries(start, limit)
    return {
        "checkpoint": checkpoint_view(checkpoint),
        "entries": [{"index": e.index, "data": b64(e.data)} for e in page],
    }


@router.get(
    "/v1/audit/entries/{index}",
    response_model=None,
    responses=ok(schemas.Entry) | problem_responses(401, 404, 422),
)
def entry(
    who: PrincipalDep,
    log: AuditLogDep,
    index: Annotated[int, Path(ge=0, le=MAX_INDEX, description="0-based log index.")],
) -> dict[str, Any]:
    return entry_view(log.entry(index))


@router.get(
    "/v1/requests/{request_id}/audit",
    response_model=None,
    responses=ok(schemas.RequestAudit) | problem_responses(401, 404),
)
def request_entries(
    who: PrincipalDep, ctx: ContextDep, log: AuditLogDep, request_id: str
) -> dict[str, Any]:
    """Every audit entry about one request, each with its inclusion proof in the latest
    checkpoint's tree (one checkpoint for all), so a reader can verify them alone."""
    queries.get(ctx, who, request_id)  # 404 unless the caller may see the request
    checkpoint, entries = log.request_entries(request_id)
    return {
        "checkpoint": checkpoint_view(checkpoint),
        "entries": [{k: v for k, v in entry_view(e).items() if k != "checkpoint"} for e in entries],
        "disclosures": log.disclosures_of(entries),
    }


@router.get(
    "/v1/requests/{request_id}/audit/bundle",
    response_model=None,
    responses=ok(schemas.Bundle) | problem_responses(401, 404),
)
def request_bundle(
    who: PrincipalDep, ctx: ContextDep, log: AuditLogDep, request_id: str
) -> JSONResponse:
    """The request's audit bundle (one file, checkable offline with ``clearance audit
    verify-bundle``), for whoever may see the request."""
    queries.get(ctx, who, request_id)  # 404 unless the caller may see the request
    return JSONResponse(
        bundle.request_bundle(log, request_id),
        headers={"Content-Disposition": f'attachment; filename="{request_id}.bundle.json"'},
    )


@router.get(
    "/v1/audit/consistency",
    response_model=None,
    responses=ok(schemas.Consistency) | problem_responses(404, 422),
)
def consistency(
    log: AuditLogDep,
    size1: Annotated[int, Query(alias="from", ge=1, le=MAX_INDEX, description="Older size.")],
    size2: Annotated[int, Query(alias="to", ge=1, le=MAX_INDEX, description="Newer size.")],
) -> dict[str, Any]:
    return consistency_view(log.consistency(size1, size2))


POLICY_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The witness policy (C2SP tlog-policy text).",
        "content": {"text/plain": {"schema": {"type": "string"}}},
    },
    **problem_responses(404),
}


@router.get(
    "/v1/audit/policy",
    response_class=PlainTextResponse,
    responses=POLICY_RESPONSES,
)
def policy(log: AuditLogDep) -> Response:
    """The witness policy this deployment submits checkpoints under (C2SP tlog-policy):
    what a verifier requires of a checkpoint, the page's audit check included. Public, as
    the checkpoint is; a verifier should hold its own copy and compare."""
    if log.witnessing is None:
        raise NotFoundError(
            "this deployment names no witnesses: its checkpoints are signed by the log alone"
        )
    return PlainTextResponse(log.witnessing.policy.text(), media_type="text/plain; charset=utf-8")


@router.get("/v1/keys", tags=["keys"], response_model=None, responses=ok(schemas.Keys))
def keys(log: AuditLogDep) -> dict[str, Any]:
    return log.public_keys()
