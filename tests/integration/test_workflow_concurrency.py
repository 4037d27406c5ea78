"""Two members deciding the same step at once, on SQLite and PostgreSQL: one wins."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from clearance.adapters.scenario_loader import load_scenario
from clearance.adapters.sql import make_engine, uow_factory, upgrade
from clearance.domain.clearance.model import ApprovalStatus
from clearance.domain.clearance.workflow import Decision, RequestState
from clearance.domain.errors import ConflictError
from clearance.service import handlers, queries
from clearance.service.context import Context
from clearance.service.ports import PinnedClock

NIGER = Path(__file__).parents[2] / "examples" / "niger"
ARMED_2020 = NIGER / "requests" / "05-us-armed-overwatch-agadez-2020.yaml"


@pytest.fixture
def workflow(db_url: str) -> Iterator[Context]:
    engine = make_engine(db_url)
    upgrade(engine)
    try:
        yield Context(
            uow_factory(engine),
            load_scenario(NIGER),
            PinnedClock(datetime(2017, 11, 20, tzinfo=UTC)),
        )
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "decisions", [(Decision.APPROVE, Decision.APPROVE), (Decision.APPROVE, Decision.DENY)]
)
def test_two_members_deciding_one_step_at_once_exactly_one_wins(
    workflow: Context, decisions: tuple[Decision, Decision]
) -> None:
    handlers.add_principal(workflow, "planner", operator="US.AFRICOM")
    first = queries.principal(workflow, "planner")
    rid = handlers.submit(workflow, first, yaml.safe_load(ARMED_2020.read_text())).record.id
    members = []
    for name in ("dod-a", "dod-b"):
        handlers.add_principal(workflow, name, authority="US.DoD")
        members.append(queries.principal(workflow, name))

    barrier = threading.Barrier(2)
    outcomes: list[str] = []
    lock = threading.Lock()

    def decide(i: int) -> None:
        barrier.wait()
        try:
            handlers.decide(workflow, members[i], rid, "US.DoD", decisions[i], f"by {i}")
            result = f"won {i}"
        except ConflictError:
            result = "conflict"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=decide, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    assert sorted(o.split()[0] for o in outcomes) == ["conflict", "won"]
    winner = int(next(o for o in outcomes if o.startswith("won")).split()[1])
    record, events = queries.get(workflow, first, rid)
    dod = record.approval("US.DoD")
    assert dod.by == members[winner].name
    assert dod.comment == f"by {winner}"
    expected = (
        ApprovalStatus.APPROVED if decisions[winner] is Decision.APPROVE else ApprovalStatus.DENIED
    )
    assert dod.status is expected
    assert record.version == 2
    assert [e.kind for e in events] == ["submitted", "decided"]
    assert record.state in (RequestState.PENDING, RequestState.DENIED)
