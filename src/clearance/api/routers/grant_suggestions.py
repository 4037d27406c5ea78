"""``GET /v1/authorities/{id}/grant-suggestions``: the standing grants that would have
cleared what the authority approved by hand in a period and none of what it denied
(issue 15, item 2). Members of that authority only; nothing is stored."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from clearance.adapters.files import document_text
from clearance.api import schemas
from clearance.api.deps import ContextDep, HeavyDep, PrincipalDep
from clearance.api.problems import ok, problem_responses
from clearance.domain.clearance.grant_suggestions import LIMIT
from clearance.service import grant_suggestions as mining

router = APIRouter(prefix="/v1/authorities", tags=["authorities"])


@router.get(
    "/{authority_id}/grant-suggestions",
    responses=ok(schemas.GrantSuggestions) | problem_responses(401, 403, 404, 422),
)
async def grant_suggestions(
    who: PrincipalDep,
    ctx: ContextDep,
    authority_id: str,
    heavy: HeavyDep,
    since: Annotated[
        str | None,
        Query(
            description="Decisions made at or after this RFC 3339 instant.",
            json_schema_extra={"pattern": schemas.RFC3339},
        ),
    ] = None,
    until: Annotated[
        str | None,
        Query(
            description="Decisions made before this RFC 3339 instant (after `since`).",
            json_schema_extra={"pattern": schemas.RFC3339},
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=20, description="Suggestions at most.")] = LIMIT,
) -> JSONResponse:
    start, end = mining.period(since, until)

    def work() -> JSONResponse:
        found = mining.grant_suggestions(ctx, who, authority_id, start, end, limit)
        return JSONResponse(mining.with_proposals(mining.suggestions_view(found), document_text))

    return await heavy(work)
