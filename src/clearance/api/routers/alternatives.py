"""``GET /v1/requests/{id}/alternatives``: what would clear a stored request (issue 15,
item 1), evaluated against the current scenario version as an amendment would be,
nothing stored. ``POST /v1/evaluations?suggest=true`` gives the same for a document."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from clearance.api import schemas
from clearance.api.deps import ContextDep, HeavyDep, PrincipalDep
from clearance.api.problems import ok, problem_responses
from clearance.domain.clearance.alternatives import LIMIT
from clearance.service import alternatives

router = APIRouter(prefix="/v1/requests", tags=["requests"])


@router.get(
    "/{request_id}/alternatives",
    responses=ok(schemas.Alternatives) | problem_responses(401, 404, 409, 422),
)
async def request_alternatives(
    who: PrincipalDep,
    ctx: ContextDep,
    request_id: str,
    heavy: HeavyDep,
    limit: Annotated[int, Query(ge=1, le=50, description="Suggestions at most.")] = LIMIT,
) -> JSONResponse:
    def work() -> JSONResponse:
        found = alternatives.for_request(
            ctx.uow,
            ctx.current_scenario(),
            ctx.clock,
            ctx.airspace,
            who,
            request_id,
            limit,
        )
        return JSONResponse(alternatives.alternatives_view(found))

    return await heavy(work)
