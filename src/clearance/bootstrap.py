"""The one place that wires real adapters to the service layer."""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError

from clearance.adapters.clock import ReplayClock, SystemClock, wall_now
from clearance.adapters.files import expand_paths, read_document
from clearance.adapters.keys import KeyStore
from clearance.adapters.scenario_loader import load_scenario, load_scenario_files, scenario_files
from clearance.adapters.sql import make_engine, schema_problem, uow_factory, upgrade
from clearance.adapters.timeline_files import KeyFolder, read_timeline
from clearance.adapters.webhook_sender import HttpSender
from clearance.adapters.witness_client import HttpWitnessClient
from clearance.config import Settings
from clearance.domain.clearance.scenario import Scenario
from clearance.domain.clearance.timeline import Timeline
from clearance.domain.errors import InputError, NotFoundError, RequestError, ScenarioError
from clearance.domain.ledger.audit import ROOT_ROLE, scenario_version
from clearance.domain.ledger.checkpoint import raw_public
from clearance.domain.ledger.policy import Policy, parse_policy
from clearance.service import handlers
from clearance.service.audit import AuditLog, check_origin
from clearance.service.context import Context
from clearance.service.evaluations import Document
from clearance.service.ports import Clock, PinnedClock
from clearance.service.replay import Replayed, ScriptClock, replay
from clearance.service.scenarios import ScenarioVersions
from clearance.service.webhooks import DeliveryPolicy, deliver_due
from clearance.service.witnessing import Witnessing


def scenario_from(directory: Path) -> Scenario:
    return load_scenario(directory)


def documents_from(paths: list[Path]) -> list[Document]:
    """Request documents from files and directories; the first unreadable one raises."""
    return [
        Document(str(p), read_document(p, RequestError)) for p in expand_paths(paths, RequestError)
    ]


def upgrade_database(settings: Settings | None = None) -> str:
    settings = settings or Settings.from_env()
    _ensure_sqlite_directory(settings.database_url)
    engine = engine_for(settings)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    return settings.database_url


def store_scenario(
    directory: Path, settings: Settings | None = None, at: datetime | None = None
) -> Scenario:
    """Validate a scenario directory and store it whole in the database as a version (a
    new one unless the same files were stored before), made current (at the scenario's
    clock's now, or ``at``)."""
    settings = settings or Settings.from_env()
    files = scenario_files(directory)
    scenario = load_scenario(directory)  # validates everything before anything is stored
    if scenario.version != scenario_version(files):
        raise ScenarioError("changed while it was being read; load it again", source=str(directory))
    public = _public_keys(settings, scenario)
    engine = engine_for(settings)
    try:
        handlers.load_scenario(
            uow_factory(engine), files, at or clock_for(scenario, settings).now(), public
        )
    finally:
        engine.dispose()
    return scenario


def scenario_unless_stored(directory: Path, settings: Settings) -> tuple[Scenario, bool]:
    """The scenario in ``directory``, stored unless it is the current version already (a
    restarted demo logs no new load). Returns it and whether it was stored."""
    version = scenario_version(scenario_files(directory))
    engine = engine_for(settings)
    try:
        with uow_factory(engine)() as uow:
            current = uow.scenarios.current()
    finally:
        engine.dispose()
    if current == version:
        return load_scenario(directory), False
    return store_scenario(directory, settings), True


# -- the demo (./run) ----------------------------------------------------------------------
DEMO_DATABASE = "demo.db"
DEMO_KEYS = "demo-keys"
DEMO_LOCK = "demo.lock"


def hold_demo(directory: Path) -> int:
    """Take the demo directory for this process (an exclusive lock on ``demo.lock``, held
    until the process ends): a second demo on the same directory, on any port, is refused
    before it changes anything. Returns the lock's file descriptor."""
    directory.mkdir(parents=True, exist_ok=True)
    fd = os.open(directory / DEMO_LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 32).decode(errors="replace").strip() or "another process"
        os.close(fd)
        raise InputError(
            f"the demo in {directory} is in use by process {holder}; stop it first, or give "
            "another directory",
            field="--dir",
        ) from None
    os.ftruncate(fd, 0)
    os.write(fd, str(os.getpid()).encode())
    return fd


