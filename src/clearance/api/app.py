"""``create_app(workflow)``: the FastAPI application over one ``Workflow``."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

import clearance
from clearance.api import problems
from clearance.api.routers import authorities, grants, health, requests
from clearance.service.workflow import Workflow

MAX_BODY_BYTES = 1024 * 1024
SWEEP_SECONDS = 30.0
log = logging.getLogger("clearance.api")


def create_app(
    workflow: Workflow,
    *,
    max_body_bytes: int = MAX_BODY_BYTES,
    sweep_seconds: float | None = SWEEP_SECONDS,
) -> FastAPI:
    """The API; serve it with ``uvicorn.run(create_app(workflow))``.

    While serving, expired requests are stored as such every ``sweep_seconds`` (reads
    already show them expired; the sweep records the change and its event)."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        sweeper = _Sweeper(workflow, sweep_seconds) if sweep_seconds else None
        if sweeper is not None:
            sweeper.start()
        yield
        if sweeper is not None:
            # Wait for a sweep in progress, so its connection goes back to the pool
            # before the pool is closed.
            sweeper.halt.set()
            sweeper.join(timeout=30)

    app = FastAPI(
        lifespan=lifespan,
        title="Clearance",
        version=clearance.__version__,
        description="Clears drone operations through several independent authorities.",
        openapi_url="/openapi.json",
    )
    app.state.workflow = workflow
    for module in (health, requests, authorities, grants):
        app.include_router(module.router)
    problems.install(app, max_body_bytes=max_body_bytes)
    return app


class _Sweeper(threading.Thread):
    """Every ``every`` seconds (the first time after one interval), store expiries."""

    def __init__(self, workflow: Workflow, every: float) -> None:
        super().__init__(name="clearance-expiry-sweep", daemon=True)
        self.workflow = workflow
        self.every = every
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.wait(self.every):
            try:
                self.workflow.expire_due()
            except Exception:  # a failed sweep is retried at the next tick
                log.exception("expiry sweep failed")
