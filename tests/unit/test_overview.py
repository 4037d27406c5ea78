"""The overview's waiting times and an evaluation (nothing stored), on in-memory fakes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from clearance.domain.clearance.model import Principal
from clearance.domain.clearance.overview import ChainTimes, nearest_rank, overview
from clearance.domain.clearance.workflow import Decision
from clearance.domain.errors import ForbiddenError
from clearance.service import handlers, queries
from clearance.service.context import Context
from clearance.service.memory import MemoryStore, MemoryUnitOfWork
from clearance.service.ports import PinnedClock
from tests.unit.fakes import circle, make_scenario, request_doc

START = datetime(2020, 5, 1, tzinfo=UTC)
OPS = Principal("planner", operator="A.Ops")
CMD = Principal("cmd-officer", authority="A.Command")
FOREIGN = Principal("foreign-desk", authority="A.Foreign")


@pytest.fixture
def clock() -> PinnedClock:
    return PinnedClock(START)


@pytest.fixture
def flow(clock: PinnedClock) -> Context:
    store = MemoryStore()
    return Context(lambda: MemoryUnitOfWork(store), make_scenario(), clock)


def armed(band: int = 0) -> dict[str, object]:
    """An armed request; different bands are stacked 100 m apart, so never in conflict."""
    volume = circle(5, 5, lower=100 + band * 100, upper=150 + band * 100)
    return request_doc(volume, payload="armed", purpose="overwatch")


def test_nearest_rank_takes_the_smallest_value_covering_the_share() -> None:
    values = [float(v) for v in range(1, 21)]
    assert nearest_rank(values, 0.9) == 18.0
    assert nearest_rank(values, 0.5) == 10.0
    assert nearest_rank([7.0], 0.9) == 7.0
    with pytest.raises(ValueError, match="no values"):
        nearest_rank([], 0.9)


def test_waits_run_from_when_a_step_could_be_decided_to_its_decision(
    flow: Context, clock: PinnedClock
) -> None:
    minutes = [10, 20, 30, 40, 600]  # A.Command's five decisions; the last one is slow
    for i, wait in enumerate(minutes):
        clock.at = START + timedelta(days=i)
        rid = handlers.submit(flow, OPS, armed(i)).record.id
        clock.at += timedelta(minutes=wait)
        handlers.decide(flow, CMD, rid, "A.Command", Decision.APPROVE)
        clock.at += timedelta(minutes=1)  # A.Foreign decides a minute after A.Command
        handlers.decide(flow, FOREIGN, rid, "A.Foreign", Decision.APPROVE)
    result = overview(
        [ChainTimes.of(r) for r in queries.list_requests(flow, OPS)], clock.at + timedelta(hours=1)
    )
    rows = {r.authority: r for r in result.authorities}
    command = rows["A.Command"]
    assert command.decisions == 5
    assert command.median_wait_seconds == 30 * 60
    assert command.p90_wait_seconds == 600 * 60
    assert rows["A.Foreign"].median_wait_seconds == 60
    # host authorities wait now: one each for every request, the oldest since day 0
    assert rows["H.Air"].waiting_now == 5
    assert rows["H.Air"].decisions == 0
    assert rows["H.Air"].median_wait_seconds is None
    assert result.bottleneck == "A.Command"
    assert [r.authority for r in result.authorities][:2] == ["A.Command", "A.Foreign"]
    assert result.by_state["pending"] == 5
    assert result.requests == 5


def test_policy_and_grant_steps_take_no_ones_time(flow: Context) -> None:
    handlers.submit(flow, OPS, request_doc(circle(5, 5)))  # cleared by policy at once
    result = queries.overview(flow, OPS)
    assert result.by_state["cleared"] == 1
    assert result.authorities == []
    assert result.bottleneck is None


def test_an_evaluation_stores_nothing_and_matches_the_submission(flow: Context) -> None:
    result = queries.evaluate(flow, OPS, armed())
    assert queries.list_requests(flow, OPS) == []
    submitted = handlers.submit(flow, OPS, armed()).record
    assert [a.authority for a in result.evaluation.approvals] == [
        a.authority for a in submitted.approvals
    ]
    again = queries.evaluate(flow, OPS, armed())  # now the same airspace is taken
    assert [v.code for v in again.evaluation.violations] == ["conflict"]
    with pytest.raises(ForbiddenError):
        queries.evaluate(flow, CMD, armed())


def test_a_request_still_pending_at_its_start_counts_as_expired(
    flow: Context, clock: PinnedClock
) -> None:
    handlers.submit(flow, OPS, armed())  # starts 2020-06-01T06:00Z, waits for A.Command
    assert queries.overview(flow, OPS).by_state["pending"] == 1
    clock.at = datetime(2020, 6, 1, 6, tzinfo=UTC)
    result = queries.overview(flow, OPS)
    assert result.by_state["pending"] == 0
    assert result.by_state["expired"] == 1
    assert all(a.waiting_now == 0 for a in result.authorities)


def test_instant_decisions_name_no_bottleneck(flow: Context) -> None:
    rid = handlers.submit(flow, OPS, armed()).record.id
    handlers.decide(flow, CMD, rid, "A.Command", Decision.APPROVE)  # the pinned clock does not move
    result = queries.overview(flow, OPS)
    assert [a.median_wait_seconds for a in result.authorities if a.decisions] == [0.0]
    assert result.bottleneck is None
