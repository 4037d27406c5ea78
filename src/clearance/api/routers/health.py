"""``/healthz``: the process answers (no authentication, no storage).

Served on the event loop itself (``async``), never queued behind work in the threads."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}
