"""``/v1/authorities/{id}/queue``: what waits for an authority's decision, oldest first,
each with when it will likely clear (``service.forecasts``, one fit for the queue)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from clearance.api import schemas
from clearance.api.deps import ContextDep, PrincipalDep
from clearance.api.problems import ok, problem_responses
from clearance.service.forecasts import forecast_brief, queue_forecasts
from clearance.service.views import queue_item_view

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
