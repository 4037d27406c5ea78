"""Real time (the pinned alternative is ``service.ports.PinnedClock``)."""

from __future__ import annotations

from datetime import UTC, datetime

from clearance.service.ports import Clock


class SystemClock(Clock):
    def now(self) -> datetime:
        return datetime.now(UTC)
