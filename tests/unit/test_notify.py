"""Which webhook events a change tells, and whom (``service.notify``), over the in-memory
unit of work: no database, no HTTP."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import yaml

from clearance.adapters.scenario_loader import load_scenario
from clearance.domain.airspace.tracks import Track
from clearance.service import handlers, queries, webhooks
from clearance.service.context import Context
from clearance.service.memory import MemoryStore, MemoryUnitOfWork
from clearance.service.outbox import EVENTS
from clearance.service.ports import PinnedClock

NIGER = Path(__file__).parents[2] / "examples" / "niger"


def _ctx() -> Context:
    store = MemoryStore()
    return Context(
        lambda: MemoryUnitOfWork(store),
        load_scenario(NIGER),
        PinnedClock(datetime(2017, 11, 20, tzinfo=UTC)),
    )


def _doc(prefix: str) -> object:
    (path,) = (NIGER / "requests").glob(f"{prefix}-*.yaml")
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def test_a_cleared_submission_tells_its_operator_cleared_and_nothing_else() -> None:
    ctx = _ctx()
    handlers.add_principal(ctx, "planner", operator="US.AFRICOM")
    planner = queries.principal(ctx, "planner")
    sub = handlers.subscribe(
        ctx, planner, ("operator", "US.AFRICOM"), "http://h.example/", EVENTS, "p"
    )
    other = handlers.subscribe(
        ctx, None, ("operator", "FR.Barkhane"), "http://h.example/", EVENTS, "t"
    )
    record = handlers.submit(ctx, planner, _doc("01")).record
    assert record.state.value == "cleared"
    told = [(d.subscription_id, d.event) for d in webhooks.deliveries(ctx.uow, None)]
    assert told == [(sub.id, "cleared")]
    assert other.id not in {s for s, _ in told}


def test_a_flight_outside_its_volumes_tells_a_conformance_excursion() -> None:
    ctx = _ctx()
    handlers.add_principal(ctx, "planner", operator="US.AFRICOM")
    planner = queries.principal(ctx, "planner")
    record = handlers.submit(ctx, planner, _doc("01")).record
    sub = handlers.subscribe(
        ctx, planner, ("principal", "planner"), "http://h.example/", ["conformance_excursion"], "p"
    )
    start = np.datetime64("2017-11-21T06:10:00", "us")
    times = start + np.array([0, 60], dtype="timedelta64[s]")
    far = Track("t", times, np.array([0.0, 0.0]), np.array([0.0, 0.0]), np.array([500.0, 500.0]))
    result = handlers.record_telemetry(ctx, record.id, far, planner)
    assert not result.conforming
    (told,) = webhooks.deliveries(ctx.uow, None)
    assert (told.subscription_id, told.event) == (sub.id, "conformance_excursion")
    assert told.payload["data"]["reasons"]
