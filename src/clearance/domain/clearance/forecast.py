"""When a pending request will likely clear: survival analysis of each authority's waits.

An authority's **waiting time** for one approval runs from when the approval became
awaitable (``workflow.waiting_since``: submission, or the end of the earlier stages) to a
member's decision, as in the overview. Approvals still waiting are **right-censored**: we
know only that the wait is longer than what has passed (until ``now``, the request's
first ``time_start`` when it expired waiting, or another authority's denial that ended
it). ``history`` reads those observations from the requests' chains as they stood at
``now`` (a decision after ``now`` is not known yet, so a backtest can forecast each
request from the history before it); ``fit`` gives each authority a Kaplan-Meier
estimate of its waiting time (``lifelines``) and the share of its decisions that
approved.

``forecast`` runs a seeded (deterministic) Monte Carlo over the remaining chain: the
stages still open in order (their times add up), the authorities of one stage in
parallel (the stage takes the longest of them). An approval already waiting for ``e``
seconds draws from its authority's distribution given that it lasts longer than ``e``.
Approvals already given (by policy, grant or a member) take no time. Each draw also
draws approve or deny per authority from its approval share; the request clears in a
draw only when every one approves. Results: the median time to clearance and an 80 %
interval (10th and 90th percentiles) over the draws that clear, the probability that it
clears at all, and before its first ``time_start``. A draw beyond an authority's longest
observed wait (its estimate never reaches zero when its longest waits are still open) is
"longer than any wait seen": a percentile that falls there is ``None``.

An authority with fewer than ``MIN_DECISIONS`` decisions gets no invented figure: the
forecast says whose history is too short (``NOT_ENOUGH_HISTORY``).

``lifelines`` (with pandas and scipy) takes 1.3 to 2 s to import, so it is imported
on the first ``fit``, never when this module is.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import numpy as np

from clearance.domain.clearance.model import ApprovalStatus
from clearance.domain.clearance.overview import ApprovalTimes, ChainTimes
from clearance.domain.clearance.workflow import GIVEN, RequestState

MIN_DECISIONS = 5
DRAWS = 4_000
SEED = 20171004  # any fixed seed: the same history gives the same forecast
LOW, HIGH = 0.10, 0.90  # the 80 % interval
PEOPLE = frozenset({ApprovalStatus.NEEDS_REVIEW, ApprovalStatus.APPROVED, ApprovalStatus.DENIED})


@dataclass(frozen=True, slots=True)
class Wait:
    """One observed wait of one authority: ``decided`` False when it is censored (the
    wait lasted at least ``seconds``); ``approved`` says how a decided one ended."""

    authority: str
    seconds: float
    decided: bool
    approved: bool = False


@dataclass(frozen=True, slots=True)
class WaitModel:
    """An authority's fitted waiting time: the Kaplan-Meier survival function as a step
    function (``survival[i]`` is P(wait > ``times[i]``), ``times`` increasing) and the
    share of its decisions that approved."""

    authority: str
    decisions: int
    censored: int
    approval_share: float
    times: tuple[float, ...]
    survival: tuple[float, ...]
    median_seconds: float | None  # None: more than half of its waits outlast the history
    # the same two as arrays, made once: every request of a queue draws from them
    times_array: Any = field(init=False, compare=False, repr=False)
    survival_array: Any = field(init=False, compare=False, repr=False)
    falling_array: Any = field(init=False, compare=False, repr=False)  # -survival: rising

    def __post_init__(self) -> None:
        object.__setattr__(self, "times_array", np.asarray(self.times, dtype=float))
        object.__setattr__(self, "survival_array", np.asarray(self.survival, dtype=float))
        object.__setattr__(self, "falling_array", -self.survival_array)

    @property
    def enough(self) -> bool:
        return self.decisions >= MIN_DECISIONS


class Status(StrEnum):
    FORECAST = "forecast"
    NOT_ENOUGH_HISTORY = "not_enough_history"
    NOT_PENDING = "not_pending"


@dataclass(frozen=True, slots=True)
class Step:
    """One approval the request still waits for, as the forecast sees it."""

    authority: str
    stage: int
    waiting_seconds: float | None  # None: its stage has not opened yet
    decisions: int  # in the authority's history
    median_wait_seconds: float | None  # of the authority's waits, from the start
    enough_history: bool


@dataclass(frozen=True, slots=True)
class Forecast:
    """What ``forecast`` says of one request at ``now``; the figures are None unless
    ``status`` is ``FORECAST`` (and a percentile beyond every wait seen is None too)."""

    status: Status
    now: datetime
    time_start: datetime
    remaining: tuple[Step, ...] = ()
    not_enough_history: tuple[str, ...] = ()  # authorities with too few decisions
    median_seconds: float | None = None
    low_seconds: float | None = None
    high_seconds: float | None = None
    clear_probability: float | None = None  # every remaining authority approves
    before_start_probability: float | None = None  # ...and before the first time_start
    draws: int = 0

    def at(self, seconds: float | None) -> datetime | None:
        return None if seconds is None else self.now + timedelta(seconds=seconds)


def as_submitted(chain: ChainTimes) -> ChainTimes:
    """The request as it stood when it was submitted: every person's approval still open
    (what a forecast made then saw; a backtest forecasts it again)."""
    approvals = tuple(
        a if a.status not in PEOPLE
        else ApprovalTimes(a.authority, a.stage, ApprovalStatus.NEEDS_REVIEW, None, None)
        for a in chain.approvals
    )  # fmt: skip
    return ChainTimes(chain.id, RequestState.PENDING, chain.created_at, chain.time_start, approvals)


def cleared_after(chain: ChainTimes) -> float | None:
    """Seconds from submission to clearance of a request people cleared (its last
    decision), None when it is not cleared or no person decided on it."""
    if chain.state is not RequestState.CLEARED:
        return None
    decided = [a.at for a in chain.approvals if a.by is not None and a.at is not None]
    if not decided:
        return None
    return max(0.0, (max(decided) - chain.created_at).total_seconds())


def history(chains: Iterable[ChainTimes], now: datetime) -> dict[str, list[Wait]]:
    """Every authority's waits in these chains as known at ``now``, decided or censored.

    Left out: requests submitted after ``now``, infeasible ones and those a policy
    denied when evaluated (no one waited for them), approvals whose stage had not opened
    by ``now``, and the open approvals of withdrawn requests (when the waiting stopped
    is not kept)."""
    found: defaultdict[str, list[Wait]] = defaultdict(list)
    for chain in chains:
        if chain.created_at > now or chain.state is RequestState.INFEASIBLE:
            continue
        if any(a.status is ApprovalStatus.DENIED and a.by is None for a in chain.approvals):
            continue
        # the moment the request stopped waiting for anyone, as far as ``now`` knows
        denials = [
            a.at
            for a in chain.approvals
            if a.status is ApprovalStatus.DENIED and a.at is not None and a.at <= now
        ]
        ended = min([now, chain.time_start, *denials])
        opened = _opened(chain, now)
        for approval in chain.approvals:
            wait = _wait(chain, approval, now, ended, opened[approval.stage])
            if wait is not None:
                found[approval.authority].append(wait)
    return dict(found)


def _known(approval: ApprovalTimes, now: datetime) -> bool:
    """Whether a member's decision on ``approval`` had been made by ``now``."""
    return approval.by is not None and approval.at is not None and approval.at <= now


