"""``/healthz``: the process answers (no authentication, no storage), served on the event
loop itself (``async``), never queued behind work in the threads. ``/readyz``: the process
can serve, its database reachable and at this code's schema revision (503 problem+json
naming what is wrong otherwise); what a load balancer asks before sending traffic."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from clearance.api import schemas
from clearance.api.problems import ok, problem, problem_responses

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=None, responses=ok(schemas.Health))
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", response_model=None, responses=ok(schemas.Health) | problem_responses(503))
def readyz(request: Request) -> Any:
    check = getattr(request.app.state, "ready", None)
    reason = check() if check is not None else None  # no check: an app over fakes
    if reason is not None:
        return problem(503, "Not ready", reason, headers={"Retry-After": "5"})
    return {"status": "ok"}
