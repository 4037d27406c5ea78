"""Configuration from the environment: the one module that reads it, once per process.

``Settings.from_env()`` reads every variable below and validates it (a bad value raises
``InputError`` naming the variable, source ``environment``); the CLI reads it once at
start and hands the same ``Settings`` to everything it wires (``bootstrap``). No other
module of ``src/`` reads ``os.environ`` (``tests/unit/test_config.py`` holds them to it).

- ``CLEARANCE_DATABASE_URL``: any SQLAlchemy URL (``postgresql+psycopg://...`` included).
  Default: the embedded SQLite file ``$XDG_DATA_HOME/clearance/clearance.db``
  (``~/.local/share/clearance/clearance.db``).
- ``CLEARANCE_NOW``: an RFC 3339 instant that pins the clock (it does not move), overriding
  the scenario's ``clock:``; for tests. Without either, the clock is real time.
- ``CLEARANCE_KEY_DIR``: where the Ed25519 private keys live (the log's and each
  authority's; never in the database). Default: ``$XDG_DATA_HOME/clearance/keys``, next
  to the default database.
- ``CLEARANCE_LOG_ORIGIN``: the audit log's origin line in its checkpoints, also the
  name of its key. Default: ``clearance.local/log``.
- ``CLEARANCE_SQLITE_SYNCHRONOUS``: SQLite's ``synchronous`` pragma, ``FULL`` (default: an
  acknowledged commit survives a power cut), ``NORMAL`` (survives a killed process, not a
  power cut) or ``EXTRA``.
- ``CLEARANCE_PORT``: the port ``clearance serve`` and ``clearance demo`` listen on when
  ``--port`` is not given (default 8000).
- ``CLEARANCE_WITNESSES``: a witness policy file (C2SP tlog-policy) whose ``witness``
  lines carry the witnesses' URLs: the log submits every new checkpoint to them and keeps
  their cosignatures (``service.witnessing``). Default: none (checkpoints are signed by
  the log alone).
- ``CLEARANCE_WEBHOOK_ATTEMPTS``, ``CLEARANCE_WEBHOOK_BACKOFF``, ``CLEARANCE_WEBHOOK_LEASE``:
  how many attempts a webhook gets before it is dead (default 8), the first retry's delay
  in seconds (default 10, doubled each time, with jitter), how long a worker holds a
  claimed one before another may send it (default 60 s). ``service.webhooks.Policy``.
- ``CLEARANCE_WEBHOOK_PRIVATE``: ``1`` lets webhooks go to loopback, private and
  link-local addresses (receivers on the server's own network); ``0`` (default) refuses
  them, so that a subscriber cannot make the server call into its network.
- ``CLEARANCE_DEBUG``: any non-empty value lets the CLI show an internal error's traceback.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from clearance.domain.documents import Fields
from clearance.domain.errors import InputError

DEFAULT_LOG_ORIGIN = "clearance.local/log"
DEFAULT_PORT = 8000
SQLITE_SYNCHRONOUS = ("FULL", "NORMAL", "EXTRA")


@dataclass(frozen=True)
class Settings:
    database_url: str
    now: datetime | None
    key_dir: Path = field(default_factory=lambda: default_data_dir() / "keys")
    log_origin: str = DEFAULT_LOG_ORIGIN
    sqlite_synchronous: str = "FULL"
    port: int = DEFAULT_PORT
    debug: bool = False
    witnesses: Path | None = None
    webhook_attempts: int = 8
    webhook_backoff: float = 10.0
    webhook_lease: float = 60.0
    webhook_private: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """The settings from ``environ`` (default: the process's environment)."""
        env = os.environ if environ is None else environ
        data_dir = default_data_dir(env)
        url = env.get("CLEARANCE_DATABASE_URL") or f"sqlite:///{data_dir / 'clearance.db'}"
        raw_now = env.get("CLEARANCE_NOW")
        now = None
        if raw_now:
            now = Fields(
                {"CLEARANCE_NOW": raw_now}, error=InputError, source="environment"
            ).instant("CLEARANCE_NOW")
        key_dir = Path(env.get("CLEARANCE_KEY_DIR") or data_dir / "keys")
        return cls(
            database_url=url,
            now=now,
            key_dir=key_dir.expanduser(),
            log_origin=env.get("CLEARANCE_LOG_ORIGIN") or DEFAULT_LOG_ORIGIN,
            sqlite_synchronous=_synchronous(env.get("CLEARANCE_SQLITE_SYNCHRONOUS") or "FULL"),
            port=_port(env.get("CLEARANCE_PORT") or str(DEFAULT_PORT)),
            debug=bool(env.get("CLEARANCE_DEBUG")),
            witnesses=Path(env["CLEARANCE_WITNESSES"]).expanduser()
            if env.get("CLEARANCE_WITNESSES")
            else None,
            webhook_attempts=int(_number(env, "CLEARANCE_WEBHOOK_ATTEMPTS", 8, 1, 100, whole=True)),
            webhook_backoff=_number(env, "CLEARANCE_WEBHOOK_BACKOFF", 10.0, 0.01, 86400),
            webhook_lease=_number(env, "CLEARANCE_WEBHOOK_LEASE", 60.0, 0.5, 86400),
            webhook_private=_switch(env, "CLEARANCE_WEBHOOK_PRIVATE"),
        )


def _switch(env: Mapping[str, str], name: str) -> bool:
    value = env.get(name) or "0"
    if value not in ("0", "1"):
        raise InputError(f"must be 0 or 1, not {value!r}", field=name, source="environment")
    return value == "1"


def _number(
    env: Mapping[str, str],
    name: str,
    default: float,
    low: float,
    high: float,
    *,
    whole: bool = False,
) -> float:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not low <= value <= high or (whole and value != int(value)):
        kind = "a whole number" if whole else "a number"
        raise InputError(
            f"must be {kind} within {low:g}..{high:g}; got {raw!r}",
            source="environment",
            field=name,
        )
    return value


def _synchronous(value: str) -> str:
    if value.upper() not in SQLITE_SYNCHRONOUS:
        raise InputError(
            f"must be one of {', '.join(SQLITE_SYNCHRONOUS)}; got {value!r}",
            source="environment",
            field="CLEARANCE_SQLITE_SYNCHRONOUS",
        )
    return value.upper()


def _port(value: str) -> int:
    text = value.strip()
    if not (text.isascii() and text.isdigit() and 1 <= int(text) <= 65535):
        raise InputError(
            f"must be a port number within 1..65535; got {value!r}",
            source="environment",
            field="CLEARANCE_PORT",
        )
    return int(text)


def default_data_dir(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    base = Path(env.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "clearance"


def default_database_path() -> Path:
    return default_data_dir() / "clearance.db"
