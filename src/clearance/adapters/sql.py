"""The SQL storage adapter: every repository port over SQLAlchemy Core, on SQLite (the
default, one file) or PostgreSQL (by URL).

Public entry points::

    engine = make_engine("sqlite:///clearance.db")   # or postgresql+psycopg://...
    upgrade("sqlite:///clearance.db")                # alembic upgrade head
    new_uow = uow_factory(engine)                    # Callable[[], SqlUnitOfWork]

One unit of work is one connection and one transaction at a time; ``commit()`` ends it
and the next statement starts another. Every write is conditional (a version check, a
primary key or a unique constraint), so a lost race always surfaces as ``ConflictError``,
never as a silent overwrite or a raw driver error.

SQLite: WAL, ``synchronous=FULL`` (an acknowledged commit survives power loss),
foreign keys on, a 5 s busy timeout (then ``ConflictError``). A unit of work reads in a deferred transaction (WAL
readers never block) and, at its first write, ends that read-only transaction and opens a
``BEGIN IMMEDIATE`` one, so concurrent writers queue on the busy timeout instead of failing
when a reader upgrades. Reads made before the first write therefore need not be part of
the write transaction, which is safe precisely because every write is conditional (the
same guarantee PostgreSQL's READ COMMITTED gives).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.pool import StaticPool

from clearance.adapters import sql_tables as t
from clearance.adapters.clock import wall_now
from clearance.adapters.sql_airspace import GRANTS_LOCK, SqlAirspace
from clearance.adapters.sql_audit import SqlAudit
from clearance.adapters.sql_webhooks import SqlWebhooks
from clearance.domain.clearance.model import Approval, ApprovalStatus, Principal
from clearance.domain.clearance.overview import ApprovalTimes, ChainTimes
from clearance.domain.clearance.workflow import Event, RequestRecord, RequestState
from clearance.domain.errors import ConflictError, NotFoundError
from clearance.domain.ledger.members import MemberStatement
from clearance.domain.ledger.signatures import instant
from clearance.service.ports import (
    GrantRepository,
    IdempotencyRepository,
    MemberKey,
    MemberKeyRepository,
    PrincipalRecord,
    PrincipalRepository,
    RequestRepository,
    ScenarioRepository,
    UnitOfWork,
)

MIGRATIONS = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 5000
_BEGIN_OPTION = "clearance_sqlite_begin"

# SQLSTATEs of lost races on PostgreSQL-compatible servers: serialization failure,
# deadlock, lock not available.
_RETRYABLE_SQLSTATES = frozenset({"40001", "40P01", "55P03"})
_SQLITE_BUSY_MESSAGES = ("database is locked", "database table is locked", "database is busy")


# -- engine and migrations -----------------------------------------------------------------
def make_engine(
    url: str,
    *,
    sqlite_busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS,
    sqlite_synchronous: str = "FULL",
    **kwargs: Any,
) -> Engine:
    """An engine for ``url`` (``sqlite:///path.db`` or ``postgresql+psycopg://...``);
    ``kwargs`` go to ``sqlalchemy.create_engine``. SQLite gets its pragmas and begin modes:
    ``synchronous`` is FULL by default (an acknowledged commit survives power loss); NORMAL
    survives a killed process but not a power cut (``Settings.sqlite_synchronous``)."""
    parsed = make_url(url)
    kwargs.setdefault("json_serializer", t.json_dumps)
    if parsed.get_backend_name() != "sqlite":
        kwargs.setdefault("pool_pre_ping", True)
        return sa.create_engine(url, **kwargs)
    connect_args = dict(kwargs.pop("connect_args", {}))
    connect_args.setdefault("check_same_thread", False)
    if parsed.database in (None, "", ":memory:"):
        # One shared connection, or each connection would see its own empty database.
        kwargs.setdefault("poolclass", StaticPool)
    engine = sa.create_engine(url, connect_args=connect_args, **kwargs)
    pragmas = (
        f"PRAGMA busy_timeout={int(sqlite_busy_timeout_ms)}",  # first: the others may wait
        "PRAGMA journal_mode=WAL",
        f"PRAGMA synchronous={_synchronous(sqlite_synchronous)}",
        "PRAGMA foreign_keys=ON",
    )

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # We emit BEGIN ourselves (see _sqlite_on_begin); the driver must not.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            for pragma in pragmas:
                cursor.execute(pragma)
        finally:
            cursor.close()

    event.listen(engine, "connect", on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    _WRITE_LOCKS[engine] = (threading.Lock(), sqlite_busy_timeout_ms / 1000)
    return engine


# SQLite has one writer at a time. Threads of one process queue for it on this lock, which
# wakes the next writer the moment the last one commits; SQLite's own busy handler (still
# there for other processes) polls with sleeps of up to 100 ms, which under load turns
# into long tail latencies.
_WRITE_LOCKS: weakref.WeakKeyDictionary[Engine, tuple[threading.Lock, float]] = (
    weakref.WeakKeyDictionary()
)


def _synchronous(value: str) -> str:
    if value.upper() not in ("FULL", "NORMAL", "EXTRA"):
        raise ValueError(f"sqlite_synchronous must be FULL, NORMAL or EXTRA, not {value!r}")
    return value.upper()


def _sqlite_on_begin(connection: Connection) -> None:
    mode = connection.get_execution_options().get(_BEGIN_OPTION, "DEFERRED")
    connection.exec_driver_sql(f"BEGIN {mode}")


MIGRATION_LOCK = 0x636C6561  # "clea": the advisory lock key migrations take on PostgreSQL


def upgrade(target: str | Engine, revision: str = "head") -> None:
    """``alembic upgrade head`` on a database URL (or an engine from ``make_engine``, which
    is left open: the way to migrate ``sqlite://`` in memory)."""
    engine = make_engine(target) if isinstance(target, str) else target
    try:
        with engine.connect() as connection:
            if engine.dialect.name == "sqlite":
                connection.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})
            elif engine.dialect.name == "postgresql":
                # One migration at a time: processes starting together wait here (the lock
                # is the transaction's), then find the schema at head and do nothing.
                connection.execute(sa.select(sa.func.pg_advisory_xact_lock(MIGRATION_LOCK)))
            config = Config()
            config.set_main_option("script_location", str(MIGRATIONS))
            url = engine.url.render_as_string(hide_password=False)
            config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
            connection.commit()
    finally:
        if isinstance(target, str):
            engine.dispose()


