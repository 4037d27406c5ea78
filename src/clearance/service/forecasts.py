"""When a request will likely clear (``domain.clearance.forecast``), for a principal.

``forecast_request`` reads the request (404 unless the principal may see it:
``domain.clearance.access``) and, when it is pending, the timing of the newest
``HISTORY_LIMIT`` requests in the chain of each authority it still waits for (no
documents: ``RequestRepository.chain_times``), in one unit of work; then it fits and
draws outside it. The history covers every request of those authorities, whoever's, but
only figures about authorities leave this module (how many decisions, a median wait),
never another request.

``queue_forecasts`` and ``overview_forecasts`` forecast many requests from ONE read and
ONE fit per call (``forecast_chains``), with ``LIST_DRAWS`` draws each: a member's queue, and on the overview the
``OVERVIEW_FORECASTS`` pending requests that start soonest. The overview also sets
forecast against actual: each of the ``CHECKED`` requests people cleared most recently
is forecast again as it stood when submitted, from the history known then (one fit
each, with ``CHECK_DRAWS`` draws), beside how long it really took.
"""

from __future__ import annotations

import bisect
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from clearance.domain.clearance import access
from clearance.domain.clearance.forecast import (
    DRAWS,
    HIGH,
    LOW,
    MIN_DECISIONS,
    Forecast,
    Status,
    as_submitted,
    cleared_after,
    fit,
    forecast,
    history,
)
from clearance.domain.clearance.model import Principal
from clearance.domain.clearance.overview import ChainTimes, Overview
from clearance.domain.clearance.overview import overview as summarise
from clearance.domain.clearance.workflow import GIVEN, RequestState
from clearance.domain.documents import instant
from clearance.domain.errors import NotFoundError
from clearance.service import queries
from clearance.service.context import Context
from clearance.service.ports import Clock, UnitOfWork
from clearance.service.queries import OVERVIEW_LIMIT, REQUEST_ID, QueueItem

HISTORY_LIMIT = 2_000  # newest requests read per authority: enough for a stable estimate
OVERVIEW_FORECASTS = 50  # pending requests forecast on the overview (soonest start first)
CHECKED = 12  # cleared requests the overview sets beside their forecast
CHECK_DRAWS = 1_000
LIST_DRAWS = 1_000  # per request in a list (a request's own forecast draws DRAWS)
CHECK_MEMORY = 1_024  # checked requests remembered, least recently shown forgotten first


@dataclass(frozen=True, slots=True)
class Checked:
    """A request people cleared, forecast again as it stood when submitted."""

    request_id: str
    submitted_at: datetime
    forecast: Forecast
    actual_seconds: float

    @property
    def inside(self) -> bool | None:
        """Whether the actual time fell inside the forecast's 80 % interval (None: there
        was no forecast); a bound beyond every wait seen is open."""
        f = self.forecast
        if f.status is not Status.FORECAST or f.median_seconds is None:
            return None
        low = f.low_seconds if f.low_seconds is not None else 0.0
        return low <= self.actual_seconds and (
            f.high_seconds is None or self.actual_seconds <= f.high_seconds
        )


@dataclass(frozen=True, slots=True)
class OverviewForecasts:
    overview: Overview
    pending: list[tuple[ChainTimes, Forecast]]  # soonest first time_start first
    pending_total: int  # pending requests in the overview, forecast or not
    checked: list[Checked]  # newest first


# a cleared chain (its decisions included) -> its check; per process
_CHECKED: OrderedDict[ChainTimes, Checked] = OrderedDict()
_CHECKED_LOCK = threading.Lock()