def _opened(chain: ChainTimes, now: datetime) -> dict[int, datetime | None]:
    """When each stage opened (every earlier one given, as known at ``now``: the latest
    of their decisions, or the submission), or None when it had not by ``now``."""
    opened: dict[int, datetime | None] = {}
    since: datetime | None = chain.created_at
    for stage in sorted({a.stage for a in chain.approvals}):
        opened[stage] = since
        for a in chain.approvals:
            if a.stage != stage or since is None:
                continue
            if a.status not in GIVEN or (a.by is not None and not _known(a, now)):
                since = None  # the later stages had not opened by now
            elif a.at is not None:
                since = max(since, a.at)
    return opened


def _wait(
    chain: ChainTimes,
    approval: ApprovalTimes,
    now: datetime,
    ended: datetime,
    since: datetime | None,
) -> Wait | None:
    if approval.status not in PEOPLE or since is None:
        return None
    if _known(approval, now):
        assert approval.at is not None
        seconds = max(0.0, (approval.at - since).total_seconds())
        return Wait(approval.authority, seconds, True, approval.status is ApprovalStatus.APPROVED)
    if chain.state is RequestState.WITHDRAWN or ended < since:
        return None
    return Wait(approval.authority, (ended - since).total_seconds(), False)


def fit(waits: dict[str, list[Wait]]) -> dict[str, WaitModel]:
    """A Kaplan-Meier fit of each authority's waits (lifelines' ``KaplanMeierFitter``)."""
    models: dict[str, WaitModel] = {}
    for authority, observed in waits.items():
        decided = [w for w in observed if w.decided]
        approved = sum(1 for w in decided if w.approved)
        share = approved / len(decided) if decided else 0.0
        if decided:
            times, survival = _kaplan_meier(
                [w.seconds for w in observed], [w.decided for w in observed]
            )
        else:
            times, survival = (0.0,), (1.0,)
        models[authority] = WaitModel(
            authority=authority,
            decisions=len(decided),
            censored=len(observed) - len(decided),
            approval_share=share,
            times=times,
            survival=survival,
            median_seconds=_quantile(times, survival, 0.5),
        )
    return models