def head_revision() -> str:
    """The newest migration's revision: the schema this code works with."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None  # the migrations ship with the package
    return head


def schema_problem(engine: Engine) -> str | None:
    """Why this database cannot be used as it stands: no schema, or a revision other than
    this code's head (one small read); None when it is at head."""
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    head = head_revision()
    if current == head:
        return None
    if current is None:
        return "has no Clearance schema"
    return f"is at schema revision {current}, not {head}"


def uow_factory(engine: Engine) -> Callable[[], SqlUnitOfWork]:
    """What ``Context`` takes: a new unit of work per call."""

    def new() -> SqlUnitOfWork:
        return SqlUnitOfWork(engine)

    return new


# -- errors --------------------------------------------------------------------------------
def is_contention(error: DBAPIError) -> bool:
    """A lost race for a lock: SQLite busy/locked, or a PostgreSQL serialization failure."""
    original = error.orig
    if getattr(original, "sqlstate", None) in _RETRYABLE_SQLSTATES:
        return True
    name = getattr(original, "sqlite_errorname", "")
    if isinstance(name, str) and name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return True
    return any(m in str(original).lower() for m in _SQLITE_BUSY_MESSAGES)


def _conflict(error: DBAPIError, what: str) -> ConflictError | None:
    if isinstance(error, IntegrityError):
        return ConflictError(what)
    if is_contention(error):
        return ConflictError("the database is busy with a concurrent change; retry")
    return None


