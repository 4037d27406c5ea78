"""When a request will likely clear (``domain.clearance.forecast``), for a principal.

``forecast_request`` reads the request (404 unless the principal may see it:
``domain.clearance.access``) and, when it is pending, the timing of the newest
``HISTORY_LIMIT`` requests in the chain of each authority it still waits for (no
documents: ``RequestRepository.chain_times``), in one unit of work; then it fits and
draws outside it. The history covers every request of those authorities, whoever's, but
only figures about authorities leave this module (how many decisions, a median wait),
never another request.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from clearance.domain.clearance import access
from clearance.domain.clearance.forecast import (
    MIN_DECISIONS,
    Forecast,
    fit,
    forecast,
    history,
)
from clearance.domain.clearance.model import Principal
from clearance.domain.clearance.overview import ChainTimes
from clearance.domain.clearance.workflow import GIVEN, RequestState
from clearance.domain.documents import instant
from clearance.domain.errors import NotFoundError
from clearance.service.ports import Clock, UnitOfWork
from clearance.service.queries import REQUEST_ID

HISTORY_LIMIT = 2_000  # newest requests read per authority: enough for a stable estimate


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
    uow: Callable[[], UnitOfWork], clock: Clock, chains: Sequence[ChainTimes]
) -> list[Forecast]:
    """The forecasts of several requests (a queue's, say), in order, each authority's
    history read and fitted once for all of them. The caller has checked that the
    principal may see each request."""
    now = clock.now()
    with uow() as work:
        authorities, read = _history(work, chains, now)
    return _forecasts(chains, authorities, read, now)


def _history(
    work: UnitOfWork, chains: Sequence[ChainTimes], now: datetime
) -> tuple[list[str], list[ChainTimes]]:
    """The authorities these chains still wait for (those pending at ``now``), and the
    newest requests in the chain of each."""
    authorities = sorted(
        {
            a.authority
            for chain in chains
            if chain.state_at(now) is RequestState.PENDING
            for a in chain.approvals
            if a.status not in GIVEN
        }
    )
    read: dict[str, ChainTimes] = {}
    for authority in authorities:
        for chain in work.requests.chain_times(authority=authority, limit=HISTORY_LIMIT):
            read[chain.id] = chain
    return authorities, list(read.values())


def _forecasts(
    chains: Sequence[ChainTimes], authorities: list[str], read: list[ChainTimes], now: datetime
) -> list[Forecast]:
    waits = history(read, now)
    models = fit({a: waits.get(a, []) for a in authorities})
    return [forecast(chain, models, now) for chain in chains]


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