def _kaplan_meier(
    seconds: Sequence[float], decided: Sequence[bool]
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    from lifelines import KaplanMeierFitter  # here: about two seconds to import

    fitter: Any = KaplanMeierFitter()
    fitter.fit(np.asarray(seconds, dtype=float), event_observed=np.asarray(decided, dtype=bool))
    frame = fitter.survival_function_
    times = tuple(float(t) for t in frame.index.to_numpy())
    survival = tuple(float(s) for s in frame.iloc[:, 0].to_numpy())
    return times, survival


def _quantile(times: Sequence[float], survival: Sequence[float], share: float) -> float | None:
    """The smallest time by which ``share`` of the waits have ended (None: not within the
    history). The tolerance keeps a product such as 5/6 * 4/5 * 3/4 at one half."""
    for t, s in zip(times, survival, strict=True):
        if s <= 1.0 - share + 1e-9:
            return t
    return None


def forecast(
    chain: ChainTimes,
    models: dict[str, WaitModel],
    now: datetime,
    *,
    draws: int = DRAWS,
    seed: int = SEED,
) -> Forecast:
    """The forecast of one request at ``now`` from its authorities' fitted waits."""
    state = chain.state_at(now)
    if state is not RequestState.PENDING:
        return Forecast(Status.NOT_PENDING, now, chain.time_start)
    steps = _remaining(chain, models, now)
    short = tuple(sorted({s.authority for s in steps if not s.enough_history}))
    if short:
        return Forecast(Status.NOT_ENOUGH_HISTORY, now, chain.time_start, steps, short)
    rng = np.random.default_rng(seed)
    total = np.zeros(draws)
    approved = np.ones(draws, dtype=bool)
    for stage in sorted({s.stage for s in steps}):
        longest = np.zeros(draws)
        for step in (s for s in steps if s.stage == stage):
            model = models[step.authority]
            longest = np.maximum(longest, _draw(model, step.waiting_seconds or 0.0, draws, rng))
            approved &= rng.random(draws) < model.approval_share
        total += longest
    clears = total[approved]
    horizon = (chain.time_start - now).total_seconds()
    low, median, high = _percentiles(clears, (LOW, 0.5, HIGH)) if clears.size else (None,) * 3
    return Forecast(
        Status.FORECAST,
        now,
        chain.time_start,
        steps,
        median_seconds=median,
        low_seconds=low,
        high_seconds=high,
        clear_probability=float(approved.mean()),
        before_start_probability=float((approved & (total < horizon)).mean()),
        draws=draws,
    )


def _remaining(chain: ChainTimes, models: dict[str, WaitModel], now: datetime) -> tuple[Step, ...]:
    """The approvals not given yet, with how long the open stage's have waited."""
    open_stage = min((a.stage for a in chain.approvals if a.status not in GIVEN), default=None)
    steps = []
    for a in chain.approvals:
        if a.status in GIVEN:
            continue
        waiting = None
        if a.stage == open_stage:
            earlier = [e.at for e in chain.approvals if e.stage < a.stage and e.at is not None]
            waiting = max(0.0, (now - max([chain.created_at, *earlier])).total_seconds())
        model = models.get(a.authority)
        steps.append(
            Step(
                authority=a.authority,
                stage=a.stage,
                waiting_seconds=waiting,
                decisions=model.decisions if model else 0,
                median_wait_seconds=model.median_seconds if model else None,
                enough_history=model is not None and model.enough,
            )
        )
    return tuple(steps)


def _draw(model: WaitModel, elapsed: float, draws: int, rng: np.random.Generator) -> Any:
    """``draws`` remaining waits from ``model`` given that it has lasted ``elapsed``
    seconds: inverse-transform sampling of the step survival function conditioned on
    T > elapsed; ``inf`` beyond the longest wait observed."""
    times = model.times_array
    survival = model.survival_array
    index = np.searchsorted(times, elapsed, side="right") - 1
    still = survival[index] if index >= 0 else 1.0
    if still <= 0.0:
        return np.full(draws, math.inf)  # it has waited longer than any decision took
    target = rng.random(draws) * still
    # the first time at which the survival falls to the target or below
    found = np.searchsorted(model.falling_array, -target, side="left")
    ends = np.where(found < len(times), times[np.minimum(found, len(times) - 1)], math.inf)
    return np.maximum(ends - elapsed, 0.0)


def _percentiles(values: Any, shares: tuple[float, ...]) -> tuple[float | None, ...]:
    found = np.quantile(values, shares, method="inverted_cdf")
    return tuple(None if math.isinf(v) else float(v) for v in found)