def demo_settings(directory: Path, settings: Settings | None = None) -> Settings:
    """The configuration, with the demo's own database and keys in ``directory``."""
    directory = directory.expanduser().resolve()
    return replace(
        settings or Settings.from_env(),
        database_url=f"sqlite:///{directory / DEMO_DATABASE}",
        key_dir=directory / DEMO_KEYS,
    )


def forget_demo(directory: Path) -> None:
    """Delete the demo's database and keys in ``directory`` (and nothing else there): the
    members' keys its replay made too, never a party's root key."""
    for name in (DEMO_DATABASE, *(DEMO_DATABASE + s for s in ("-wal", "-shm", "-journal"))):
        (directory / name).unlink(missing_ok=True)
    shutil.rmtree(directory / DEMO_KEYS, ignore_errors=True)
    shutil.rmtree(directory / PARTY_KEYS / "members", ignore_errors=True)


def _public_keys(settings: Settings, scenario: Scenario) -> dict[tuple[str, str], bytes]:
    """The public keys to record in the log: the instance's (its key pair created if
    missing) and the root keys the scenario's authorities name."""
    instance = raw_public(KeyStore(settings.key_dir).instance_key())
    check_origin(settings.log_origin, instance)
    return {("log", settings.log_origin): instance} | {
        (ROOT_ROLE, a.id): a.root_key
        for a in scenario.authorities.values()
        if a.root_key is not None
    }


def audit_log(settings: Settings | None = None, ctx: Context | None = None) -> AuditLog:
    """The audit log over the context's database (or the configured one), signing
    checkpoints with the instance key."""
    settings = settings or Settings.from_env()
    witnessing = None  # the policy first: bad input is named before the database is opened
    if settings.witnesses is not None:
        witnessing = Witnessing(
            witness_policy(settings.witnesses, "CLEARANCE_WITNESSES"), HttpWitnessClient()
        )
        if not witnessing.witnesses:
            raise InputError(
                "names no witness with a URL to submit checkpoints to",
                source=str(settings.witnesses),
                field="CLEARANCE_WITNESSES",
            )
    new_uow = ctx.uow if ctx is not None else uow_factory(_migrated(settings))
    instance = KeyStore(settings.key_dir).instance_key()
    return AuditLog(new_uow, settings.log_origin, instance, witnessing=witnessing)


def witness_policy(path: Path, field: str = "--policy") -> Policy:
    """The witness policy (C2SP tlog-policy) in ``path``."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise InputError(f"cannot read it: {e.strerror}", source=str(path), field=field) from None
    except UnicodeDecodeError:
        raise InputError("is not UTF-8", source=str(path), field=field) from None
    return parse_policy(text, str(path))


def context(settings: Settings | None = None) -> Context:
    """The use cases' context over the configured database and the scenario stored in it."""
    settings = settings or Settings.from_env()
    return _context_over(_migrated(settings), settings)


@contextmanager
def opened_context(settings: Settings) -> Iterator[Context]:
    """``context(settings)``, its engine disposed of when the block ends (for a command
    that runs in a process that goes on: a replay, a test)."""
    engine = _migrated(settings)
    try:
        yield _context_over(engine, settings)
    finally:
        engine.dispose()


def _context_over(engine: Engine, settings: Settings) -> Context:
    new_uow = uow_factory(engine)
    versions = scenario_versions()
    with new_uow() as uow:
        scenario = versions.current(uow)  # NotFoundError before any load
        since = uow.scenarios.made_current_at()
    return Context(new_uow, versions, clock_for(scenario, settings, since))


def webhook_worker(ctx: Context, settings: Settings | None = None) -> Callable[[], object]:
    """One run of the webhook worker (``service.webhooks.deliver_due``) over ``ctx``'s
    database, sending over HTTP; wall-clock times."""
    settings = settings or Settings.from_env()
    policy = DeliveryPolicy(
        attempts=settings.webhook_attempts,
        base=settings.webhook_backoff,
        lease=settings.webhook_lease,
    )
    sender = HttpSender(allow_private=settings.webhook_private)
    return partial(deliver_due, ctx.uow, sender, wall_now, policy)


