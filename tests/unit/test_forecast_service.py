"""``service.forecasts`` over the in-memory unit of work: the history it reads is the
stored decisions of the authorities a request waits for, several requests share one
fit, and a request the principal may not see does not exist for it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from clearance.domain.clearance.forecast import Status
from clearance.domain.clearance.model import Principal
from clearance.domain.clearance.overview import ChainTimes
from clearance.domain.clearance.workflow import Decision
from clearance.domain.errors import NotFoundError
from clearance.service import handlers
from clearance.service.context import Context
from clearance.service.forecasts import forecast_chains, forecast_request
from clearance.service.memory import MemoryStore, MemoryUnitOfWork
from clearance.service.ports import PinnedClock
from tests.unit.fakes import circle, make_scenario, request_doc

OPS = Principal("planner", operator="A.Ops")
OTHER = Principal("other-planner", operator="B.Ops")
CMD = Principal("cmd-officer", authority="A.Command")
T0 = datetime(2020, 5, 1, tzinfo=UTC)
HOUR = 3600.0


def _armed(day: int) -> dict[str, object]:
    start, end = f"2020-06-{day:02d}T06:00:00Z", f"2020-06-{day:02d}T12:00:00Z"
    return request_doc(circle(5, 5, start=start, end=end), payload="armed", purpose="overwatch")


@pytest.fixture
def flow() -> Context:
    store = MemoryStore()
    return Context(lambda: MemoryUnitOfWork(store), make_scenario(), PinnedClock(T0))


def _history(flow: Context) -> None:
    """Six armed requests: A.Command decides the i-th after i hours."""
    ids = [handlers.submit(flow, OPS, _armed(day)).record.id for day in range(1, 7)]
    assert isinstance(flow.clock, PinnedClock)
    for hours, request_id in enumerate(ids, start=1):
        flow.clock.at = T0 + timedelta(hours=hours)
        handlers.decide(flow, CMD, request_id, "A.Command", Decision.APPROVE)


def test_the_first_stage_is_forecast_from_its_authoritys_decisions(flow: Context) -> None:
    _history(flow)
    request_id = handlers.submit(flow, OPS, _armed(20)).record.id
    found = forecast_request(flow.uow, flow.clock, OPS, request_id)
    # the later stages' authorities have decided nothing yet: said, not guessed
    assert found.status is Status.NOT_ENOUGH_HISTORY
    assert found.not_enough_history == ("A.Foreign", "H.Air", "H.Chief")
    (command, *_) = found.remaining
    assert (command.authority, command.decisions, command.median_wait_seconds) == (
        "A.Command",
        6,
        3 * HOUR,
    )


def test_several_requests_share_one_read_and_one_fit(flow: Context) -> None:
    _history(flow)
    with flow.uow() as uow:
        chains = [ChainTimes.of(r) for r in uow.requests.search(limit=3)]
    found = forecast_chains(flow.uow, flow.clock, chains)
    assert [f.status for f in found] == [Status.NOT_ENOUGH_HISTORY] * 3
    assert [f.remaining[0].authority for f in found] == ["A.Foreign"] * 3
    assert forecast_chains(flow.uow, flow.clock, []) == []


def test_a_request_the_principal_may_not_see_does_not_exist_for_it(flow: Context) -> None:
    request_id = handlers.submit(flow, OPS, _armed(1)).record.id
    for who, asked in ((OTHER, request_id), (OPS, "req-0"), (OPS, "../etc")):
        with pytest.raises(NotFoundError):
            forecast_request(flow.uow, flow.clock, who, asked)