# -- unit of work --------------------------------------------------------------------------
class SqlUnitOfWork(UnitOfWork):
    """One connection, one transaction at a time; leaving without ``commit()`` rolls back."""

    requests: SqlRequests
    principals: SqlPrincipals
    idempotency: SqlIdempotency
    grants: SqlGrants
    scenarios: SqlScenarios
    audit: SqlAudit
    airspace: SqlAirspace
    webhooks: SqlWebhooks

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sqlite = engine.dialect.name == "sqlite"
        self._connection: Connection | None = None
        self._writing = False
        self._holds_lock: threading.Lock | None = None
        self.audit = SqlAudit(self)  # first: the others log their changes through it
        self.airspace = SqlAirspace(self)
        self.requests = SqlRequests(self)
        self.requests.airspace = self.airspace
        self.principals = SqlPrincipals(self)
        self.idempotency = SqlIdempotency(self)
        self.grants = SqlGrants(self)
        self.scenarios = SqlScenarios(self)
        self.member_keys = SqlMemberKeys(self)
        self.webhooks = SqlWebhooks(self)

    def __enter__(self) -> SqlUnitOfWork:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- connection ------------------------------------------------------------------------
    def read(self) -> Connection:
        if self._connection is None:
            self._connection = self.engine.connect()
        return self._connection

    def write(self) -> Connection:
        """The connection, inside a transaction that may write (BEGIN IMMEDIATE on SQLite)."""
        connection = self.read()
        if self._sqlite and not self._writing:
            found = _WRITE_LOCKS.get(self.engine)
            if found is not None:
                lock, timeout = found
                if not lock.acquire(timeout=timeout):
                    raise ConflictError("the database is busy; retry")
                self._holds_lock = lock
            if connection.in_transaction():
                connection.rollback()  # it has only read so far: nothing is lost
            connection.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})
        self._writing = True
        return connection

    def execute(
        self,
        statement: sa.Executable,
        params: Sequence[Mapping[str, Any]] | Mapping[str, Any] | None = None,
        *,
        write: bool = False,
        conflict: str = "a concurrent change conflicts with this one; retry",
    ) -> sa.CursorResult[Any]:
        connection = self.write() if write else self.read()
        try:
            return connection.execute(statement, params)
        except DBAPIError as e:
            raised = _conflict(e, conflict)
            if raised is None:
                raise
            raise raised from e

    def insert_unique(
        self, statement: sa.Executable, params: Sequence[Mapping[str, Any]] | Mapping[str, Any]
    ) -> bool:
        """Insert inside a SAVEPOINT; False (and the transaction still usable) when a key
        or unique constraint already holds the row."""
        connection = self.write()
        try:
            with connection.begin_nested():
                connection.execute(statement, params)
        except IntegrityError:
            return False
        except DBAPIError as e:
            raised = _conflict(e, "")
            if raised is None:
                raise
            raise raised from e
        return True

    # -- transaction -----------------------------------------------------------------------
    def commit(self) -> None:
        connection = self._connection
        try:
            if connection is not None and connection.in_transaction():
                connection.commit()
        except DBAPIError as e:
            self.rollback()
            raised = _conflict(e, "the commit conflicts with a concurrent change; retry")
            if raised is None:
                raise
            raise raised from e
        finally:
            self._reset_begin()

    def rollback(self) -> None:
        if self._connection is not None and self._connection.in_transaction():
            self._connection.rollback()
        self._reset_begin()

    def close(self) -> None:
        """Roll back whatever is not committed and give the connection back to the pool."""
        try:
            self.rollback()
        finally:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    def _reset_begin(self) -> None:
        if self._writing and self._connection is not None and self._sqlite:
            self._connection.execution_options(**{_BEGIN_OPTION: "DEFERRED"})
        self._writing = False
        if self._holds_lock is not None:
            self._holds_lock.release()
            self._holds_lock = None


