"""Configuration from the environment, read in one place.

- ``CLEARANCE_DATABASE_URL``: any SQLAlchemy URL (``postgresql+psycopg://...`` included).
  Default: the embedded SQLite file ``$XDG_DATA_HOME/clearance/clearance.db``
  (``~/.local/share/clearance/clearance.db``).
- ``CLEARANCE_NOW``: an RFC 3339 instant that pins the clock, overriding the scenario's
  ``clock:``; without either, the clock is real time.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from clearance.domain.documents import Fields
from clearance.domain.errors import InputError


@dataclass(frozen=True)
class Settings:
    database_url: str
    now: datetime | None

    @classmethod
    def from_env(cls) -> Settings:
        url = os.environ.get("CLEARANCE_DATABASE_URL") or f"sqlite:///{default_database_path()}"
        raw_now = os.environ.get("CLEARANCE_NOW")
        now = None
        if raw_now:
            now = Fields(
                {"CLEARANCE_NOW": raw_now}, error=InputError, source="environment"
            ).instant("CLEARANCE_NOW")
        return cls(url, now)


def default_database_path() -> Path:
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "clearance" / "clearance.db"
