"""The API's dependencies stay on the event loop unless they block.

FastAPI runs a plain-function dependency in a worker thread; a submission made five such
round trips (the app's workflow, the heavy limiter, the caller, the body, the work)
where the commit before heavy work moved to threads made three, and bench/api_load.py
measured it slower. Only a dependency that reads the database may be a plain function;
a JSON request document is read on the event loop, a large body in a worker thread."""

from __future__ import annotations

import inspect
import json
from collections.abc import Iterator
from typing import Any

import anyio
import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from clearance.api import deps
from clearance.api.routers import (
    audit,
    authorities,
    evaluations,
    grants,
    health,
    me,
    overview,
    requests,
    scenario,
    telemetry,
)

ROUTERS = (audit, authorities, evaluations, grants, health, me, overview, requests, scenario)
ROUTERS += (telemetry,)
# Reads the principal from the database on every call (a revoked token is refused at once).
BLOCKING = {deps.get_principal}


def _calls(dependant: Dependant) -> Iterator[Any]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from _calls(sub)


def _is_coroutine(call: Any) -> bool:
    return inspect.iscoroutinefunction(call) or inspect.iscoroutinefunction(
        getattr(call, "__call__", None)  # noqa: B004 - an instance with an async __call__
    )


def test_every_dependency_of_every_route_is_a_coroutine_unless_it_reads_the_database() -> None:
    routes = [r for module in ROUTERS for r in module.router.routes if isinstance(r, APIRoute)]
    assert len(routes) >= 19
    threaded = {
        f"{route.path} {getattr(call, '__qualname__', call)}"
        for route in routes
        for call in _calls(route.dependant)
        if not _is_coroutine(call) and call not in BLOCKING
    }
    assert threaded == set()


class Limiter:
    """A heavy limiter that records what was sent to a worker thread."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def __call__(self, fn: Any, *args: Any) -> Any:
        self.sent.append(fn.__name__)
        return fn(*args)


class Body:
    def __init__(self, raw: bytes, media: str = "application/json") -> None:
        self.raw = raw
        self.headers = {"content-type": media}

    async def body(self) -> bytes:
        return self.raw


def _body_of(size: int) -> bytes:
    raw = json.dumps({"pad": ""}).encode()
    return json.dumps({"pad": "x" * (size - len(raw))}).encode()


@pytest.mark.parametrize(
    ("size", "threaded"),
    [
        (1_000, []),
        (deps.INLINE_JSON_BYTES, []),
        (deps.INLINE_JSON_BYTES + 1, ["parse_json_object"]),
    ],
)
def test_a_json_document_is_read_on_the_event_loop_unless_it_is_large(
    size: int, threaded: list[str]
) -> None:
    limiter = Limiter()
    raw = _body_of(size)
    assert len(raw) == size
    for dependency in (deps.document, deps.json_object):
        got = anyio.run(dependency, Body(raw), limiter)  # type: ignore[arg-type]
        assert got == json.loads(raw)
    assert limiter.sent == threaded * 2


def test_a_yaml_document_is_always_read_in_a_worker_thread() -> None:
    limiter = Limiter()
    got = anyio.run(deps.document, Body(b"a: 1\n", "application/yaml"), limiter)  # type: ignore[arg-type]
    assert got == {"a": 1}
    assert limiter.sent == ["parse_yaml_object"]