# -- requests ------------------------------------------------------------------------------
class SqlRequests(RequestRepository):
    def __init__(self, uow: SqlUnitOfWork) -> None:
        super().__init__(uow.audit)
        self.uow = uow

    def _add(self, record: RequestRecord) -> None:
        # a plain insert, not insert_unique's SAVEPOINT (two statements fewer per
        # submission): a duplicate id fails the whole change, which is then abandoned
        self.uow.execute(
            sa.insert(t.requests),
            t.request_row(record),
            write=True,
            conflict=f"request {record.id} exists",
        )
        self._write_children(record, replace_approvals=False)

    def get(self, request_id: str) -> RequestRecord | None:
        found = self._load(sa.select(t.requests).where(t.requests.c.id == request_id))
        return found[0] if found else None

    def _save(self, record: RequestRecord, expected_version: int) -> None:
        row = t.request_row(record)
        del row["id"], row["created_at"]
        updated = self.uow.execute(
            sa.update(t.requests)
            .where(t.requests.c.id == record.id, t.requests.c.version == expected_version)
            .values(**row),
            write=True,
        )
        if updated.rowcount != 1:
            raise ConflictError(f"request {record.id} changed meanwhile; reload and retry")
        self._write_children(record, replace_approvals=True)

    def _write_children(self, record: RequestRecord, *, replace_approvals: bool) -> None:
        if replace_approvals:
            self.uow.execute(
                sa.delete(t.approvals).where(t.approvals.c.request_id == record.id), write=True
            )
        if record.approvals:
            self.uow.execute(sa.insert(t.approvals), t.approval_rows(record), write=True)
        if record.events:
            self.uow.execute(sa.insert(t.request_events), t.event_rows(record.events), write=True)

    def search(
        self,
        *,
        state: RequestState | None = None,
        operator: str | None = None,
        authority: str | None = None,
        limit: int = 100,
    ) -> list[RequestRecord]:
        query = _newest(sa.select(t.requests), state, operator, authority, limit)
        return self._load(query)

    def chain_times(
        self, *, operator: str | None = None, authority: str | None = None, limit: int = 100
    ) -> list[ChainTimes]:
        r = t.requests.c
        columns = sa.select(r.id, r.state, r.created_at, r.time_start)
        return self._chain_times(
            self.uow.execute(_newest(columns, None, operator, authority, limit)).all()
        )

    def chain_times_of(self, authorities: Sequence[str], limit: int) -> list[ChainTimes]:
        r = t.requests.c
        ids: dict[str, None] = {}
        for authority in authorities:
            query = _newest(sa.select(r.id), None, None, authority, limit)
            ids.update(dict.fromkeys(self.uow.execute(query).scalars()))
        if not ids:
            return []
        columns = sa.select(r.id, r.state, r.created_at, r.time_start)
        rows = self.uow.execute(
            columns.where(r.id.in_(list(ids))).order_by(r.created_at.desc(), r.id.desc())
        ).all()
        return self._chain_times(rows)

    def _chain_times(self, rows: Sequence[Any]) -> list[ChainTimes]:
        """The chains of these request rows (id, state, created_at, time_start), in order."""
        a = t.approvals.c
        if not rows:
            return []
        chains: dict[str, list[ApprovalTimes]] = {row.id: [] for row in rows}
        found = self.uow.execute(
            sa.select(a.request_id, a.authority, a.stage, a.status, a.decided_at, a.decided_by)
            .where(a.request_id.in_(list(chains)))
            .order_by(a.request_id, a.ordinal)
        )
        for approval in found:
            chains[approval.request_id].append(
                ApprovalTimes(
                    approval.authority, approval.stage, ApprovalStatus(approval.status),
                    approval.decided_at, approval.decided_by,
                )
            )  # fmt: skip
        return [
            ChainTimes(
                row.id,
                RequestState(row.state),
                row.created_at,
                row.time_start,
                tuple(chains[row.id]),
            )
            for row in rows
        ]

    def needing_review(self, authority: str) -> list[RequestRecord]:
        r = t.requests.c
        query = sa.select(t.requests).where(
            r.state == RequestState.PENDING.value,
            _has_approval(authority, ApprovalStatus.NEEDS_REVIEW),
        )
        return self._load(query.order_by(r.created_at, r.id))

    def decided_by_hand(
        self, authority: str, since: datetime, until: datetime, limit: int
    ) -> list[RequestRecord]:
        r, a = t.requests.c, t.approvals.c
        hand = [ApprovalStatus.APPROVED.value, ApprovalStatus.DENIED.value]
        decided = (
            sa.select(a.request_id)
            .where(
                a.request_id == r.id,
                a.authority == authority,
                a.status.in_(hand),
                a.decided_by.is_not(None),  # a policy's denial names no one
                a.decided_at >= since,
                a.decided_at < until,
            )
            .exists()
        )
        newest = (r.created_at.desc(), r.id.desc())
        query = sa.select(t.requests).where(decided).order_by(*newest).limit(limit)
        return self._load(query)

    def open_for_operator(self, operator: str) -> list[RequestRecord]:
        r = t.requests.c
        open_states = [RequestState.PENDING.value, RequestState.CLEARED.value]
        query = sa.select(t.requests).where(r.operator == operator, r.state.in_(open_states))
        return self._load(query.order_by(r.created_at, r.id))

    def due_for_expiry(self, now: datetime) -> list[RequestRecord]:
        r = t.requests.c
        query = sa.select(t.requests).where(
            r.state == RequestState.PENDING.value, r.time_start <= now
        )
        return self._load(query.order_by(r.created_at, r.id))

    def events(self, request_id: str) -> list[Event]:
        e = t.request_events.c
        rows = self.uow.execute(
            sa.select(t.request_events).where(e.request_id == request_id).order_by(e.id)
        )
        return [t.to_event(row) for row in rows]

    def _load(self, query: sa.Select[Any]) -> list[RequestRecord]:
        rows = self.uow.execute(query).all()
        if not rows:
            return []
        a = t.approvals.c
        chains: dict[str, list[Approval]] = {row.id: [] for row in rows}
        found = self.uow.execute(
            sa.select(t.approvals)
            .where(a.request_id.in_(list(chains)))
            .order_by(a.request_id, a.ordinal)
        )
        for row in found:
            chains[row.request_id].append(t.to_approval(row))
        return [t.to_record(row, chains[row.id]) for row in rows]