def forecast_request(
    uow: Callable[[], UnitOfWork], clock: Clock, who: Principal, request_id: str
) -> Forecast:
    """The forecast of request ``request_id`` at the clock's now; raises
    ``NotFoundError`` when there is no such request or ``who`` may not see it."""
    now = clock.now()
    with uow() as work:
        record = work.requests.get(request_id) if REQUEST_ID.fullmatch(request_id) else None
        if record is None or not access.may_see(who, record):
            raise NotFoundError(f"no request {request_id!r}")
        chains = [ChainTimes.of(record)]
        authorities, read = _history(work, chains, now)
    (found,) = _forecasts(chains, authorities, read, now)
    return found


def forecast_chains(
    uow: Callable[[], UnitOfWork],
    clock: Clock,
    chains: Sequence[ChainTimes],
    *,
    draws: int = DRAWS,
) -> list[Forecast]:
    """The forecasts of several requests (a queue's, say), in order, each authority's
    history read and fitted once for all of them. The caller has checked that the
    principal may see each request."""
    now = clock.now()
    with uow() as work:
        authorities, read = _history(work, chains, now)
    return _forecasts(chains, authorities, read, now, draws)


def queue_forecasts(
    ctx: Context, who: Principal, authority: str
) -> list[tuple[QueueItem, Forecast]]:
    """What waits for ``authority`` (``queries.queue``), each with its forecast, from one
    read of the history and one fit."""
    items = queries.queue(ctx, who, authority)
    chains = [ChainTimes.of(i.record) for i in items]
    found = forecast_chains(ctx.uow, ctx.clock, chains, draws=LIST_DRAWS)
    return list(zip(items, found, strict=True))


def overview_forecasts(ctx: Context, who: Principal) -> OverviewForecasts:
    """The overview (``queries.overview``), the forecasts of the pending requests in it
    that start soonest, and forecast against actual for those people cleared last."""
    now = ctx.clock.now()
    with ctx.uow() as work:
        chains = queries.visible_chains(work, who, OVERVIEW_LIMIT)
        pending = sorted(
            (c for c in chains if c.state_at(now) is RequestState.PENDING),
            key=lambda c: (c.time_start, c.id),
        )
        shown = pending[:OVERVIEW_FORECASTS]
        cleared = [c for c in chains if cleared_after(c) is not None][:CHECKED]
        authorities, read = _history(work, shown, now, cleared)
    found = _forecasts(shown, authorities, read, now, LIST_DRAWS)
    return OverviewForecasts(
        overview=summarise(chains, now),
        pending=list(zip(shown, found, strict=True)),
        pending_total=len(pending),
        checked=_check(cleared, read),
    )


def _check(cleared: Sequence[ChainTimes], read: list[ChainTimes]) -> list[Checked]:
    """Each cleared request forecast as it stood when submitted, from the history before
    it (``history`` reads it as known then), beside how long it took. What was known
    then does not change, so each is remembered (``_CHECKED``): a fit takes tens of
    milliseconds, and the overview is read again and again."""
    ordered = sorted(read, key=lambda c: c.created_at)
    starts = [c.created_at for c in ordered]
    checked = []
    for chain in cleared:
        with _CHECKED_LOCK:
            known = _CHECKED.get(chain)
            if known is not None:
                _CHECKED.move_to_end(chain)
        if known is not None:
            checked.append(known)
            continue
        then = chain.created_at
        before = ordered[: bisect.bisect_left(starts, then)]
        fresh = as_submitted(chain)
        waits = history([*before, fresh], then)
        mine = {a.authority for a in fresh.approvals if a.status not in GIVEN}
        models = fit({a: waits.get(a, []) for a in mine})
        actual = cleared_after(chain)
        assert actual is not None
        found = forecast(fresh, models, then, draws=CHECK_DRAWS)
        checked.append(Checked(chain.id, then, found, actual))
        with _CHECKED_LOCK:
            _CHECKED[chain] = checked[-1]
            if len(_CHECKED) > CHECK_MEMORY:
                _CHECKED.popitem(last=False)
    return checked


