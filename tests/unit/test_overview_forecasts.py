"""Forecasts on the queue and the overview (``service.forecasts``) over the in-memory
unit of work: every item forecast from one fit per call, the pending requests that start
soonest first, forecast against actual from the history known when each request was
submitted, and the share of requests cleared with no person's step."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from clearance.domain.clearance.forecast import Status, as_submitted, cleared_after
from clearance.domain.clearance.model import ApprovalStatus, Principal
from clearance.domain.clearance.overview import ApprovalTimes, ChainTimes
from clearance.domain.clearance.workflow import Decision, RequestState
from clearance.service import forecasts, handlers
from clearance.service.context import Context
from clearance.service.forecasts import overview_forecasts, queue_forecasts
from clearance.service.memory import MemoryStore, MemoryUnitOfWork
from clearance.service.ports import PinnedClock
from tests.unit.fakes import circle, make_scenario, request_doc

OPS = Principal("planner", operator="A.Ops")
CMD = Principal("cmd-officer", authority="A.Command")
T0 = datetime(2020, 5, 1, tzinfo=UTC)
HOUR = 3600.0


def _armed(day: int) -> dict[str, object]:
    start, end = f"2020-07-{day:02d}T06:00:00Z", f"2020-07-{day:02d}T12:00:00Z"
    return request_doc(circle(5, 5, start=start, end=end), payload="armed", purpose="overwatch")


@pytest.fixture
def clock() -> PinnedClock:
    return PinnedClock(T0)


@pytest.fixture
def flow(clock: PinnedClock) -> Context:
    store = MemoryStore()
    return Context(lambda: MemoryUnitOfWork(store), make_scenario(), clock)


@pytest.fixture(autouse=True)
def forget_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts with no remembered check."""
    monkeypatch.setattr(forecasts, "_CHECKED", type(forecasts._CHECKED)())