def _newest(
    query: sa.Select[Any],
    state: RequestState | None,
    operator: str | None,
    authority: str | None,
    limit: int,
) -> sa.Select[Any]:
    """``query`` over requests, filtered as ``search`` promises, newest first."""
    r = t.requests.c
    if state is not None:
        query = query.where(r.state == state.value)
    if operator is not None:
        query = query.where(r.operator == operator)
    if authority is not None:
        query = query.where(_has_approval(authority))
    return query.order_by(r.created_at.desc(), r.id.desc()).limit(limit)


def _has_approval(authority: str, status: ApprovalStatus | None = None) -> sa.Exists:
    a = t.approvals.c
    query = sa.select(a.request_id).where(a.request_id == t.requests.c.id, a.authority == authority)
    if status is not None:
        query = query.where(a.status == status.value)
    return query.exists()


# -- principals, idempotency keys, grants, scenario ----------------------------------------
_BY_TOKEN = sa.select(t.principals.c.name, t.principals.c.operator, t.principals.c.authority).where(
    t.principals.c.token_hash == sa.bindparam("token_hash"), t.principals.c.revoked_at.is_(None)
)


class SqlPrincipals(PrincipalRepository):
    def __init__(self, uow: SqlUnitOfWork) -> None:
        super().__init__(uow.audit)
        self.uow = uow

    def _add(self, principal: Principal, token_hash: str, at: datetime | None) -> None:
        row = {
            "name": principal.name,
            "operator": principal.operator,
            "authority": principal.authority,
            "token_hash": token_hash,
            "created_at": at,
        }
        if not self.uow.insert_unique(sa.insert(t.principals), row):
            raise ConflictError(f"principal {principal.name!r} exists")

    def set_token(self, name: str, token_hash: str) -> None:
        p = t.principals.c
        updated = self.uow.execute(
            sa.update(t.principals)
            .where(p.name == name, p.revoked_at.is_(None))
            .values(token_hash=token_hash),
            write=True,
            conflict="that token is already in use",
        )
        if updated.rowcount != 1:
            raise NotFoundError(f"no principal named {name!r} (or it was revoked)")

    def get(self, name: str) -> Principal | None:
        p = t.principals.c
        return self._one(sa.and_(p.name == name, p.revoked_at.is_(None)))

    def by_token(self, token_hash: str) -> Principal | None:
        # Asked on every API call: the statement is built once (building it was a third
        # of the call's time).
        row = self.uow.execute(_BY_TOKEN, {"token_hash": token_hash}).first()
        return None if row is None else Principal(row.name, row.operator, row.authority)

    def _one(self, where: sa.ColumnElement[bool]) -> Principal | None:
        p = t.principals.c
        row = self.uow.execute(sa.select(p.name, p.operator, p.authority).where(where)).first()
        return None if row is None else Principal(row.name, row.operator, row.authority)

    def record(self, name: str) -> PrincipalRecord | None:
        found = self._records(t.principals.c.name == name)
        return found[0] if found else None

    def records(self) -> list[PrincipalRecord]:
        return self._records(sa.true())

    def _records(self, where: sa.ColumnElement[bool]) -> list[PrincipalRecord]:
        p = t.principals.c
        rows = self.uow.execute(
            sa.select(p.name, p.operator, p.authority, p.created_at, p.revoked_at)
            .where(where)
            .order_by(p.name)
        )
        return [
            PrincipalRecord(
                Principal(row.name, row.operator, row.authority), row.created_at, row.revoked_at
            )
            for row in rows
        ]

    def _revoke(self, name: str, at: datetime) -> None:
        p = t.principals.c
        updated = self.uow.execute(
            sa.update(t.principals)
            .where(p.name == name, p.revoked_at.is_(None))
            .values(revoked_at=at),
            write=True,
        )
        if updated.rowcount != 1:
            found = self.record(name)
            if found is None:
                raise NotFoundError(f"no principal named {name!r}")
            raise ConflictError(
                f"principal {name!r} was already revoked at {instant(found.revoked_at or at)}"
            )


