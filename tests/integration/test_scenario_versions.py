"""Scenario versions (issue 12, item 1): `scenario load` stores an immutable version named
by its files' digest and makes it current; a request keeps the version it was evaluated
against and is shown against it; every process sees a new current version at once; an
amendment is evaluated against the current version and says so when it differs."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from sqlalchemy.engine import Engine

from clearance.adapters.scenario_loader import load_scenario_files, scenario_files
from clearance.adapters.sql import make_engine, uow_factory
from clearance.bootstrap import store_scenario, upgrade_database
from clearance.config import Settings
from clearance.domain.clearance.model import Principal
from clearance.domain.errors import NotFoundError, RequestError
from clearance.domain.ledger.audit import scenario_version
from clearance.service import handlers, queries
from clearance.service.context import Context
from clearance.service.ports import PinnedClock
from clearance.service.scenarios import ScenarioVersions
from clearance.service.views import record_view, summary_view

NIGER = Path(__file__).parents[2] / "examples" / "niger"
REQUESTS = NIGER / "requests"
NOW = datetime(2017, 11, 20, 12, tzinfo=UTC)
PLANNER = Principal("planner", operator="US.AFRICOM")
OLD_AREA = "Tillabéri region near the Mali border (illustrative)"
NEW_AREA = "Tillabéri border zone, renamed in version 2"


def _document(name: str) -> dict[str, Any]:
    loaded = yaml.safe_load((REQUESTS / name).read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def _second_version(tmp_path: Path) -> Path:
    """The Niger scenario with its named area renamed and the MQ-1B retired."""
    directory = tmp_path / "niger-v2"
    shutil.copytree(NIGER, directory, ignore=shutil.ignore_patterns("requests"))
    areas = directory / "areas.geojson"
    areas.write_text(areas.read_text(encoding="utf-8").replace(OLD_AREA, NEW_AREA), "utf-8")
    main = directory / "scenario.yaml"
    text = main.read_text(encoding="utf-8")
    retired = "\n".join(line for line in text.splitlines() if "US-MQ1B-1: {type" not in line)
    main.write_text(retired + "\n", encoding="utf-8")
    return directory


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    configured = replace(Settings.from_env(), database_url=db_url, key_dir=tmp_path / "keys")
    return replace(configured, now=NOW)


@pytest.fixture
def process(settings: Settings) -> Iterator[Callable[[], Context]]:
    """Makes the workflow a server process builds (its own engine and version cache)
    over the test's database, as ``bootstrap.context`` does."""
    engines: list[Engine] = []

    def start() -> Context:
        engines.append(make_engine(settings.database_url))
        versions = ScenarioVersions(load_scenario_files)
        return Context(uow_factory(engines[-1]), versions, PinnedClock(NOW))

    yield start
    for engine in engines:
        engine.dispose()


def test_a_request_keeps_its_version_and_every_process_sees_a_new_one_at_once(
    settings: Settings, process: Callable[[], Context], tmp_path: Path
) -> None:
    upgrade_database(settings)
    first, second = process(), process()  # two processes, say
    with pytest.raises(NotFoundError, match="no scenario in the database"):
        first.current_scenario()
    v1 = store_scenario(NIGER, settings).version
    assert v1 == scenario_version(scenario_files(NIGER))
    old = handlers.submit(first, PLANNER, _document("01-us-isr-ouallam.yaml")).record
    assert old.scenario_version == v1

    v2 = store_scenario(_second_version(tmp_path), settings).version  # a third process
    assert v2 != v1
    # first last read v1: its guess is checked in the unit of work, never trusted
    with pytest.raises(RequestError, match="aircraft"):
        handlers.submit(first, PLANNER, _document("01-us-isr-ouallam.yaml"))  # valid in v1 only
    assert (
        handlers.submit(
            first, PLANNER, _document("02-us-isr-river-route.yaml")
        ).record.scenario_version
        == v2
    )
    # neither process was restarted: the next unit of work reads the new current version
    assert first.current_scenario().version == v2
    with pytest.raises(RequestError, match="aircraft"):
        handlers.submit(second, PLANNER, _document("01-us-isr-ouallam.yaml"))  # retired in v2
    new = handlers.submit(second, PLANNER, _document("12-us-isr-agadez-2020.yaml")).record
    assert new.scenario_version == v2

    # the stored request is read and shown against the version it was evaluated under
    seen, _ = queries.get(second, PLANNER, old.id)
    assert seen.scenario_version == v1
    assert second.scenario_of(seen).version == v1
    assert OLD_AREA in summary_view(seen, second.scenario_of(seen))["title"]
    assert record_view(seen, second.scenario_of(seen))["evaluation"]["scenario_version"] == v1


def test_an_amendment_is_evaluated_against_the_current_version_and_says_so(
    settings: Settings, process: Callable[[], Context], tmp_path: Path
) -> None:
    upgrade_database(settings)
    v1 = store_scenario(NIGER, settings).version
    flow = process()
    document = _document("02-us-isr-river-route.yaml")
    record = handlers.submit(flow, PLANNER, document).record
    same = handlers.amend(flow, PLANNER, record.id, document, record.version).record
    amended_event = queries.get(flow, PLANNER, record.id)[1][-1]
    assert amended_event.kind == "amended"
    assert amended_event.detail["scenario_version"] == v1
    assert "previous_scenario_version" not in amended_event.detail

    v2 = store_scenario(_second_version(tmp_path), settings).version
    document["aircraft"] = "US-MQ9-1"  # the MQ-1B is retired in v2
    again = handlers.amend(flow, PLANNER, record.id, document, same.version).record
    assert again.scenario_version == v2
    event = queries.get(flow, PLANNER, record.id)[1][-1]
    assert event.detail["scenario_version"] == v2
    assert event.detail["previous_scenario_version"] == v1


def test_loading_the_same_files_again_reuses_the_version(settings: Settings) -> None:
    upgrade_database(settings)
    first = store_scenario(NIGER, settings).version
    again = store_scenario(NIGER, settings).version
    assert again == first
    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as c:
            versions = c.execute(sa.text("SELECT COUNT(*) FROM scenario_versions")).scalar_one()
            loads = c.execute(sa.text("SELECT COUNT(*) FROM scenario_loads")).scalar_one()
            logged = c.execute(
                sa.text("SELECT COUNT(*) FROM audit_entries WHERE kind = 'scenario.loaded'")
            ).scalar_one()
    finally:
        engine.dispose()
    assert (versions, loads, logged) == (1, 2, 2)  # one version, each load logged