@pytest.fixture
def fits(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many authorities each call of ``fit`` in ``service.forecasts`` fitted."""
    calls: list[int] = []
    real = forecasts.fit

    def counted(waits: dict[str, Any]) -> Any:
        calls.append(len(waits))
        return real(waits)

    monkeypatch.setattr(forecasts, "fit", counted)
    return calls


def _clear_by_people(flow: Context, clock: PinnedClock, request_id: str) -> None:
    """Every authority decides an hour after its stage opens, stage by stage."""
    while True:
        with flow.uow() as uow:
            record = uow.requests.get(request_id)
        assert record is not None
        awaiting = record.awaiting()
        if not awaiting:
            assert record.state is RequestState.CLEARED
            return
        clock.at += timedelta(hours=1)
        for authority in awaiting:
            who = Principal(f"{authority}-member", authority=authority)
            handlers.decide(flow, who, request_id, authority, Decision.APPROVE)


def _history(flow: Context, clock: PinnedClock, n: int = 7) -> list[str]:
    """``n`` armed requests, one a day, each cleared by people stage by stage (three
    hours from submission to clearance)."""
    ids = []
    for day in range(n):
        clock.at = T0 + timedelta(days=day)
        request_id = handlers.submit(flow, OPS, _armed(day + 1)).record.id
        _clear_by_people(flow, clock, request_id)
        ids.append(request_id)
    return ids


def test_the_queue_forecasts_every_item_from_one_fit(
    flow: Context, clock: PinnedClock, fits: list[int]
) -> None:
    _history(flow, clock)
    clock.at = T0 + timedelta(days=20)
    waiting = [handlers.submit(flow, OPS, _armed(day)).record.id for day in (25, 26, 27)]
    fits.clear()
    found = queue_forecasts(flow, CMD, "A.Command")
    assert [item.record.id for item, _ in found] == waiting
    assert len(fits) == 1  # one fit for the whole queue, not one per request
    for _, f in found:
        assert f.status is Status.FORECAST
        assert f.median_seconds == 3 * HOUR  # three stages, an hour each
        assert f.before_start_probability == 1.0


def test_the_overview_forecasts_the_pending_requests_starting_soonest_first(
    flow: Context, clock: PinnedClock, fits: list[int]
) -> None:
    _history(flow, clock)
    clock.at = T0 + timedelta(days=20)
    later, sooner = (handlers.submit(flow, OPS, _armed(day)).record.id for day in (28, 25))
    overview_forecasts(flow, OPS)  # the cleared requests are checked once, then remembered
    fits.clear()
    found = overview_forecasts(flow, OPS)
    one_pending_fits = len(fits)
    assert [chain.id for chain, _ in found.pending] == [sooner, later]
    assert found.pending_total == 2
    assert all(f.status is Status.FORECAST for _, f in found.pending)
    assert found.overview.by_state["pending"] == 2
    # more pending requests need no more fits: they share one
    for day in (21, 22, 23):
        handlers.submit(flow, OPS, _armed(day))
    fits.clear()
    assert overview_forecasts(flow, OPS).pending_total == 5
    assert len(fits) == one_pending_fits == 1


def test_only_the_soonest_pending_requests_are_forecast_on_the_overview(
    flow: Context, clock: PinnedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(forecasts, "OVERVIEW_FORECASTS", 2)
    ids = {day: handlers.submit(flow, OPS, _armed(day)).record.id for day in (9, 3, 6)}
    found = overview_forecasts(flow, OPS)
    assert [chain.id for chain, _ in found.pending] == [ids[3], ids[6]]
    assert found.pending_total == 3
    # no authority has decided anything: said plainly, with who
    assert all(f.status is Status.NOT_ENOUGH_HISTORY for _, f in found.pending)
    assert found.pending[0][1].not_enough_history == ("A.Command", "A.Foreign", "H.Air", "H.Chief")


def test_forecast_against_actual_uses_only_the_history_before_each_request(
    flow: Context, clock: PinnedClock
) -> None:
    ids = _history(flow, clock, n=8)
    checked = overview_forecasts(flow, OPS).checked
    assert [c.request_id for c in checked] == ids[::-1][: forecasts.CHECKED]  # newest first
    by_id = {c.request_id: c for c in checked}
    for i, request_id in enumerate(ids):
        c = by_id[request_id]
        assert c.actual_seconds == 3 * HOUR
        assert c.submitted_at == T0 + timedelta(days=i)
        if i < 5:  # fewer than five decisions before it: no forecast, said so
            assert c.forecast.status is Status.NOT_ENOUGH_HISTORY
            assert c.inside is None
        else:
            assert c.forecast.status is Status.FORECAST
            assert c.forecast.median_seconds == 3 * HOUR
            assert c.inside is True


def test_the_share_cleared_automatically_counts_requests_no_person_approved(
    flow: Context, clock: PinnedClock
) -> None:
    handlers.submit(flow, OPS, request_doc(circle(5, 5)))  # unarmed ISR: policy and grant
    _history(flow, clock, n=1)
    found = overview_forecasts(flow, OPS).overview
    assert found.by_state["cleared"] == 2
    assert found.cleared_automatically == 1
    assert found.automatic_share == 0.5


def test_a_chain_as_submitted_reopens_every_persons_approval() -> None:
    at = T0 + timedelta(hours=2)
    approvals = (
        ApprovalTimes("A.Command", 1, ApprovalStatus.APPROVED, at, "m"),
        ApprovalTimes("H.Air", 2, ApprovalStatus.COVERED_BY_GRANT, None, None),
    )
    chain = ChainTimes("req-1", RequestState.CLEARED, T0, T0 + timedelta(days=3), approvals)
    assert cleared_after(chain) == 2 * HOUR
    fresh = as_submitted(chain)
    assert fresh.state is RequestState.PENDING
    assert [(a.status, a.at, a.by) for a in fresh.approvals] == [
        (ApprovalStatus.NEEDS_REVIEW, None, None),
        (ApprovalStatus.COVERED_BY_GRANT, None, None),
    ]
    assert cleared_after(fresh) is None


def test_a_cleared_request_is_checked_once_and_remembered(
    flow: Context, clock: PinnedClock, fits: list[int]
) -> None:
    _history(flow, clock, n=6)
    fits.clear()
    first = overview_forecasts(flow, OPS).checked
    assert fits == [0] + [4] * 6  # no pending; one fit per cleared request, the first time
    fits.clear()
    again = overview_forecasts(flow, OPS).checked
    assert again == first
    assert fits == [0]  # only the (empty) fit of the pending requests
