"""``POST /v1/evaluations``: what a request document would get if submitted now (the
chain of approvals with each one's status and reasons, violations and conflicts), storing
nothing. The page calls it while an operator composes a request."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from clearance.api import schemas
from clearance.api.deps import ContextDep, DocumentDep, HeavyDep, PrincipalDep
from clearance.api.problems import ok, problem_responses
from clearance.api.routers.requests import DOCUMENT_BODY
from clearance.service import queries
from clearance.service.views import evaluation_result_view

router = APIRouter(prefix="/v1/evaluations", tags=["requests"])


@router.post(
    "",
    openapi_extra=DOCUMENT_BODY,
    responses=ok(schemas.Evaluation) | problem_responses(400, 401, 403, 413, 415, 422),
)
async def evaluate(
    who: PrincipalDep, ctx: ContextDep, document: DocumentDep, heavy: HeavyDep
) -> JSONResponse:
    def work() -> JSONResponse:
        result = queries.evaluate(ctx, who, document)
        conflicts = queries.conflicts(ctx, who, result.evaluation.violations)
        return JSONResponse(evaluation_result_view(result, conflicts))

    return await heavy(work)
