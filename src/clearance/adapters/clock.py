"""The service's clocks: real time, and a scenario's replay (the pinned one is
``service.ports.PinnedClock``). ``wall_now`` is for wall-clock columns only."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from clearance.service.ports import Clock


class SystemClock(Clock):
    def now(self) -> datetime:
        return datetime.now(UTC)


class ReplayClock(Clock):
    """A scenario's replay: ``start`` at the wall-clock instant ``since`` (when the
    scenario version was made current, as the database records it, so every process and
    every restart agrees; when the clock is made if None), then forward ``rate`` seconds per
    second of ``monotonic`` (a real-time source in seconds, ``time.monotonic`` by default:
    never set back, unlike the wall clock).

    >>> ticks = iter([100.0, 160.0])
    >>> clock = ReplayClock(datetime(2017, 11, 20, tzinfo=UTC), 60, monotonic=lambda: next(ticks))
    >>> clock.now().isoformat()
    '2017-11-20T01:00:00+00:00'
    """

    def __init__(
        self,
        start: datetime,
        rate: float = 1.0,
        *,
        since: datetime | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.start = start
        self.rate = rate
        self._monotonic = monotonic
        already = max((wall_now() - since).total_seconds(), 0.0) if since is not None else 0.0
        self._origin = monotonic() - already

    def now(self) -> datetime:
        return self.start + timedelta(seconds=(self._monotonic() - self._origin) * self.rate)


def wall_now() -> datetime:
    """Wall-clock time (UTC): when a row was written, for the audit tables' ``created_at``
    and ``updated_at`` columns. Never the service's clock (``Clock``), which a scenario may
    replay from another date: those columns say when, in real time, the log was written."""
    return datetime.now(UTC)
