"""``/healthz``: the process answers (no authentication, no storage).

Served on the event loop itself (``async``), never queued behind work in the threads."""

from __future__ import annotations

from fastapi import APIRouter

from clearance.api import schemas
from clearance.api.problems import ok

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=None, responses=ok(schemas.Health))
async def healthz() -> dict[str, str]:
    return {"status": "ok"}
