"""The forecast of when a request will clear, from fakes: histories drawn from known
distributions give the medians and intervals those distributions have."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from clearance.domain.clearance.forecast import (
    MIN_DECISIONS,
    Status,
    Wait,
    fit,
    forecast,
    history,
)
from clearance.domain.clearance.model import ApprovalStatus
from clearance.domain.clearance.overview import ApprovalTimes, ChainTimes
from clearance.domain.clearance.workflow import RequestState

T0 = datetime(2017, 10, 1, tzinfo=UTC)
HOUR = 3600.0
APPROVED, REVIEW, DENIED = (
    ApprovalStatus.APPROVED,
    ApprovalStatus.NEEDS_REVIEW,
    ApprovalStatus.DENIED,
)
AUTO = ApprovalStatus.AUTO_APPROVED


def _approval(
    authority: str, stage: int, status: ApprovalStatus, at: datetime | None = None
) -> ApprovalTimes:
    by = "member" if at is not None else None
    return ApprovalTimes(authority, stage, status, at, by)


def _chain(
    approvals: list[ApprovalTimes],
    *,
    created: datetime = T0,
    state: RequestState = RequestState.PENDING,
    start: datetime = T0 + timedelta(days=30),
    id_: str = "r",
) -> ChainTimes:
    return ChainTimes(id_, state, created, start, tuple(approvals))


def _decided(authority: str, seconds: list[float], approve: bool = True) -> list[ChainTimes]:
    """One request per wait, each decided by ``authority`` after that many seconds."""
    status = APPROVED if approve else DENIED
    state = RequestState.CLEARED if approve else RequestState.DENIED
    return [
        _chain(
            [_approval(authority, 1, status, T0 + timedelta(seconds=s))],
            state=state,
            id_=f"{authority}-{i}",
        )
        for i, s in enumerate(seconds)
    ]


def _exponential(mean: float, n: int, seed: int = 1) -> list[float]:
    return list(np.random.default_rng(seed).exponential(mean, n))


NOW = T0 + timedelta(days=20)


def test_history_counts_decisions_and_censors_what_still_waits() -> None:
    chains = [
        _chain([_approval("NE.MoD", 1, APPROVED, T0 + timedelta(hours=3))], id_="a"),
        _chain([_approval("NE.MoD", 1, REVIEW)], created=NOW - timedelta(hours=5), id_="b"),
    ]
    found = history(chains, NOW)
    assert found == {
        "NE.MoD": [Wait("NE.MoD", 3 * HOUR, True, True), Wait("NE.MoD", 5 * HOUR, False)]
    }


def test_history_does_not_know_a_decision_made_after_now() -> None:
    chain = _chain([_approval("NE.MoD", 1, APPROVED, T0 + timedelta(hours=10))])
    found = history([chain], T0 + timedelta(hours=4))
    assert found == {"NE.MoD": [Wait("NE.MoD", 4 * HOUR, False)]}
    assert history([chain], T0 - timedelta(hours=1)) == {}  # not submitted yet


def test_a_later_stage_waits_from_the_end_of_the_earlier_one() -> None:
    chain = _chain(
        [
            _approval("US.DoD", 1, APPROVED, T0 + timedelta(hours=2)),
            _approval("NE.MoD", 2, APPROVED, T0 + timedelta(hours=7)),
        ],
        state=RequestState.CLEARED,
    )
    assert history([chain], NOW)["NE.MoD"] == [Wait("NE.MoD", 5 * HOUR, True, True)]
    # before the first stage was decided, the second had not opened: no observation
    assert "NE.MoD" not in history([chain], T0 + timedelta(hours=1))


def test_an_expired_or_denied_request_censors_its_open_approvals_when_it_ended() -> None:
    expired = _chain([_approval("NE.MoD", 1, REVIEW)], start=T0 + timedelta(hours=6), id_="expired")
    denied = _chain(
        [_approval("US.DoD", 1, DENIED, T0 + timedelta(hours=2)), _approval("NE.MoD", 1, REVIEW)],
        state=RequestState.DENIED,
        id_="denied",
    )
    by_policy = _chain(
        [_approval("US.DoD", 1, DENIED), _approval("NE.MoD", 1, REVIEW)],
        state=RequestState.DENIED,
        id_="policy",
    )
    withdrawn = _chain([_approval("NE.MoD", 1, REVIEW)], state=RequestState.WITHDRAWN, id_="w")
    found = history([expired, denied, by_policy, withdrawn], NOW)
    assert found["NE.MoD"] == [Wait("NE.MoD", 6 * HOUR, False), Wait("NE.MoD", 2 * HOUR, False)]
    assert found["US.DoD"] == [Wait("US.DoD", 2 * HOUR, True, False)]


def _pending(*approvals: ApprovalTimes, start: datetime = NOW + timedelta(days=10)) -> ChainTimes:
    return _chain(list(approvals), created=NOW, start=start, id_="pending")


def test_one_authority_with_exponential_waits_gives_the_exponential_median_and_interval() -> None:
    mean = 10 * HOUR
    models = fit(history(_decided("NE.MoD", _exponential(mean, 2000)), NOW))
    result = forecast(_pending(_approval("NE.MoD", 1, REVIEW)), models, NOW)
    assert result.status is Status.FORECAST
    assert result.median_seconds == pytest.approx(mean * math.log(2), rel=0.08)
    assert result.low_seconds == pytest.approx(-mean * math.log(0.9), rel=0.15)
    assert result.high_seconds == pytest.approx(-mean * math.log(0.1), rel=0.08)
    assert result.clear_probability == 1.0


def test_authorities_of_one_stage_wait_in_parallel_and_stages_add_up() -> None:
    mean = 10 * HOUR
    chains = _decided("NE.MoD", _exponential(mean, 2000, 1)) + _decided(
        "US.DoD", _exponential(mean, 2000, 2)
    )
    models = fit(history(chains, NOW))
    parallel = forecast(
        _pending(_approval("NE.MoD", 1, REVIEW), _approval("US.DoD", 1, REVIEW)), models, NOW
    )
    # the larger of two exponentials: (1 - e^(-t/m))^2 = 1/2
    assert parallel.median_seconds == pytest.approx(-mean * math.log(1 - math.sqrt(0.5)), rel=0.08)
    sequence = forecast(
        _pending(_approval("US.DoD", 1, REVIEW), _approval("NE.MoD", 2, REVIEW)), models, NOW
    )
    # the sum of two exponentials is Gamma(2, m): median 1.678 m
    assert sequence.median_seconds == pytest.approx(1.678 * mean, rel=0.08)
    assert [s.waiting_seconds for s in sequence.remaining] == [0.0, None]


def test_censored_waits_are_counted_so_the_median_is_not_biased_low() -> None:
    """Waits exponential (mean 10 h), each observed until a random moment: a median of the
    decided ones alone would be far too short; Kaplan-Meier recovers the true one."""
    rng = np.random.default_rng(7)
    mean = 10 * HOUR
    chains = []
    for i, (wait, seen_for) in enumerate(
        zip(rng.exponential(mean, 3000), rng.uniform(0, 20 * HOUR, 3000), strict=True)
    ):
        created = NOW - timedelta(seconds=float(seen_for))
        at = created + timedelta(seconds=float(wait))
        chains.append(_chain([_approval("NE.MoD", 1, APPROVED, at)], created=created, id_=str(i)))
    waits = history(chains, NOW)["NE.MoD"]
    decided = sorted(w.seconds for w in waits if w.decided)
    assert decided[len(decided) // 2] < 0.6 * mean * math.log(2)  # the naive median
    models = fit({"NE.MoD": waits})
    assert models["NE.MoD"].median_seconds == pytest.approx(mean * math.log(2), rel=0.1)


def test_an_approval_already_waiting_draws_only_what_is_left_of_its_wait() -> None:
    models = fit(history(_decided("NE.MoD", [10 * HOUR] * 20), NOW))
    waiting = _chain(
        [_approval("NE.MoD", 1, REVIEW)], created=NOW - timedelta(hours=4), id_="waiting"
    )
    result = forecast(waiting, models, NOW)
    assert result.median_seconds == pytest.approx(6 * HOUR)
    assert result.remaining[0].waiting_seconds == 4 * HOUR


def test_approvals_already_given_take_no_time() -> None:
    models = fit(history(_decided("NE.MoD", [10 * HOUR] * 20), NOW))
    result = forecast(
        _pending(_approval("US.DoD", 1, AUTO), _approval("NE.MoD", 2, REVIEW)), models, NOW
    )
    assert result.median_seconds == pytest.approx(10 * HOUR)
    assert [s.authority for s in result.remaining] == ["NE.MoD"]


def test_too_little_history_is_said_not_invented() -> None:
    chains = _decided("NE.MoD", [HOUR] * (MIN_DECISIONS - 1)) + _decided(
        "US.DoD", [HOUR] * MIN_DECISIONS
    )
    models = fit(history(chains, NOW))
    result = forecast(
        _pending(_approval("NE.MoD", 1, REVIEW), _approval("US.DoD", 1, REVIEW)), models, NOW
    )
    assert result.status is Status.NOT_ENOUGH_HISTORY
    assert result.not_enough_history == ("NE.MoD",)
    assert result.median_seconds is None
    assert result.before_start_probability is None
    unknown = forecast(_pending(_approval("FR.MoD", 1, REVIEW)), models, NOW)
    assert unknown.not_enough_history == ("FR.MoD",)


def test_the_chance_to_clear_before_the_start_counts_the_wait_and_the_denials() -> None:
    mean = HOUR
    chains = _decided("NE.MoD", _exponential(mean, 1000)) + _decided(
        "NE.MoD", _exponential(mean, 1000, 3), approve=False
    )
    models = fit(history(chains, NOW))
    assert models["NE.MoD"].approval_share == 0.5
    result = forecast(
        _pending(_approval("NE.MoD", 1, REVIEW), start=NOW + timedelta(hours=1)), models, NOW
    )
    assert result.clear_probability == pytest.approx(0.5, abs=0.04)
    assert result.before_start_probability == pytest.approx(0.5 * (1 - math.exp(-1)), abs=0.04)


def test_a_forecast_is_deterministic() -> None:
    models = fit(history(_decided("NE.MoD", _exponential(HOUR, 200)), NOW))
    chain = _pending(_approval("NE.MoD", 1, REVIEW))
    assert forecast(chain, models, NOW) == forecast(chain, models, NOW)


def test_a_request_that_is_not_pending_gets_no_forecast() -> None:
    models = fit(history(_decided("NE.MoD", [HOUR] * 10), NOW))
    cleared = _chain([_approval("NE.MoD", 1, APPROVED, NOW)], state=RequestState.CLEARED)
    assert forecast(cleared, models, NOW).status is Status.NOT_PENDING
    expired = _pending(_approval("NE.MoD", 1, REVIEW), start=NOW - timedelta(hours=1))
    assert forecast(expired, models, NOW).status is Status.NOT_PENDING


def test_a_wait_longer_than_any_seen_has_no_upper_bound() -> None:
    """Half the waits are still open after 100 h: the 90th percentile is unknown."""
    chains = _decided("NE.MoD", [HOUR] * 10) + [
        _chain([_approval("NE.MoD", 1, REVIEW)], created=NOW - timedelta(hours=100), id_=str(i))
        for i in range(10)
    ]
    models = fit(history(chains, NOW))
    result = forecast(_pending(_approval("NE.MoD", 1, REVIEW)), models, NOW)
    assert result.low_seconds == HOUR
    assert result.high_seconds is None


def test_an_authoritys_median_is_the_kaplan_meier_median_exactly() -> None:
    """Waits of 1 to 6 h: the survival falls to 5/6 * 4/5 * 3/4 = 1/2 at 3 h (a product
    that is not exactly 0.5 in floating point)."""
    models = fit(history(_decided("NE.MoD", [h * HOUR for h in range(1, 7)]), NOW))
    assert models["NE.MoD"].median_seconds == 3 * HOUR