class SqlIdempotency(IdempotencyRepository):
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self.uow = uow

    def find(self, principal: str, key: str) -> tuple[str, str] | None:
        k = t.idempotency_keys.c
        row = self.uow.execute(
            sa.select(k.request_id, k.digest).where(
                k.principal == principal, k.idempotency_key == key
            )
        ).first()
        return None if row is None else (row.request_id, row.digest)

    def remember(self, principal: str, key: str, digest: str, request_id: str) -> None:
        row = {
            "principal": principal,
            "idempotency_key": key,
            "digest": digest,
            "request_id": request_id,
        }
        if not self.uow.insert_unique(sa.insert(t.idempotency_keys), row):
            raise ConflictError("this Idempotency-Key is being used by another request")


class SqlGrants(GrantRepository):
    def __init__(self, uow: SqlUnitOfWork) -> None:
        super().__init__(uow.audit)
        self.uow = uow

    def revoked(self) -> dict[str, datetime]:
        g = t.grant_revocations.c
        rows = self.uow.execute(sa.select(g.grant_id, g.revoked_at))
        return {row.grant_id: row.revoked_at for row in rows}

    def hold(self) -> None:
        self.uow.airspace.lock_key(GRANTS_LOCK, shared=True)

    def _revoke(self, grant: str, by: str, at: datetime) -> None:
        self.uow.airspace.lock_key(GRANTS_LOCK, shared=False)
        row = {"grant_id": grant, "revoked_by": by, "revoked_at": at}
        if not self.uow.insert_unique(sa.insert(t.grant_revocations), row):
            raise ConflictError(f"grant {grant} was already revoked")


