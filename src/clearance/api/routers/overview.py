"""``GET /v1/overview``: requests by state and each authority's waiting times (median
and 90th percentile of its decisions, and what waits for it now), over the newest
requests the caller may see, so the slow link of the chain is visible."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from clearance.api import schemas
from clearance.api.deps import ContextDep, PrincipalDep
from clearance.api.problems import ok, problem_responses
from clearance.service import queries
from clearance.service.queries import OVERVIEW_LIMIT
from clearance.service.views import overview_view

router = APIRouter(prefix="/v1/overview", tags=["overview"])


@router.get(
    "",
    response_model=None,
    responses=ok(schemas.OverviewOut) | problem_responses(401),
)
def overview(who: PrincipalDep, ctx: ContextDep) -> dict[str, Any]:
    return overview_view(queries.overview(ctx, who)) | {"limit": OVERVIEW_LIMIT}
