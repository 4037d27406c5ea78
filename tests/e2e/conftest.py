"""Fixtures for the HTTP API tests: one Context per test, an app over it, actors.

Every test gets its Context only through ``make_workflow`` (via the ``workflow``
fixture), so switching the tests from memory to a real database is a one-function change.
"""

from __future__ import annotations

import copy
import functools
import gc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from clearance.adapters.keys import KeyStore
from clearance.adapters.scenario_loader import load_scenario
from clearance.adapters.sql import make_engine, uow_factory, upgrade
from clearance.api import create_app
from clearance.domain.clearance.scenario import Scenario
from clearance.service import handlers
from clearance.service.audit import AuditLog
from clearance.service.context import Context
from clearance.service.ports import PinnedClock

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "examples" / "niger"
NOW = datetime(2017, 11, 20, tzinfo=UTC)
PROBLEM_JSON = "application/problem+json"
LOG_ORIGIN = "test.clearance/log"

Headers = dict[str, str]


def make_workflow(engine: Engine) -> Context:
    """The Context under test: the Niger scenario, as of 2017-11-20, on a real database
    (each API test runs on a SQLite file and on PostgreSQL). Its authorities name no root
    key, so their decisions are recorded unsigned (tests/parties.py makes parties that
    sign)."""
    upgrade(engine)
    return Context(uow_factory(engine), niger(), PinnedClock(NOW))


@functools.cache
def _loaded() -> Scenario:
    return load_scenario(SCENARIO)


def niger() -> Scenario:
    """A private copy of the Niger scenario, loaded once per session (0.3 s a load).
    Revoking a grant replaces entries of ``grants`` and nothing else, so that dict is
    the only part each test needs of its own."""
    scenario = copy.copy(_loaded())
    scenario.grants = dict(scenario.grants)
    return scenario


def later(doc: dict[str, Any], days: int) -> dict[str, Any]:
    """The same request ``days`` later, so that it does not conflict with the original."""
    moved = copy.deepcopy(doc)
    for volume in moved["volumes"]:
        for key in ("time_start", "time_end"):
            at = datetime.fromisoformat(volume[key]["value"]) + timedelta(days=days)
            volume[key]["value"] = at.isoformat().replace("+00:00", "Z")
    return moved


def document(prefix: str) -> dict[str, Any]:
    """The example request whose file name starts with ``prefix`` (``"05"``), as JSON data."""
    (path,) = (SCENARIO / "requests").glob(f"{prefix}-*.yaml")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def set_now(workflow: Context, at: datetime) -> None:
    assert isinstance(workflow.clock, PinnedClock)
    workflow.clock.at = at


class Actors:
    """Bearer headers for principals, created on first use: one per operator or authority."""

    def __init__(self, workflow: Context) -> None:
        self.workflow = workflow
        self.headers: dict[str, Headers] = {}

    def operator(self, operator: str = "US.AFRICOM") -> Headers:
        return self._get(f"{operator}-planner", operator=operator)

    def member(self, authority: str) -> Headers:
        return self._get(f"{authority}-member", authority=authority)

    def _get(self, name: str, **role: str) -> Headers:
        if name not in self.headers:
            token = handlers.add_principal(self.workflow, name, **role)
            self.headers[name] = {"Authorization": f"Bearer {token}"}
        return self.headers[name]


@pytest.fixture
def keys(tmp_path: Path) -> KeyStore:
    """The log's instance key, for this test only (the server holds no other key)."""
    return KeyStore(tmp_path / "keys")


@pytest.fixture
def workflow(db_url: str, keys: KeyStore) -> Iterator[Context]:
    engine = make_engine(db_url)
    try:
        yield make_workflow(engine)
    finally:
        engine.dispose()
        gc.collect()  # a connection leaked by this test is reported here, not in a later one


@pytest.fixture
def audit_log(workflow: Context, keys: KeyStore) -> AuditLog:
    return AuditLog(workflow.uow, LOG_ORIGIN, keys.instance_key())


@pytest.fixture
def app(workflow: Context, audit_log: AuditLog) -> FastAPI:
    return create_app(workflow, audit_log=audit_log)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def actors(workflow: Context) -> Actors:
    return Actors(workflow)


def assert_problem(response: Any, status: int, **fields: str) -> dict[str, Any]:
    """``response`` is an RFC 9457 problem with this status (and these member values)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body: dict[str, Any] = response.json()
    assert {"type", "title", "status", "detail"} <= body.keys()
    assert body["status"] == status
    for key, value in fields.items():
        assert body.get(key) == value, body
    return body
