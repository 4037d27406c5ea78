"""``/v1/authorities/{id}/queue``: what waits for an authority's decision, oldest first,
each with when it will likely clear (``service.forecasts``, one fit for the queue);
``/v1/authorities/{id}/members``: its members' enrolled keys, and enrolling or revoking
one by a statement its root key signed."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from clearance.api import schemas
from clearance.api.deps import ContextDep, JsonObjectDep, PrincipalDep
from clearance.api.problems import ok, problem_responses
from clearance.domain.ledger.members import ENROLLED, KEY_REVOKED, key_text, read_body
from clearance.service import handlers, queries
from clearance.service.context import Context
from clearance.service.forecasts import forecast_brief, queue_forecasts
from clearance.service.views import member_key_view, queue_item_view

router = APIRouter(prefix="/v1/authorities", tags=["authorities"])


@router.get(
    "/{authority_id}/queue",
    response_model=None,
    responses=ok(schemas.Queue) | problem_responses(401, 403),
)
def queue(who: PrincipalDep, ctx: ContextDep, authority_id: str) -> dict[str, Any]:
    items = queue_forecasts(ctx, who, authority_id)
    now = ctx.clock.now()
    return {
        "authority": authority_id,
        "items": [
            queue_item_view(i, now, ctx.scenario_of(i.record)) | {"forecast": forecast_brief(f)}
            for i, f in items
        ],
    }


# -- members' keys: enrolled and revoked by statements the authority's root key signed ----
# The root key signs on the authority's own machine (`clearance member statement`); the
# service checks the signature against the root key the scenario names and logs it whole.

MEMBER_STATEMENT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/MemberStatementBody"}}
        },
    }
}
STATEMENT_ERRORS = (400, 401, 403, 404, 409, 413, 415, 422)


@router.get(
    "/{authority_id}/members",
    response_model=None,
    responses=ok(schemas.MemberKeys) | problem_responses(401),
)
def members(who: PrincipalDep, ctx: ContextDep, authority_id: str) -> dict[str, Any]:
    """The authority's root key (null when it names none: its decisions go unsigned) and the member
    keys enrolled for it, revoked or not (public keys only: the log holds the same
    statements for anyone to check)."""
    keeper = ctx.current_scenario().authorities.get(authority_id)
    root = keeper.root_key if keeper is not None else None
    return {
        "authority": authority_id,
        "root_key": key_text(root) if root is not None else None,
        "keys": [
            member_key_view(k) for k in queries.member_keys(ctx) if k.authority == authority_id
        ],
    }


@router.post(
    "/{authority_id}/members",
    status_code=201,
    response_model=None,
    openapi_extra=MEMBER_STATEMENT_BODY,
    responses=ok(schemas.MemberKeyView, 201) | problem_responses(*STATEMENT_ERRORS),
)
def enroll(
    who: PrincipalDep, ctx: ContextDep, authority_id: str, body: JsonObjectDep
) -> JSONResponse:
    """Enroll a member's key by the statement its authority's root key signed."""
    return _apply(ctx, authority_id, body, ENROLLED)


@router.post(
    "/{authority_id}/members/revocations",
    status_code=201,
    response_model=None,
    openapi_extra=MEMBER_STATEMENT_BODY,
    responses=ok(schemas.MemberKeyView, 201) | problem_responses(*STATEMENT_ERRORS),
)
def revoke(
    who: PrincipalDep, ctx: ContextDep, authority_id: str, body: JsonObjectDep
) -> JSONResponse:
    """Revoke a member's key by the statement its authority's root key signed."""
    return _apply(ctx, authority_id, body, KEY_REVOKED)


def _apply(ctx: Context, authority_id: str, body: dict[str, Any], kind: str) -> JSONResponse:
    statement = read_body(body, authority_id, kind)
    handlers.apply_member_statement(ctx, statement)
    (record,) = [
        k
        for k in queries.member_keys(ctx)
        if (k.authority, k.member, k.public_key)
        == (statement.authority, statement.member, statement.public_key)
    ]
    return JSONResponse(member_key_view(record), status_code=201)
