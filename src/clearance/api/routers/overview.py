"""``GET /v1/overview``: requests by state and each authority's waiting times (median
and 90th percentile of its decisions, and what waits for it now), over the newest
requests the caller may see, so the slow link of the chain is visible; the share cleared
with no person's step; the forecasts of the pending requests that start soonest
(``service.forecasts``, one fit per call); and forecast against actual for the requests
people cleared last."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from clearance.api import schemas
from clearance.api.deps import ContextDep, PrincipalDep
from clearance.api.problems import ok, problem_responses
from clearance.service.forecasts import overview_forecasts, overview_forecasts_view
from clearance.service.queries import OVERVIEW_LIMIT
from clearance.service.views import overview_view

router = APIRouter(prefix="/v1/overview", tags=["overview"])


@router.get(
    "",
    response_model=None,
    responses=ok(schemas.OverviewOut) | problem_responses(401),
)
def overview(who: PrincipalDep, ctx: ContextDep) -> dict[str, Any]:
    found = overview_forecasts(ctx, who)
    return (
        overview_view(found.overview) | {"limit": OVERVIEW_LIMIT} | overview_forecasts_view(found)
    )
