"""``POST /v1/evaluations``: what a request document would get if submitted now (the
chain of approvals with each one's status and reasons, violations and conflicts), storing
nothing. The page calls it while an operator composes a request. With ``?suggest=true``
the answer also holds ``alternatives``: what would clear it (``routers.alternatives``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from clearance.api import schemas
from clearance.api.deps import ContextDep, DocumentDep, HeavyDep, PrincipalDep
from clearance.api.problems import ok, problem_responses
from clearance.api.routers.requests import DOCUMENT_BODY
from clearance.service import alternatives, queries
from clearance.service.views import evaluation_result_view

router = APIRouter(prefix="/v1/evaluations", tags=["requests"])


@router.post(
    "",
    openapi_extra=DOCUMENT_BODY,
    responses=ok(schemas.Evaluation) | problem_responses(400, 401, 403, 413, 415, 422),
)
async def evaluate(
    who: PrincipalDep,
    ctx: ContextDep,
    document: DocumentDep,
    heavy: HeavyDep,
    suggest: Annotated[
        bool, Query(description="Also say what would clear it (`alternatives`).")
    ] = False,
) -> JSONResponse:
    def work() -> JSONResponse:
        result = queries.evaluate(ctx, who, document)
        conflicts = queries.conflicts(ctx, who, result.evaluation.violations)
        view = evaluation_result_view(result, conflicts)
        if suggest:
            found = alternatives.for_document(
                ctx.uow, ctx.current_scenario(), ctx.clock, ctx.airspace, who, result.document
            )
            view["alternatives"] = alternatives.alternatives_view(found)
        return JSONResponse(view)

    return await heavy(work)
