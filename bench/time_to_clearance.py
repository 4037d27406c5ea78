"""Backtest of the forecast (issue 15, item 3): how well calibrated "when it will clear" is.

A generated history of requests for the Niger authorities, each forecast at the moment
it was submitted from the history before it (decisions made later are not known then;
approvals still open are censored, as ``domain.clearance.forecast.history`` reads them).

The generated world (every figure *illustrative*):

- requests arrive as a Poisson process, one every ``--gap-hours`` (3 h) on average; each
  starts (first ``time_start``) 2 to 14 days after it is submitted (uniform);
- 60 % follow the armed chain of example 05 (US.DoD, then US.State, then NE.Defense and
  NE.PM in parallel), 40 % the chain of example 13 (US.DoD automatic, then NE.Defense and
  NG.Defense in parallel);
- each authority's wait, from when its stage opens, is drawn from:
  US.DoD lognormal (median 18 h, sigma 0.8), US.State lognormal (median 48 h, sigma 1.0),
  NE.Defense Weibull (shape 1.5, scale 24 h), NE.PM exponential (mean 36 h), NG.Defense
  lognormal (median 30 h, sigma 0.7); and it denies with probability 5, 5, 3, 5 and 10 %;
- a request ends at its first denial, or expires still pending at its ``time_start``:
  the decisions it would have had afterwards are never made (never seen by the model).

Figures, over the requests forecast after a warm-up (``--warmup`` requests):

- ``calibration_80``: the share of requests whose time to clearance falls inside their
  forecast 80 % interval, over the requests every authority would approve (their time
  to clearance as generated, expiry ignored: the model forecasts exactly this);
- ``calibration_80_observed``: the same over the requests that did clear (biased towards
  short waits: those that would have cleared late expired first);
- ``median_abs_error_hours``: the median of |forecast median - actual|, same requests;
- ``before_start_brier``: the Brier score of the probability to clear before the first
  ``time_start`` against what happened (0 is perfect; always saying the base rate
  scores ``before_start_brier_base_rate``);
- ``latency_ms_p50``/``_p95``: one forecast as the service makes it (read the waits of
  the newest ``HISTORY_LIMIT`` requests, fit every authority, draw), per request, in
  wall-clock time; ``cpu_ms_p50``/``_p95`` the same in this process's CPU time (what a
  busy machine does not inflate).

JSON on the last line.

    .venv/bin/python bench/time_to_clearance.py [--requests 2000] [--warmup 300] [--seed 7]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import benchkit  # bench/ is on sys.path when a bench runs as a script
import numpy as np

from clearance.domain.clearance.forecast import Status, Wait, fit, forecast, history
from clearance.domain.clearance.model import ApprovalStatus
from clearance.domain.clearance.overview import ApprovalTimes, ChainTimes, nearest_rank
from clearance.domain.clearance.workflow import RequestState
from clearance.service.forecasts import HISTORY_LIMIT

HOUR = 3600.0
START = datetime(2017, 1, 1, tzinfo=UTC)
ARMED = ((1, ("US.DoD",)), (2, ("US.State",)), (3, ("NE.Defense", "NE.PM")))
INTO_NIGERIA = ((2, ("NE.Defense", "NG.Defense")),)
DENIES = {"US.DoD": 0.05, "US.State": 0.05, "NE.Defense": 0.03, "NE.PM": 0.05, "NG.Defense": 0.10}


def wait_hours(authority: str, rng: np.random.Generator) -> float:
    if authority == "US.DoD":
        return float(rng.lognormal(math.log(18), 0.8))
    if authority == "US.State":
        return float(rng.lognormal(math.log(48), 1.0))
    if authority == "NE.Defense":
        return float(24 * rng.weibull(1.5))
    if authority == "NE.PM":
        return float(rng.exponential(36))
    return float(rng.lognormal(math.log(30), 0.7))  # NG.Defense


@dataclass(frozen=True)
class Generated:
    chain: ChainTimes  # as it happened (decisions after its end never made)
    would_clear: bool  # every authority would approve
    latent_seconds: float  # its time to clearance had it not expired (when would_clear)
    cleared_before_start: bool


def generate(n: int, gap_hours: float, rng: np.random.Generator) -> list[Generated]:
    made = []
    at = START
    for i in range(n):
        at += timedelta(hours=float(rng.exponential(gap_hours)))
        start = at + timedelta(days=float(rng.uniform(2, 14)))
        stages = ARMED if rng.random() < 0.6 else INTO_NIGERIA
        approvals: list[ApprovalTimes] = []
        opened, clears = at, True
        if stages is INTO_NIGERIA:
            approvals.append(ApprovalTimes("US.DoD", 1, ApprovalStatus.AUTO_APPROVED, None, None))
        for stage, authorities in stages:
            times = {a: opened + timedelta(hours=wait_hours(a, rng)) for a in authorities}
            approves = {a: bool(rng.random() >= DENIES[a]) for a in authorities}
            clears = clears and all(approves.values())
            for a in authorities:
                approvals.append(_approval(a, stage, times[a], approves[a]))
            opened = max(times.values())
        latent = (opened - at).total_seconds()
        made.append(_happened(f"req-{i:08x}", at, start, approvals, clears, latent))
    return made


def _approval(authority: str, stage: int, at: datetime, approves: bool) -> ApprovalTimes:
    status = ApprovalStatus.APPROVED if approves else ApprovalStatus.DENIED
    return ApprovalTimes(authority, stage, status, at, "member")


def _happened(
    request_id: str,
    created: datetime,
    start: datetime,
    latent: list[ApprovalTimes],
    clears: bool,
    latent_seconds: float,
) -> Generated:
    """The chain as it happened: decisions stage by stage until a denial or the start."""
    shown: list[ApprovalTimes] = []
    state = RequestState.CLEARED
    end = start
    for stage in sorted({a.stage for a in latent}):
        group = [a for a in latent if a.stage == stage]
        denials = [a.at for a in group if a.status is ApprovalStatus.DENIED and a.at is not None]
        end = min([start, *denials])
        for a in group:
            if a.at is None or a.at <= end:
                shown.append(a)
            else:
                shown.append(
                    ApprovalTimes(a.authority, a.stage, ApprovalStatus.NEEDS_REVIEW, None, None)
                )
        if any(
            a.status is ApprovalStatus.DENIED and a.at is not None and a.at <= start for a in group
        ):
            state = RequestState.DENIED
            break
        if any(
            a.status is not ApprovalStatus.AUTO_APPROVED and a.at is not None and a.at > start
            for a in group
        ):
            state = RequestState.PENDING  # expires at its start, read at any later now
            break
    shown_ids = {(a.authority, a.stage) for a in shown}
    shown += [
        ApprovalTimes(a.authority, a.stage, ApprovalStatus.NEEDS_REVIEW, None, None)
        for a in latent
        if (a.authority, a.stage) not in shown_ids
    ]
    chain = ChainTimes(request_id, state, created, start, tuple(shown))
    cleared = state is RequestState.CLEARED
    return Generated(chain, clears, latent_seconds, cleared)


def fresh(chain: ChainTimes) -> ChainTimes:
    """The request as it stood when it was submitted: every person's approval open."""
    approvals = tuple(
        a if a.status is ApprovalStatus.AUTO_APPROVED
        else ApprovalTimes(a.authority, a.stage, ApprovalStatus.NEEDS_REVIEW, None, None)
        for a in chain.approvals
    )  # fmt: skip
    return ChainTimes(chain.id, RequestState.PENDING, chain.created_at, chain.time_start, approvals)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--gap-hours", type=float, default=3.0)
    parser.add_argument("--seed", type=int, default=7)
    args = benchkit.parse_args(parser, {"requests": 160, "warmup": 80})
    world = generate(args.requests, args.gap_hours, np.random.default_rng(args.seed))
    fit({"warm-up": [Wait("warm-up", 1.0, True)]})  # lifelines' import, not measured

    inside = inside_observed = cleared_observed = would = 0
    errors: list[float] = []
    brier: list[tuple[float, bool]] = []
    latencies: list[float] = []
    cpu_ms: list[float] = []
    statuses: dict[str, int] = {}
    for i in range(args.warmup, len(world)):
        case = world[i]
        now = case.chain.created_at
        began, cpu = time.perf_counter(), time.process_time()
        before = [g.chain for g in world[max(0, i - HISTORY_LIMIT) : i]]
        chain = fresh(case.chain)
        waits = history([*before, chain], now)
        result = forecast(chain, fit(waits), now)
        latencies.append((time.perf_counter() - began) * 1000)
        cpu_ms.append((time.process_time() - cpu) * 1000)
        statuses[result.status.value] = statuses.get(result.status.value, 0) + 1
        if result.status is not Status.FORECAST:
            continue
        assert result.before_start_probability is not None
        brier.append((result.before_start_probability, case.cleared_before_start))
        if not case.would_clear or result.median_seconds is None:
            continue
        would += 1
        low = result.low_seconds if result.low_seconds is not None else 0.0
        high = result.high_seconds if result.high_seconds is not None else math.inf
        hit = low <= case.latent_seconds <= high
        inside += hit
        errors.append(abs(result.median_seconds - case.latent_seconds) / HOUR)
        if case.cleared_before_start:
            cleared_observed += 1
            inside_observed += hit
    base = statistics.fmean(float(y) for _, y in brier) if brier else 0.0
    ordered = sorted(latencies)
    figures: dict[str, Any] = {
        "bench": "time_to_clearance",
        "small": args.small,
        "requests": len(world),
        "forecast": len(world) - args.warmup,
        "statuses": statuses,
        "would_clear": would,
        "calibration_80": round(inside / would, 3) if would else None,
        "calibration_80_observed": (
            round(inside_observed / cleared_observed, 3) if cleared_observed else None
        ),
        "cleared_before_start": cleared_observed,
        "median_abs_error_hours": round(statistics.median(errors), 2) if errors else None,
        "median_actual_hours": (
            round(statistics.median(g.latent_seconds / HOUR for g in world if g.would_clear), 2)
        ),
        "before_start_brier": (
            round(statistics.fmean((p - float(y)) ** 2 for p, y in brier), 4) if brier else None
        ),
        "before_start_brier_base_rate": (
            round(statistics.fmean((base - float(y)) ** 2 for _, y in brier), 4) if brier else None
        ),
        "latency_ms_p50": round(nearest_rank(ordered, 0.5), 2),
        "latency_ms_p95": round(nearest_rank(ordered, 0.95), 2),
        "cpu_ms_p50": round(statistics.median(cpu_ms), 2),
        "cpu_ms_p95": round(nearest_rank(sorted(cpu_ms), 0.95), 2),
        "history_limit": HISTORY_LIMIT,
    }
    print(
        f"{figures['forecast']} forecasts; {figures['calibration_80']} of {would} clearances "
        f"inside the 80 % interval; median |error| {figures['median_abs_error_hours']} h; "
        f"p50 {figures['latency_ms_p50']} ms, p95 {figures['latency_ms_p95']} ms"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
