"""Deconfliction's cells in the database (SQLite and PostgreSQL): the cells query finds every
conflict the in-process index finds, and the cells follow the requests' states."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa
import yaml
from sqlalchemy.engine import Engine

from clearance.adapters import sql_tables as t
from clearance.adapters.scenario_loader import load_scenario
from clearance.adapters.sql import make_engine, uow_factory, upgrade
from clearance.domain.airspace.cells import request_cells
from clearance.domain.airspace.index import VolumeIndex
from clearance.domain.airspace.volumes import Circle, Volume4D
from clearance.domain.clearance.requests import stored_airspace
from clearance.domain.clearance.workflow import Decision
from clearance.domain.documents import instant
from clearance.domain.errors import RequestError
from clearance.service import handlers, queries
from clearance.service.airspace import Airspace
from clearance.service.context import Context
from clearance.service.ports import PinnedClock, cells_of
from tests.unit.test_index import random_volumes

NIGER = Path(__file__).parents[2] / "examples" / "niger"
NOW = datetime(2017, 11, 20, tzinfo=UTC)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    upgrade(engine)
    try:
        yield engine
    finally:
        engine.dispose()


def volume_json(v: Volume4D) -> dict[str, Any]:
    outline: dict[str, Any]
    if isinstance(v.outline, Circle):
        center = {"lat": v.outline.center.lat, "lng": v.outline.center.lng}
        radius = {"value": v.outline.radius_m, "units": "M"}
        outline = {"outline_circle": {"center": center, "radius": radius}}
    else:
        outline = {"outline_polygon": {"vertices": [{"lat": p.lat, "lng": p.lng} for p in v.outline.vertices]}}  # fmt: skip
    return {
        "volume": {
            **outline,
            "altitude_lower": {"value": v.altitude_lower_m, "reference": "W84", "units": "M"},
            "altitude_upper": {"value": v.altitude_upper_m, "reference": "W84", "units": "M"},
        },
        "time_start": {"value": instant(v.time_start), "format": "RFC3339"},
        "time_end": {"value": instant(v.time_end), "format": "RFC3339"},
    }


def readable(v: Volume4D) -> bool:
    """Whether the service would have stored it (random polygons may cross themselves)."""
    try:
        stored_airspace({"purpose": "isr", "volumes": [volume_json(v)]})
    except RequestError:
        return False
    return True


def store(engine: Engine, request_id: str, volumes: list[Volume4D], state: str) -> None:
    """A request row with these volumes, and its cells as the repository indexes them."""
    document = {"purpose": "isr", "volumes": [volume_json(v) for v in volumes]}
    with uow_factory(engine)() as uow:
        uow.execute(
            sa.insert(t.requests).values(
                id=request_id, version=1, operator="X", submitted_by="x", document=document,
                state=state, outcome=state, violations=[], time_start=NOW, time_end=NOW,
                created_at=NOW, updated_at=NOW, evaluated_at=NOW,
            ),
            write=True,
        )  # fmt: skip
        uow.airspace.index(request_id, cells_of(volumes))
        uow.commit()


@pytest.mark.parametrize("seed", [1, 2])
def test_the_cells_query_finds_every_conflict_the_in_process_index_finds(
    engine: Engine, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    old = VolumeIndex()
    volumes = [v for v in random_volumes(300, rng) if readable(v)]
    for n in range(120):
        mine = volumes[2 * n : 2 * n + int(rng.integers(1, 3))]
        state = "withdrawn" if n % 10 == 0 else "pending"  # left the airspace: no match
        store(engine, f"req-{n:04x}", mine, state)
        if state == "pending":
            old.add_many(((f"req-{n:04x}", i), v) for i, v in enumerate(mine))
    airspace = Airspace()
    found = 0
    with uow_factory(engine)() as uow:
        for query in random_volumes(400, rng):
            cells = sorted(request_cells([query])[0])
            index, _ = airspace.nearby(uow, [query], cells)
            expected = old.conflicts(query)
            assert sorted(index.conflicts(query)) == sorted(expected)
            found += len(expected)
    assert found > 50  # crowded enough that the comparison means something


@pytest.fixture
def workflow(engine: Engine) -> Context:
    return Context(uow_factory(engine), load_scenario(NIGER), PinnedClock(NOW))


def cells_of_request(engine: Engine, request_id: str) -> int:
    c = t.airspace_cells.c
    with engine.connect() as connection:
        query = sa.select(sa.func.count()).where(c.request_id == request_id)
        return int(connection.execute(query).scalar_one())


def example(prefix: str) -> Any:
    (path,) = (NIGER / "requests").glob(f"{prefix}-*.yaml")
    return yaml.safe_load(path.read_text())


def test_cells_are_kept_while_a_request_takes_airspace_and_dropped_when_it_leaves(
    engine: Engine, workflow: Context
) -> None:
    handlers.add_principal(workflow, "planner", operator="US.AFRICOM")
    handlers.add_principal(workflow, "ne", authority="NE.Defense")
    planner, ne = queries.principal(workflow, "planner"), queries.principal(workflow, "ne")

    cleared = handlers.submit(workflow, planner, example("01")).record
    assert cleared.state.value == "cleared"
    assert cells_of_request(engine, cleared.id) > 0
    refused = handlers.submit(workflow, planner, example("01")).record  # the same airspace and time
    assert refused.state.value == "infeasible"
    assert cells_of_request(engine, refused.id) == 0
    handlers.withdraw(workflow, planner, cleared.id)
    assert cells_of_request(engine, cleared.id) == 0
    again = handlers.submit(workflow, planner, example("01")).record  # the airspace is free again
    assert again.state.value == "cleared"

    pending = handlers.submit(workflow, planner, example("13")).record
    assert pending.state.value == "pending"
    assert cells_of_request(engine, pending.id) > 0
    handlers.decide(workflow, ne, pending.id, "NE.Defense", Decision.DENY, "no")
    assert cells_of_request(engine, pending.id) == 0


def test_an_amendment_moves_the_request_s_cells(engine: Engine, workflow: Context) -> None:
    handlers.add_principal(workflow, "planner", operator="US.AFRICOM")
    planner = queries.principal(workflow, "planner")
    record = handlers.submit(workflow, planner, example("01")).record
    before = cells_of_request(engine, record.id)
    moved = example("01")
    moved["volumes"][0]["volume"]["outline_circle"]["radius"]["value"] = 2_000
    handlers.amend(workflow, planner, record.id, moved, record.version)
    assert 0 < cells_of_request(engine, record.id) < before
    # its old airspace is free for another operation
    assert handlers.submit(workflow, planner, example("01")).record.state.value == "infeasible"
    far = example("01")
    far["volumes"][0]["volume"]["outline_circle"]["center"] = {"lat": 14.6, "lng": 1.45}
    assert handlers.submit(workflow, planner, far).record.state.value == "cleared"


def test_migration_0005_indexes_the_requests_already_taking_airspace(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        upgrade(engine, "0004")
        stamp = NOW if engine.dialect.name != "sqlite" else NOW.replace(tzinfo=None)
        rows = [("req-1", "pending"), ("req-2", "cleared"), ("req-3", "withdrawn")]
        with engine.begin() as c:
            for request_id, state in rows:
                c.execute(
                    sa.text(
                        "INSERT INTO requests (id, version, operator, submitted_by, document, "
                        "state, outcome, violations, time_start, time_end, created_at, "
                        "updated_at, evaluated_at) VALUES (:id, 1, 'US.AFRICOM', 'a', :doc, "
                        ":state, :state, '[]', :t, :t, :t, :t, :t)"
                    ),
                    {"id": request_id, "state": state, "t": stamp, "doc": t.json_dumps(example("01"))},
                )  # fmt: skip
        upgrade(engine)
        assert cells_of_request(engine, "req-1") > 0
        assert cells_of_request(engine, "req-2") == cells_of_request(engine, "req-1")
        assert cells_of_request(engine, "req-3") == 0
        with engine.connect() as c:
            locks = c.execute(sa.select(sa.func.count()).select_from(t.airspace_locks))
            assert locks.scalar_one() == cells_of_request(engine, "req-1")
    finally:
        engine.dispose()