def check_serving(settings: Settings) -> Scenario:
    """Raise what ``context`` and ``audit_log`` would (a database not migrated, no
    scenario loaded, a bad witness policy, an unreadable key directory; the log's key is
    made if missing), then close the database: for a parent process about to fork
    workers that each open their own. Returns the current scenario."""
    engine = _migrated(settings)
    try:
        new_uow = uow_factory(engine)
        versions = scenario_versions()
        with new_uow() as uow:
            scenario = versions.current(uow)  # NotFoundError before any load
        audit_log(settings, ctx=Context(new_uow, versions, SystemClock()))
    finally:
        engine.dispose()
    return scenario


def keyless_warning(scenario: Scenario) -> str | None:
    """What ``clearance serve`` says once at start when some authorities name no root
    key (the server holds no authority's key, so their decisions go unsigned)."""
    keyless = sorted(a.id for a in scenario.authorities.values() if a.root_key is None)
    if not keyless:
        return None
    names = ", ".join(keyless)
    verb = "names" if len(keyless) == 1 else "name"
    return (
        f"{names} {verb} no root key: their decisions are recorded unsigned; put each "
        "authority's root public key in the scenario (clearance key new)"
    )


def scenario_versions() -> ScenarioVersions:
    """Stored scenario versions, read from their files when first asked for."""
    return ScenarioVersions(load_scenario_files)


def _migrated(settings: Settings) -> Engine:
    """An engine on the configured database, which must be at this code's schema: a
    database never upgraded (or upgraded by newer code) is named with the fix, never met
    as a missing table mid-command."""
    engine = engine_for(settings)
    problem = schema_problem(engine)
    if problem is not None:
        engine.dispose()
        where = make_url(settings.database_url).render_as_string(hide_password=True)
        raise NotFoundError(f"the database {where} {problem}: run `clearance db upgrade`")
    return engine


class Readiness:
    """For ``/readyz``: called, says why this process cannot serve now (the database
    unreachable, or not at this code's schema revision), or None when it can. One small
    read per call, on an engine of its own, so a busy workflow pool cannot make it look
    unready; ``close()`` disposes of it."""

    def __init__(self, settings: Settings) -> None:
        self.engine = engine_for(settings)
        self.where = make_url(settings.database_url).render_as_string(hide_password=True)

    def __call__(self) -> str | None:
        try:
            problem = schema_problem(self.engine)
        except DBAPIError as e:
            return f"the database {self.where} is unreachable ({type(e.orig).__name__})"
        return None if problem is None else f"the database {self.where} {problem}"

    def close(self) -> None:
        self.engine.dispose()


def engine_for(settings: Settings) -> Engine:
    """An engine on the configured database, with the configured SQLite durability."""
    return make_engine(settings.database_url, sqlite_synchronous=settings.sqlite_synchronous)


def clock_for(scenario: Scenario, settings: Settings, since: datetime | None = None) -> Clock:
    """CLEARANCE_NOW (pinned: it stands still), else the scenario's ``clock:`` (a replay
    from its instant, started at the wall-clock ``since`` the version was made current,
    or now, at its rate), else real time."""
    if settings.now is not None:
        return PinnedClock(settings.now)
    if scenario.clock is not None:
        return ReplayClock(scenario.clock.start, scenario.clock.rate, since=since)
    return SystemClock()


def _ensure_sqlite_directory(url: str) -> None:
    prefix = "sqlite:///"
    if url.startswith(prefix) and url != prefix + ":memory:":
        Path(url[len(prefix) :]).expanduser().parent.mkdir(parents=True, exist_ok=True)


# -- replaying a timeline (clearance replay, ./run) ------------------------------------------
REPLAY_DATABASE = "replay.db"
PARTY_KEYS = "party-keys"  # beside the database: the parties' machines, not the service's


@dataclass(frozen=True)
class ReplayRun:
    replayed: Replayed
    timeline: Timeline
    database_url: str
    keys: Path