def _history(
    work: UnitOfWork,
    chains: Sequence[ChainTimes],
    now: datetime,
    also: Sequence[ChainTimes] = (),
) -> tuple[list[str], list[ChainTimes]]:
    """The authorities these chains still wait for (those pending at ``now``), and the
    newest requests in the chain of each (and of every authority a person decided for
    in the chains ``also``)."""
    authorities = sorted(
        {
            a.authority
            for chain in chains
            if chain.state_at(now) is RequestState.PENDING
            for a in chain.approvals
            if a.status not in GIVEN
        }
    )
    extra = {a.authority for chain in also for a in chain.approvals if a.by is not None}
    read = work.requests.chain_times_of(sorted({*authorities, *extra}), HISTORY_LIMIT)
    return authorities, read


def _forecasts(
    chains: Sequence[ChainTimes],
    authorities: list[str],
    read: list[ChainTimes],
    now: datetime,
    draws: int = DRAWS,
) -> list[Forecast]:
    waits = history(read, now)
    models = fit({a: waits.get(a, []) for a in authorities})
    return [forecast(chain, models, now, draws=draws) for chain in chains]


def forecast_view(request_id: str, f: Forecast) -> dict[str, Any]:
    """The forecast as the API and ``--json`` show it (``ForecastOut``)."""
    return {
        "request_id": request_id,
        "status": f.status.value,
        "now": instant(f.now),
        "time_start": instant(f.time_start),
        "median_seconds": f.median_seconds,
        "low_seconds": f.low_seconds,
        "high_seconds": f.high_seconds,
        "median_at": _instant(f, f.median_seconds),
        "low_at": _instant(f, f.low_seconds),
        "high_at": _instant(f, f.high_seconds),
        "clear_probability": f.clear_probability,
        "before_start_probability": f.before_start_probability,
        "not_enough_history": list(f.not_enough_history),
        "min_decisions": MIN_DECISIONS,
        "draws": f.draws,
        "remaining": [
            {
                "authority": s.authority,
                "stage": s.stage,
                "waiting_seconds": s.waiting_seconds,
                "decisions": s.decisions,
                "median_wait_seconds": s.median_wait_seconds,
                "enough_history": s.enough_history,
            }
            for s in f.remaining
        ],
    }


def _instant(f: Forecast, seconds: float | None) -> str | None:
    at = f.at(seconds)
    return None if at is None else instant(at)


def forecast_brief(f: Forecast) -> dict[str, Any]:
    """A forecast as a list shows it (a queue item, the overview's pending requests):
    the figures without the remaining steps."""
    return {
        "status": f.status.value,
        "median_seconds": f.median_seconds,
        "low_seconds": f.low_seconds,
        "high_seconds": f.high_seconds,
        "median_at": _instant(f, f.median_seconds),
        "clear_probability": f.clear_probability,
        "before_start_probability": f.before_start_probability,
        "not_enough_history": list(f.not_enough_history),
    }


def overview_forecasts_view(o: OverviewForecasts) -> dict[str, Any]:
    """What ``GET /v1/overview`` adds to the overview: ``forecasts`` and
    ``forecast_vs_actual``."""
    return {
        "cleared_automatically": o.overview.cleared_automatically,
        "automatic_share": o.overview.automatic_share,
        "forecasts": {
            "pending": o.pending_total,
            "limit": OVERVIEW_FORECASTS,
            "min_decisions": MIN_DECISIONS,
            "items": [
                {"request_id": chain.id, "time_start": instant(chain.time_start)}
                | forecast_brief(f)
                for chain, f in o.pending
            ],
        },
        "forecast_vs_actual": {
            "limit": CHECKED,
            "interval": [LOW, HIGH],
            "items": [
                {
                    "request_id": c.request_id,
                    "submitted_at": instant(c.submitted_at),
                    "actual_seconds": c.actual_seconds,
                    "inside": c.inside,
                }
                | forecast_brief(c.forecast)
                for c in o.checked
            ],
        },
    }
