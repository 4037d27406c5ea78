"""``/v1/authorities/{id}/queue``: what waits for an authority's decision, oldest first."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from clearance.api import schemas
from clearance.api.deps import PrincipalDep, WorkflowDep
from clearance.api.problems import ok, problem_responses
from clearance.service.views import queue_item_view

router = APIRouter(prefix="/v1/authorities", tags=["authorities"])


@router.get(
    "/{authority_id}/queue",
    response_model=None,
    responses=ok(schemas.Queue) | problem_responses(401, 403),
)
def queue(who: PrincipalDep, workflow: WorkflowDep, authority_id: str) -> dict[str, Any]:
    items = workflow.queue(who, authority_id)
    now = workflow.clock.now()
    return {
        "authority": authority_id,
        "items": [queue_item_view(i, now, workflow.scenario_of(i.record)) for i in items],
    }
