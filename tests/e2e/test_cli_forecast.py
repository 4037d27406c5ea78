"""``clearance request forecast ID --as NAME`` in a subprocess, on SQLite and PostgreSQL:
the forecast in text and JSON, "not enough history" named, and the exit codes of a
request the principal may not see (3) and of an unknown principal."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from clearance import bootstrap
from clearance.adapters.sql import make_engine
from clearance.config import Settings
from clearance.domain.clearance.workflow import Decision
from clearance.service import handlers, queries
from clearance.service.context import Context
from clearance.service.ports import PinnedClock
from tests.e2e.conftest import document, later, make_workflow
from tests.serverproc import CLEARANCE, NIGER

NOW = datetime(2017, 11, 20, tzinfo=UTC)
STAMP = "2017-11-20T06:00:00Z"  # the CLI's CLEARANCE_NOW: after the history below


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    configured = Settings(database_url=db_url, now=NOW, key_dir=tmp_path / "keys")
    bootstrap.upgrade_database(configured)
    bootstrap.store_scenario(NIGER, configured)
    return configured


def _at(flow: Context, at: datetime) -> None:
    assert isinstance(flow.clock, PinnedClock)
    flow.clock.at = at


def _stored(settings: Settings) -> dict[str, str]:
    """Five requests into Nigeria approved by both its authorities after 1..5 hours, and
    two still pending: one into Nigeria, one armed (US.DoD has no history)."""
    engine = make_engine(settings.database_url)
    try:
        return _store(make_workflow(engine))
    finally:
        engine.dispose()


def _store(flow: Context) -> dict[str, str]:
    handlers.add_principal(flow, "planner", operator="US.AFRICOM")
    handlers.add_principal(flow, "fr-planner", operator="FR.Barkhane")
    members = {
        a: handlers.add_principal(flow, a, authority=a) for a in ("NE.Defense", "NG.Defense")
    }
    planner = queries.principal(flow, "planner")
    ids = [handlers.submit(flow, planner, later(document("13"), d)).record.id for d in range(1, 6)]
    for hours, request_id in enumerate(ids, start=1):
        _at(flow, NOW + timedelta(hours=hours))
        for authority in members:
            handlers.decide(
                flow,
                queries.principal(flow, authority),
                request_id,
                authority,
                Decision.APPROVE,
                "ok",
            )
    _at(flow, NOW + timedelta(hours=6))
    return {
        "nigeria": handlers.submit(flow, planner, later(document("13"), 10)).record.id,
        "armed": handlers.submit(flow, planner, document("05")).record.id,
    }


def _run(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        "CLEARANCE_DATABASE_URL": settings.database_url,
        "CLEARANCE_KEY_DIR": str(settings.key_dir),
        "CLEARANCE_NOW": STAMP,
    }
    return subprocess.run(
        [*CLEARANCE, "request", "forecast", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_cli_forecasts_a_request_and_names_a_short_history(settings: Settings) -> None:
    ids = _stored(settings)
    done = _run(settings, ids["nigeria"], "--as", "planner", "--json")
    assert done.returncode == 0, done.stderr
    view = json.loads(done.stdout)
    assert view["status"] == "forecast"
    assert view["now"] == STAMP
    # both wait 1..5 h in parallel: the larger is at most 4 h in 16 of 25 cases
    assert view["median_seconds"] == 4 * 3600
    assert view["before_start_probability"] == 1.0

    text = _run(settings, ids["nigeria"], "--as", "planner")
    assert text.returncode == 0, text.stderr
    assert "clears in 4h (median, 2017-11-20T10:00:00Z)" in text.stdout
    assert "stage 2 NG.Defense: waiting 0m; 5 decisions, median wait 3h" in text.stdout

    short = _run(settings, ids["armed"], "--as", "planner")
    assert short.returncode == 0, short.stderr
    assert "not enough history (fewer than 5 decisions): NE.PM, US.DoD, US.State" in short.stdout


def test_the_cli_refuses_what_the_principal_may_not_see(settings: Settings) -> None:
    ids = _stored(settings)
    hidden = _run(settings, ids["nigeria"], "--as", "fr-planner")
    assert hidden.returncode == 3, (hidden.stdout, hidden.stderr)
    assert hidden.stdout == ""
    assert hidden.stderr.strip() == f"error: no request {ids['nigeria']!r}"
    nobody = _run(settings, ids["nigeria"], "--as", "nobody")
    assert nobody.returncode == 3, (nobody.stdout, nobody.stderr)
    assert "Traceback" not in nobody.stderr
    assert len(nobody.stderr.splitlines()) == 1
