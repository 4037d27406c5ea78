"""Configuration from the environment, read in one place.

- ``CLEARANCE_DATABASE_URL``: any SQLAlchemy URL (``postgresql+psycopg://...`` included).
  Default: the embedded SQLite file ``$XDG_DATA_HOME/clearance/clearance.db``
  (``~/.local/share/clearance/clearance.db``).
- ``CLEARANCE_NOW``: an RFC 3339 instant that pins the clock, overriding the scenario's
  ``clock:``; without either, the clock is real time.
- ``CLEARANCE_KEY_DIR``: where the Ed25519 private keys live (the log's and each
  authority's; never in the database). Default: ``$XDG_DATA_HOME/clearance/keys``, next
  to the default database.
- ``CLEARANCE_LOG_ORIGIN``: the audit log's origin line in its checkpoints, also the
  name of its key. Default: ``clearance.local/log``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from clearance.domain.documents import Fields
from clearance.domain.errors import InputError

DEFAULT_LOG_ORIGIN = "clearance.local/log"


@dataclass(frozen=True)
class Settings:
    database_url: str
    now: datetime | None
    key_dir: Path = field(default_factory=lambda: default_data_dir() / "keys")
    log_origin: str = DEFAULT_LOG_ORIGIN

    @classmethod
    def from_env(cls) -> Settings:
        url = os.environ.get("CLEARANCE_DATABASE_URL") or f"sqlite:///{default_database_path()}"
        raw_now = os.environ.get("CLEARANCE_NOW")
        now = None
        if raw_now:
            now = Fields(
                {"CLEARANCE_NOW": raw_now}, error=InputError, source="environment"
            ).instant("CLEARANCE_NOW")
        key_dir = Path(os.environ.get("CLEARANCE_KEY_DIR") or default_data_dir() / "keys")
        origin = os.environ.get("CLEARANCE_LOG_ORIGIN") or DEFAULT_LOG_ORIGIN
        return cls(url, now, key_dir.expanduser(), origin)


def default_data_dir() -> Path:
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "clearance"


def default_database_path() -> Path:
    return default_data_dir() / "clearance.db"