class SqlMemberKeys(MemberKeyRepository):
    def __init__(self, uow: SqlUnitOfWork) -> None:
        super().__init__(uow.audit)
        self.uow = uow

    def _enroll(self, statement: MemberStatement) -> None:
        row = {
            "authority": statement.authority,
            "member": statement.member,
            "public_key": statement.public_key,
            "enrolled_at": statement.at,
        }
        if not self.uow.insert_unique(sa.insert(t.member_keys), row):
            raise ConflictError(
                f"{statement.member} of {statement.authority} has an enrolled key already, "
                "or this key was enrolled before: revoke the member's key first, and make a "
                "new key pair for each enrollment"
            )

    def _revoke(self, statement: MemberStatement) -> None:
        k = t.member_keys.c
        done = self.uow.execute(
            sa.update(t.member_keys)
            .where(
                k.authority == statement.authority,
                k.member == statement.member,
                k.public_key == statement.public_key,
                k.revoked_at.is_(None),
            )
            .values(revoked_at=statement.at),
            write=True,
        )
        if done.rowcount != 1:
            raise NotFoundError(
                f"{statement.member} of {statement.authority} has no enrolled key like this one"
            )

    def active(self, authority: str, member: str) -> bytes | None:
        k = t.member_keys.c
        query = sa.select(k.public_key).where(
            k.authority == authority, k.member == member, k.revoked_at.is_(None)
        )
        found = self.uow.execute(query).scalar_one_or_none()
        return None if found is None else bytes(found)

    def records(self) -> list[MemberKey]:
        k = t.member_keys.c
        rows = self.uow.execute(sa.select(t.member_keys).order_by(k.authority, k.member, k.id))
        return [
            MemberKey(r.authority, r.member, bytes(r.public_key), r.enrolled_at, r.revoked_at)
            for r in rows
        ]


class SqlScenarios(ScenarioRepository):
    def __init__(self, uow: SqlUnitOfWork) -> None:
        super().__init__(uow.audit)
        self.uow = uow

    def _save(self, version: str, files: dict[str, bytes], at: datetime) -> None:
        new = sa.insert(t.scenario_versions).values(version=version, first_loaded_at=at)
        if self.uow.insert_unique(new, {}):  # else stored already: a version never changes
            rows = [{"version": version, "path": p, "content": c} for p, c in files.items()]
            if rows:
                self.uow.execute(sa.insert(t.scenario_version_files), rows, write=True)
        self.uow.execute(
            sa.insert(t.scenario_loads).values(
                version=version, loaded_at=at, recorded_at=wall_now()
            ),
            write=True,
        )

    def current(self) -> str | None:
        loads = t.scenario_loads.c
        query = sa.select(loads.version).order_by(loads.id.desc()).limit(1)
        found: str | None = self.uow.execute(query).scalar_one_or_none()
        return found

    def made_current_at(self) -> datetime | None:
        loads = t.scenario_loads.c
        query = sa.select(loads.recorded_at).order_by(loads.id.desc()).limit(1)
        found: datetime | None = self.uow.execute(query).scalar_one_or_none()
        return found

    def files(self, version: str) -> dict[str, bytes] | None:
        v, f = t.scenario_versions.c, t.scenario_version_files.c
        known = self.uow.execute(sa.select(v.version).where(v.version == version)).first()
        if known is None:
            return None
        rows = self.uow.execute(
            sa.select(f.path, f.content).where(f.version == version).order_by(f.path)
        ).all()
        return {row.path: bytes(row.content) for row in rows}