def replay_timeline(
    path: Path,
    scenario: Path | None = None,
    settings: Settings | None = None,
    *,
    database_url: str | None = None,
    keys: Path | None = None,
    rehearse: bool = True,
) -> ReplayRun:
    """Replay the timeline in ``path`` into ``database_url`` (which must hold no request
    yet), or into a new SQLite file in a new temporary folder when None. The parties' keys
    are in ``keys`` (default: ``party-keys`` beside a SQLite database file). A database given is
    written only after the same replay ran whole on a temporary one (a rehearsal), so a
    step the service refuses leaves nothing half-written there; a temporary folder of a
    failed replay is removed. ``rehearse=False`` skips the rehearsal, for a caller that
    removes the database itself when the replay fails (the demo's own folder)."""
    settings = settings or Settings.from_env()
    timeline, directory, documents = read_timeline(path, scenario)
    if database_url is None:
        folder = Path(tempfile.mkdtemp(prefix="clearance-replay-"))
        try:
            return _replay_into(timeline, directory, documents, _scratch(folder, settings), None)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
    target = replace(settings, database_url=database_url)
    keys = keys if keys is not None else _beside(database_url)
    _refuse_stored(target)
    if not rehearse:
        return _replay_into(timeline, directory, documents, target, KeyFolder(keys))
    with tempfile.TemporaryDirectory(prefix="clearance-rehearsal-") as rehearsal:
        folder = Path(rehearsal)
        _replay_into(
            timeline, directory, documents, _scratch(folder, settings), KeyFolder(
                folder / PARTY_KEYS, roots=keys
            )
        )  # fmt: skip
    return _replay_into(timeline, directory, documents, target, KeyFolder(keys))


def _scratch(folder: Path, settings: Settings) -> Settings:
    return replace(
        settings,
        database_url=f"sqlite:///{folder / REPLAY_DATABASE}",
        key_dir=folder / "server-keys",
        now=None,
        sqlite_synchronous="NORMAL",  # a scratch database: no fsync at every commit
    )


def _beside(database_url: str) -> Path:
    """``party-keys`` beside a SQLite database file; other databases need ``--keys``."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        raise InputError(
            "give the folder of the parties' keys for a database that is not a SQLite file",
            field="--keys",
        )
    return Path(url.database).expanduser().resolve().parent / PARTY_KEYS


def timeline_from(path: Path, scenario: Path | None = None) -> Timeline:
    """The timeline in ``path``, checked (its example requests read) but not replayed."""
    return read_timeline(path, scenario)[0]


def holds_requests(settings: Settings) -> bool:
    """Whether the configured database holds any request (one not made yet, or not at
    this code's schema, holds none: it is neither created nor upgraded here)."""
    url = make_url(settings.database_url)
    file = url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:")
    if file and not Path(str(url.database)).expanduser().is_file():
        return False
    engine = engine_for(settings)
    try:
        if schema_problem(engine) is not None:
            return False
        with uow_factory(engine)() as uow:
            return bool(uow.requests.search(limit=1))
    finally:
        engine.dispose()


def _refuse_stored(settings: Settings) -> None:
    """A replay starts from a database with no request in it."""
    if holds_requests(settings):
        where = make_url(settings.database_url).render_as_string(hide_password=True)
        raise InputError(
            f"{where} holds requests already; a replay starts from a database without any",
            field="--database",
        )


def _replay_into(
    timeline: Timeline,
    directory: Path,
    documents: Mapping[str, Mapping[str, Any]],
    settings: Settings,
    keys: KeyFolder | None,
) -> ReplayRun:
    """Store the scenario (loaded at the timeline's start) and run the timeline."""
    upgrade_database(settings)
    store_scenario(directory, settings, at=timeline.start)
    if keys is None:
        keys = KeyFolder(_beside(settings.database_url))
    with opened_context(settings) as ctx:
        clock = ScriptClock(timeline.start)
        ctx.clock = clock
        replayed = replay(ctx, clock, timeline, documents, keys)
    return ReplayRun(replayed, timeline, settings.database_url, keys.path)


def demo_clock(timeline: Timeline, settings: Settings, since: datetime | None) -> Clock:
    """The demo's clock after a replay: CLEARANCE_NOW when set (pinned, for tests), else
    the timeline's end at the wall-clock instant ``since`` (when the replay stored the
    scenario, as the database records it: every restart agrees), moving with real time."""
    if settings.now is not None:
        return PinnedClock(settings.now)
    return ReplayClock(timeline.end, 1.0, since=since)


def made_current_at(settings: Settings) -> datetime | None:
    """The wall-clock instant the current scenario version was made current."""
    engine = engine_for(settings)
    try:
        with uow_factory(engine)() as uow:
            return uow.scenarios.made_current_at()
    finally:
        engine.dispose()
