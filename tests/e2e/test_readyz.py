"""``/readyz``: 200 while the database is reachable and at this code's schema revision,
503 problem+json naming what is wrong otherwise (``/healthz`` stays 200 either way)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from clearance import bootstrap
from clearance.adapters.scenario_loader import load_scenario
from clearance.adapters.sql import head_revision, make_engine, uow_factory, upgrade
from clearance.api import create_app
from clearance.config import Settings
from clearance.service.context import Context
from clearance.service.ports import PinnedClock
from tests.pgserver import free_port

NIGER = Path(__file__).parents[2] / "examples" / "niger"


@contextlib.contextmanager
def client_for(url: str, database_url: str) -> Iterator[TestClient]:
    """A client of the API over ``url``, whose readiness checks ``database_url``."""
    engine = make_engine(url)
    ready = bootstrap.Readiness(Settings(database_url=database_url, now=None))
    try:
        clock = PinnedClock(datetime(2017, 11, 20, tzinfo=UTC))
        workflow = Context(uow_factory(engine), load_scenario(NIGER), clock)
        app = create_app(workflow, sweep_seconds=None, integrate_seconds=None, ready=ready)
        with TestClient(app) as client:
            yield client
    finally:
        ready.close()
        engine.dispose()


@pytest.fixture
def migrated(db_url: str) -> str:
    upgrade(db_url)
    return db_url


def test_ready_while_the_database_is_at_this_code_s_revision(migrated: str) -> None:
    with client_for(migrated, migrated) as client:
        response = client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ok"}


def test_not_ready_when_the_database_is_at_another_revision(migrated: str) -> None:
    engine = make_engine(migrated)
    with engine.begin() as c:
        c.execute(sa.text("UPDATE alembic_version SET version_num = '0004'"))
    engine.dispose()
    with client_for(migrated, migrated) as client:
        response = client.get("/readyz")
        assert client.get("/healthz").status_code == 200  # alive, only not ready
        declared = client.get("/openapi.json").json()["paths"]["/readyz"]["get"]["responses"]
    assert {"200", "503"} <= set(declared)
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "0004" in response.json()["detail"]
    assert head_revision() in response.json()["detail"]


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_not_ready_when_the_database_is_unreachable(
    kind: str, tmp_path: Path, sqlite_url: str
) -> None:
    upgrade(sqlite_url)  # the workflow's own database is fine; the checked one is not
    if kind == "sqlite":
        gone = f"sqlite:///{tmp_path / 'no-such-dir' / 'clearance.db'}"
    else:
        gone = f"postgresql+psycopg://nobody:secret@127.0.0.1:{free_port()}/none?connect_timeout=2"
    with client_for(sqlite_url, gone) as client:
        response = client.get("/readyz")
    assert response.status_code == 503, response.text
    detail = response.json()["detail"]
    assert "unreachable" in detail
    assert "secret" not in detail  # the password is never shown
