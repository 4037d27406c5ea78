"""``create_app(ctx)``: the FastAPI application over one ``Context``."""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

import clearance
from clearance.api import openapi, problems
from clearance.api.deps import heavy_limiter
from clearance.api.routers import (
    alternatives,
    audit,
    authorities,
    evaluations,
    forecasts,
    grant_suggestions,
    grants,
    health,
    me,
    overview,
    requests,
    scenario,
    subscriptions,
    telemetry,
)
from clearance.api.security import SecurityHeaders
from clearance.service import handlers
from clearance.service.audit import AuditLog
from clearance.service.context import Context

MAX_BODY_BYTES = 1024 * 1024
SWEEP_SECONDS = 30.0
DELIVER_SECONDS = 1.0  # how soon a webhook leaves after its change commits, at most
INTEGRATE_SECONDS = 1.0
# With witnesses, every decision should be in a cosigned checkpoint within a second (issue
# 13's target): the wait for the next integration dominates, and at 0.5 s
# bench/audit.py measured commit-to-quorum p99 0.62 s (1.47 s at 1 s).
WITNESSED_INTEGRATE_SECONDS = 0.5
SWITCH_SECONDS = 0.001
log = logging.getLogger("clearance.api")
WEB = Path(__file__).resolve().parents[1] / "web"  # the page: / and its assets under /web


def create_app(
    ctx: Context,
    *,
    max_body_bytes: int = MAX_BODY_BYTES,
    sweep_seconds: float | None = SWEEP_SECONDS,
    audit_log: AuditLog | None = None,
    integrate_seconds: float | None = INTEGRATE_SECONDS,
    ready: Callable[[], str | None] | None = None,
    deliver: Callable[[], object] | None = None,
    deliver_seconds: float = DELIVER_SECONDS,
) -> FastAPI:
    """The API; serve it with ``uvicorn.run(create_app(ctx))``.

    While serving, expired requests are stored as such every ``sweep_seconds`` (reads
    already show them expired; the sweep records the change and its event). With an
    ``audit_log``, its routes are served and the entries committed meanwhile are
    integrated and checkpointed every ``integrate_seconds``. ``ready`` backs ``/readyz``:
    why the process cannot serve now, or None (``bootstrap.Readiness``). ``deliver``, run
    every ``deliver_seconds``, sends the webhooks due (``bootstrap.webhook_worker``)."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # A thread waiting for the GIL asks for it after this long (5 ms by default):
        # the event loop waits for it at every await, so heavy threads would add their
        # interval to every request's latency, several times over.
        sys.setswitchinterval(SWITCH_SECONDS)
        threads = []
        if sweep_seconds:
            threads.append(_Sweeper(partial(_sweep, ctx), sweep_seconds, "expiry-sweep"))
        if audit_log is not None and integrate_seconds:
            threads.append(
                _Sweeper(audit_log.integrate_if_pending, integrate_seconds, "audit-integrate")
            )
        if deliver is not None:
            threads.append(_Sweeper(deliver, deliver_seconds, "webhooks"))
        for thread in threads:
            thread.start()
        yield
        for thread in threads:
            thread.halt.set()
        for thread in threads:
            # Wait for a run in progress, so its connection goes back to the pool
            # before the pool is closed.
            thread.join(timeout=30)

    app = FastAPI(
        lifespan=lifespan,
        title="Clearance",
        version=clearance.__version__,
        description="Clears drone operations through several independent authorities.",
        openapi_url="/openapi.json",
        # FastAPI's own docs load from a CDN and run inline script, which the
        # Content-Security-Policy forbids: /docs is served below from vendored files.
        docs_url=None,
        redoc_url=None,
    )
    app.state.context = ctx
    app.state.ready = ready
    app.state.heavy = heavy_limiter()  # see api.deps: heavy work off the event loop
    for module in (
        health,
        me,
        requests,
        forecasts,
        alternatives,
        evaluations,
        authorities,
        grant_suggestions,
        grants,
        telemetry,
        scenario,
        overview,
        subscriptions,
    ):
        app.include_router(module.router)
    if audit_log is not None:
        app.state.audit_log = audit_log
        app.include_router(audit.router)
    # The page at / and its assets under /web; not a mount at / that would shadow
    # routes added to the app later.
    app.mount("/web", StaticFiles(directory=WEB, html=True), name="web")

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(WEB / "index.html")

    @app.get("/docs", include_in_schema=False)
    def docs() -> FileResponse:
        """Swagger UI over /openapi.json (web/vendor/swagger-ui, web/docs.js)."""
        return FileResponse(WEB / "docs.html")

    problems.install(app, max_body_bytes=max_body_bytes)
    openapi.install(app, ctx.current_scenario())
    app.add_middleware(SecurityHeaders)  # outermost: problems from CatchAll get them too
    return app


def _sweep(ctx: Context) -> None:
    """Store expiries, then tell of requests expiring soon and review deadlines passed."""
    handlers.expire_due(ctx)
    handlers.tell_due(ctx)


class _Sweeper(threading.Thread):
    """Every ``every`` seconds (the first time after one interval), run ``task``: store
    expiries, or integrate the audit log."""

    def __init__(self, task: Callable[[], object], every: float, what: str) -> None:
        super().__init__(name=f"clearance-{what}", daemon=True)
        self.task = task
        self.every = every
        self.what = what
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.wait(self.every):
            try:
                self.task()
            except Exception:  # a failed run is retried at the next tick
                log.exception("%s failed", self.what)
