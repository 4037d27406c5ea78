"""The SQL storage adapter against a real SQLite file and a real PostgreSQL server: the
migration matches the tables, every repository behaves as the in-memory reference, and
two concurrent decisions on one request cannot both win."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import fields
from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Engine

from clearance.adapters import sql_tables as t
from clearance.adapters.scenario_loader import load_scenario
from clearance.adapters.sql import SqlUnitOfWork, head_revision, make_engine, uow_factory, upgrade
from clearance.adapters.sql_tables import metadata
from clearance.domain.clearance.evaluation import evaluate
from clearance.domain.clearance.model import ApprovalStatus, Conditions, Principal
from clearance.domain.clearance.requests import parse_request
from clearance.domain.clearance.scenario import Scenario
from clearance.domain.clearance.workflow import Decision, RequestRecord, RequestState
from clearance.domain.errors import ConflictError, NotFoundError
from clearance.domain.ledger.audit import scenario_version
from clearance.service import handlers, queries
from clearance.service.context import Context
from clearance.service.memory import MemoryStore, MemoryUnitOfWork
from clearance.service.ports import PinnedClock, UnitOfWork

ROOT = Path(__file__).parents[2]
NIGER = ROOT / "examples" / "niger"
REQUESTS = sorted(p.name for p in (NIGER / "requests").glob("*.yaml"))
ARMED_2020 = "05-us-armed-overwatch-agadez-2020.yaml"
PLUS_ONE = timezone(timedelta(hours=1))
SUBMITTED = datetime(2017, 11, 20, 9, 0, 0, 123456, tzinfo=PLUS_ONE)


@cache
def scenario() -> Scenario:
    return load_scenario(NIGER)


def opened(name: str, request_id: str, now: datetime = SUBMITTED) -> RequestRecord:
    document = yaml.safe_load((NIGER / "requests" / name).read_text())
    request = parse_request(document, scenario())
    return RequestRecord.open(
        request_id, document, request, evaluate(request, scenario()), "alice", now
    )


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    upgrade(db_url)
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def new_uow(engine: Engine) -> Callable[[], SqlUnitOfWork]:
    return uow_factory(engine)


def datetimes_of(record: RequestRecord) -> list[datetime]:
    found = [record.time_start, record.time_end, record.created_at, record.updated_at]
    for a in record.approvals:
        found += [d for d in (a.at,) if d is not None]
        if a.conditions is not None:
            found += [d for d in (a.conditions.time_start, a.conditions.time_end) if d]
    return found


def assert_same(loaded: RequestRecord | None, expected: RequestRecord) -> None:
    assert loaded is not None
    for f in fields(RequestRecord):
        assert getattr(loaded, f.name) == getattr(expected, f.name), f.name
    assert loaded.events == []
    assert all(d.tzinfo is UTC for d in datetimes_of(loaded))


# -- schema ------------------------------------------------------------------------------
def test_migration_creates_exactly_the_tables_the_code_uses(db_url: str) -> None:
    upgrade(db_url)
    upgrade(db_url)  # at head already: nothing to do
    engine = make_engine(db_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, metadata) == []
            assert context.get_current_revision() == head_revision()
            tables = set(sa.inspect(connection).get_table_names())
            assert tables == {*metadata.tables, "alembic_version"}
    finally:
        engine.dispose()


def test_sqlite_connections_are_durable_wal_with_foreign_keys(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    try:
        with engine.connect() as c:
            pragma = {
                name: c.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
            }
        assert pragma == {
            "journal_mode": "wal",
            "synchronous": 2,  # FULL
            "foreign_keys": 1,
            "busy_timeout": 5000,
        }
        assert isinstance(engine.pool, sa.pool.QueuePool)
    finally:
        engine.dispose()


# -- requests ----------------------------------------------------------------------------
def test_a_request_round_trips_with_decisions_conditions_and_violations(
    new_uow: Callable[[], SqlUnitOfWork],
) -> None:
    pending = opened(ARMED_2020, "req-pending")
    infeasible = opened("04-us-armed-overwatch-agadez-2017.yaml", "req-infeasible")
    assert infeasible.violations
    with new_uow() as uow:
        uow.requests.add(pending)
        uow.requests.add(infeasible)
        assert pending.events == []
        assert infeasible.events == []
        uow.commit()
    with new_uow() as uow:
        assert_same(uow.requests.get("req-pending"), pending)
        assert_same(uow.requests.get("req-infeasible"), infeasible)
        assert uow.requests.get("req-none") is None

    decided_at = datetime(2020, 3, 1, 8, 30, 0, 654321, tzinfo=timezone(timedelta(hours=-5)))
    conditions = Conditions(
        "stay north of the river; report on landing",
        time_start=datetime(2020, 3, 2, 5, 0, tzinfo=PLUS_ONE),
        time_end=datetime(2020, 3, 2, 14, 0, 0, 1, tzinfo=UTC),
        volume={"volume": {"outline_circle": {"center": {"lat": 14.6, "lng": 1.45}}}, "n": 1},
    )
    with new_uow() as uow:
        record = uow.requests.get("req-pending")
        assert record is not None
        record.decide("US.DoD", Decision.APPROVE, "bob", decided_at, "fine", conditions)
        uow.requests.save(record, 1)
        uow.commit()
    with new_uow() as uow:
        loaded = uow.requests.get("req-pending")
        assert_same(loaded, record)
        assert loaded is not None
        step = loaded.approval("US.DoD")
        assert step.status is ApprovalStatus.APPROVED
        assert (step.by, step.at, step.comment) == ("bob", decided_at, "fine")
        assert step.conditions == conditions
        assert [a.authority for a in loaded.approvals] == [a.authority for a in pending.approvals]
        events = uow.requests.events("req-pending")
    assert [(e.kind, e.version, e.by) for e in events] == [
        ("submitted", 1, "alice"),
        ("decided", 2, "bob"),
    ]
    assert events[1].at == decided_at
    assert events[1].at.tzinfo is UTC
    assert events[1].detail == {"authority": "US.DoD", "decision": "approve", "comment": "fine"}


def test_events_are_kept_in_order_across_saves(new_uow: Callable[[], SqlUnitOfWork]) -> None:
    record = opened(ARMED_2020, "req-1")
    with new_uow() as uow:
        uow.requests.add(record)
        uow.commit()
    later = SUBMITTED + timedelta(hours=1)
    for authority in ("US.DoD", "US.State"):
        with new_uow() as uow:
            loaded = uow.requests.get("req-1")
            assert loaded is not None
            version = loaded.version
            loaded.decide(authority, Decision.APPROVE, f"{authority}-member", later)
            uow.requests.save(loaded, version)
            uow.commit()
    with new_uow() as uow:
        loaded = uow.requests.get("req-1")
        assert loaded is not None
        loaded.withdraw("alice", later)
        uow.requests.save(loaded, 3)
        uow.commit()
        events = uow.requests.events("req-1")
        assert uow.requests.events("req-other") == []
    assert [(e.kind, e.version) for e in events] == [
        ("submitted", 1),
        ("decided", 2),
        ("decided", 3),
        ("withdrawn", 4),
    ]


def test_a_stale_save_conflicts_and_changes_nothing(new_uow: Callable[[], SqlUnitOfWork]) -> None:
    record = opened(ARMED_2020, "req-1")
    with new_uow() as uow:
        uow.requests.add(record)
        uow.commit()
    with new_uow() as uow:
        loaded = uow.requests.get("req-1")
        assert loaded is not None
        loaded.decide("US.DoD", Decision.DENY, "bob", SUBMITTED)
        with pytest.raises(ConflictError, match="changed meanwhile"):
            uow.requests.save(loaded, 7)
        uow.commit()  # nothing was written
    with new_uow() as uow:
        assert_same(uow.requests.get("req-1"), record)
        assert [e.kind for e in uow.requests.events("req-1")] == ["submitted"]


def test_leaving_without_commit_rolls_everything_back(
    new_uow: Callable[[], SqlUnitOfWork],
) -> None:
    with new_uow() as uow:
        uow.requests.add(opened(ARMED_2020, "req-1"))
        uow.principals.add(Principal("alice", operator="US.AFRICOM"), "h1")
        uow.idempotency.remember("alice", "k1", "d1", "req-1")
        uow.grants.revoke("ne-us-unarmed-isr", "carol", SUBMITTED)
        uow.scenarios.save({"scenario.yaml": b"x"}, SUBMITTED)
        assert uow.requests.get("req-1") is not None  # visible inside its own transaction
    with new_uow() as uow:
        uow.requests.add(opened(ARMED_2020, "req-2"))
        uow.rollback()
        uow.requests.add(opened(ARMED_2020, "req-3"))
        uow.commit()
    with new_uow() as uow:
        assert uow.requests.get("req-1") is None
        assert uow.requests.get("req-2") is None
        assert uow.requests.get("req-3") is not None
        assert uow.requests.events("req-1") == []
        assert uow.principals.get("alice") is None
        assert uow.idempotency.find("alice", "k1") is None
        assert uow.grants.revoked() == {}
        assert uow.scenarios.current() is None


def test_adding_an_existing_request_conflicts(new_uow: Callable[[], SqlUnitOfWork]) -> None:
    with new_uow() as uow:
        uow.requests.add(opened(ARMED_2020, "req-1"))
        uow.commit()
    with new_uow() as uow:
        uow.requests.add(opened(ARMED_2020, "req-2"))
        with pytest.raises(ConflictError, match="request req-1 exists"):
            uow.requests.add(opened(ARMED_2020, "req-1"))
    # the change that met the duplicate is abandoned whole, req-2 with it
    with new_uow() as uow:
        assert [r.id for r in uow.requests.search()] == ["req-1"]


def _fill(uow: UnitOfWork) -> None:
    """Every example request, one minute apart; 05 and 13 are pending."""
    for i, name in enumerate(REQUESTS):
        record = opened(name, f"req-{i:02d}", SUBMITTED + timedelta(minutes=i))
        uow.requests.add(record)
    uow.commit()


def test_queries_return_what_the_memory_reference_returns(
    new_uow: Callable[[], SqlUnitOfWork],
) -> None:
    memory = MemoryUnitOfWork(MemoryStore())
    with new_uow() as sql, memory:
        _fill(sql)
        _fill(memory)

        def same(query: str, *args: Any, **kwargs: Any) -> list[str]:
            """The ids ``requests.<query>(...)`` returns, after checking that both
            implementations return the same records in the same order."""
            expected = getattr(memory.requests, query)(*args, **kwargs)
            got = getattr(sql.requests, query)(*args, **kwargs)
            assert [r.id for r in got] == [r.id for r in expected], (query, args, kwargs)
            for loaded, reference in zip(got, expected, strict=True):
                assert_same(loaded, reference)
            return [r.id for r in got]

        authorities = ["US.DoD", "NE.Defense", "ML.Defense", "NE.PM", "NG.Defense", "X"]
        for state in [None, *RequestState]:
            for operator in (None, "US.AFRICOM", "FR.Barkhane"):
                for authority in (None, *authorities):
                    for limit in (100, 2):
                        same(
                            "search",
                            state=state,
                            operator=operator,
                            authority=authority,
                            limit=limit,
                        )
        for authority in authorities:
            same("needing_review", authority)
        for operator in ("US.AFRICOM", "FR.Barkhane", "nobody"):
            same("open_for_operator", operator)
        time_13 = opened("13-us-isr-into-nigeria.yaml", "x").time_start
        for now in (
            SUBMITTED,
            time_13 - timedelta(microseconds=1),
            time_13,
            time_13.replace(year=2100),
        ):
            same("due_for_expiry", now)

        assert same("search") == [f"req-{i:02d}" for i in range(12, -1, -1)]
        assert same("search", limit=3) == ["req-12", "req-11", "req-10"]
        assert same("search", state=RequestState.PENDING) == ["req-12", "req-04"]
        assert same("search", operator="FR.Barkhane") == ["req-06", "req-05"]
        assert same("search", authority="ML.Defense") == ["req-10", "req-08", "req-07"]
        assert same("needing_review", "NE.Defense") == ["req-04", "req-12"]
        assert same("needing_review", "US.DoD") == ["req-04"]
        assert same("open_for_operator", "FR.Barkhane") == ["req-05", "req-06"]
        assert same("due_for_expiry", time_13) == ["req-12"]


def test_yaml_timestamps_in_a_document_are_stored_as_rfc3339_text(
    new_uow: Callable[[], SqlUnitOfWork],
) -> None:
    record = opened(ARMED_2020, "req-1")
    record.document["volumes"][0]["time_start"]["value"] = datetime(2020, 3, 2, 4, tzinfo=UTC)
    with new_uow() as uow:
        uow.requests.add(record)
        uow.commit()
        loaded = uow.requests.get("req-1")
    assert loaded is not None
    stored = loaded.document["volumes"][0]["time_start"]["value"]
    assert stored == "2020-03-02T04:00:00+00:00"
    assert parse_request(loaded.document, scenario()).time_start == record.time_start


def test_an_in_memory_sqlite_database_can_be_migrated_and_used() -> None:
    engine = make_engine("sqlite://")
    try:
        upgrade(engine)
        with uow_factory(engine)() as uow:
            uow.requests.add(opened(ARMED_2020, "req-1"))
            uow.commit()
        with uow_factory(engine)() as uow:
            assert [r.id for r in uow.requests.search()] == ["req-1"]
    finally:
        engine.dispose()


# -- principals, idempotency keys, grants, scenario ----------------------------------------
def test_principals(new_uow: Callable[[], SqlUnitOfWork]) -> None:
    alice = Principal("alice", operator="US.AFRICOM")
    bob = Principal("bob", authority="US.DoD")
    with new_uow() as uow:
        uow.principals.add(alice, "hash-a")
        uow.principals.add(bob, "hash-b")
        uow.commit()
    with new_uow() as uow:
        assert uow.principals.get("alice") == alice
        assert uow.principals.get("bob") == bob
        assert uow.principals.get("carol") is None
        assert uow.principals.by_token("hash-b") == bob
        assert uow.principals.by_token("hash-x") is None
        with pytest.raises(ConflictError, match="'alice' exists"):
            uow.principals.add(Principal("alice", authority="US.DoD"), "hash-c")
        with pytest.raises(ConflictError):
            uow.principals.add(Principal("dave", authority="US.DoD"), "hash-a")  # token taken
        uow.principals.set_token("alice", "hash-a2")
        with pytest.raises(NotFoundError):
            uow.principals.set_token("nobody", "hash-z")
        uow.principals.add(Principal("carol", authority="NE.PM"), "hash-c")  # still usable
        uow.commit()
    with new_uow() as uow:
        assert uow.principals.by_token("hash-a") is None
        assert uow.principals.by_token("hash-a2") == alice
        assert uow.principals.get("alice") == alice
        assert uow.principals.get("carol") == Principal("carol", authority="NE.PM")
        assert uow.principals.get("dave") is None


def test_idempotency_keys(new_uow: Callable[[], SqlUnitOfWork]) -> None:
    with new_uow() as uow:
        assert uow.idempotency.find("alice", "k1") is None
        uow.idempotency.remember("alice", "k1", "digest-1", "req-1")
        uow.idempotency.remember("bob", "k1", "digest-2", "req-2")  # keys are per principal
        uow.commit()
    with new_uow() as uow:
        assert uow.idempotency.find("alice", "k1") == ("req-1", "digest-1")
        assert uow.idempotency.find("bob", "k1") == ("req-2", "digest-2")
        assert uow.idempotency.find("alice", "k2") is None
        with pytest.raises(ConflictError, match="Idempotency-Key"):
            uow.idempotency.remember("alice", "k1", "digest-3", "req-3")
        uow.idempotency.remember("alice", "k2", "digest-3", "req-3")
        uow.commit()
    with new_uow() as uow:
        assert uow.idempotency.find("alice", "k1") == ("req-1", "digest-1")
        assert uow.idempotency.find("alice", "k2") == ("req-3", "digest-3")


def test_grant_revocations(new_uow: Callable[[], SqlUnitOfWork]) -> None:
    at = datetime(2017, 11, 23, 12, 0, 0, 5, tzinfo=PLUS_ONE)
    with new_uow() as uow:
        assert uow.grants.revoked() == {}
        uow.grants.revoke("ne-us-unarmed-isr", "carol", at)
        uow.commit()
    with new_uow() as uow:
        with pytest.raises(ConflictError, match="already revoked"):
            uow.grants.revoke("ne-us-unarmed-isr", "dave", at + timedelta(days=1))
        uow.grants.revoke("ne-fr-isr-armed", "dave", at)
        uow.commit()
    with new_uow() as uow:
        revoked = uow.grants.revoked()
    assert revoked == {"ne-us-unarmed-isr": at, "ne-fr-isr-armed": at}
    assert all(d.tzinfo is UTC for d in revoked.values())


def test_scenario_versions_keep_their_files_as_bytes_and_the_newest_load_is_current(
    new_uow: Callable[[], SqlUnitOfWork],
) -> None:
    first = {
        "scenario.yaml": (NIGER / "scenario.yaml").read_bytes(),
        "policies/x.cedar": b"permit(principal, action, resource);\n",
        "blob.bin": bytes(range(256)) + b"\x00\xff",
    }
    second = {"scenario.yaml": b"replaced"}
    with new_uow() as uow:
        assert uow.scenarios.current() is None
        v1 = uow.scenarios.save(first, SUBMITTED)
        uow.commit()
    assert v1 == scenario_version(first)
    with new_uow() as uow:
        assert uow.scenarios.current() == v1
        assert uow.scenarios.files(v1) == first
        v2 = uow.scenarios.save(second, SUBMITTED)
        uow.commit()
    with new_uow() as uow:
        assert v2 != v1
        assert uow.scenarios.current() == v2
        assert uow.scenarios.files(v2) == second
        assert uow.scenarios.files(v1) == first  # a version is never replaced
        assert uow.scenarios.files("0" * 64) is None
        assert uow.scenarios.save(first, SUBMITTED) == v1  # loaded again: current again
        uow.commit()
    with new_uow() as uow:
        assert uow.scenarios.current() == v1
        stored = uow.execute(sa.select(sa.func.count()).select_from(t.scenario_versions))
        assert stored.scalar_one() == 2  # the same files are one version


# -- concurrency -------------------------------------------------------------------------
def _race(new_uow: Callable[[], SqlUnitOfWork], request_id: str) -> dict[int, str]:
    """Two members load the same pending request, each in its own unit of work, and both
    approve for US.DoD; neither saves before both have loaded."""
    barrier = threading.Barrier(2, timeout=30)
    results: dict[int, str] = {}

    def decide(i: int) -> None:
        try:
            with new_uow() as uow:
                record = uow.requests.get(request_id)
                assert record is not None
                loaded = record.version
                barrier.wait()
                record.decide("US.DoD", Decision.APPROVE, f"member-{i}", SUBMITTED)
                uow.requests.save(record, loaded)
                uow.commit()
            results[i] = "committed"
        except ConflictError:
            results[i] = "conflict"
        except BaseException as e:
            results[i] = repr(e)

    threads = [threading.Thread(target=decide, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_two_concurrent_decisions_on_one_step_cannot_both_win(
    new_uow: Callable[[], SqlUnitOfWork],
) -> None:
    for n in range(3):
        request_id = f"req-race-{n}"
        with new_uow() as uow:
            uow.requests.add(opened(ARMED_2020, request_id))
            uow.commit()

        results = _race(new_uow, request_id)

        assert sorted(results.values()) == ["committed", "conflict"], results
        with new_uow() as uow:
            stored = uow.requests.get(request_id)
            events = uow.requests.events(request_id)
        assert stored is not None
        assert stored.version == 2
        decided = [a for a in stored.approvals if a.by is not None]
        assert len(decided) == 1
        assert decided[0].authority == "US.DoD"
        assert decided[0].status is ApprovalStatus.APPROVED
        winner = next(i for i, r in results.items() if r == "committed")
        assert decided[0].by == f"member-{winner}"
        assert [(e.kind, e.version) for e in events] == [("submitted", 1), ("decided", 2)]


def test_many_concurrent_writers_queue_instead_of_failing(
    new_uow: Callable[[], SqlUnitOfWork],
) -> None:
    threads_n, each = 8, 10
    errors: list[BaseException] = []

    def submit(i: int) -> None:
        try:
            for j in range(each):
                with new_uow() as uow:
                    assert uow.idempotency.find(f"p{i}", f"k{j}") is None  # read, then write
                    uow.requests.add(opened(ARMED_2020, f"req-{i}-{j}"))
                    uow.idempotency.remember(f"p{i}", f"k{j}", "d", f"req-{i}-{j}")
                    uow.commit()
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(threads_n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    with new_uow() as uow:
        assert len(uow.requests.search(limit=1000)) == threads_n * each


def test_a_write_blocked_longer_than_the_lock_timeout_raises_conflict(db_url: str) -> None:
    """SQLite busy, or PostgreSQL lock_not_available: a ConflictError, never a driver error."""
    upgrade(db_url)
    if db_url.startswith("sqlite"):
        engine = make_engine(db_url, sqlite_busy_timeout_ms=100)
    else:
        engine = make_engine(db_url, connect_args={"options": "-c lock_timeout=100"})
    new_uow = uow_factory(engine)
    try:
        with new_uow() as uow:
            uow.requests.add(opened(ARMED_2020, "req-1"))
            uow.commit()
        with new_uow() as blocking, new_uow() as blocked:
            first = blocking.requests.get("req-1")
            second = blocked.requests.get("req-1")
            assert first is not None
            assert second is not None
            first.decide("US.DoD", Decision.APPROVE, "bob", SUBMITTED)
            second.decide("US.DoD", Decision.DENY, "carol", SUBMITTED)
            blocking.requests.save(first, 1)  # holds the lock until it ends
            with pytest.raises(ConflictError, match="retry"):
                blocked.requests.save(second, 1)
            blocked.rollback()
            blocking.rollback()
            blocked.requests.save(second, 1)  # the lock is gone: this one wins now
            blocked.commit()
        with new_uow() as uow:
            stored = uow.requests.get("req-1")
        assert stored is not None
        assert stored.approval("US.DoD").by == "carol"
    finally:
        engine.dispose()


# -- the use cases over SQL ----------------------------------------------------------------
def test_the_workflow_runs_on_sql(new_uow: Callable[[], SqlUnitOfWork]) -> None:
    clock = PinnedClock(datetime(2020, 3, 1, tzinfo=UTC))
    flow = Context(new_uow, load_scenario(NIGER), clock)
    alice_token = handlers.add_principal(flow, "alice", operator="US.AFRICOM")
    handlers.add_principal(flow, "bob", authority="US.DoD")
    alice = queries.authenticate(flow, alice_token)
    bob = queries.principal(flow, "bob")
    document = yaml.safe_load((NIGER / "requests" / ARMED_2020).read_text())
    first = handlers.submit(flow, alice, document, idempotency_key="k1")
    again = handlers.submit(flow, alice, document, idempotency_key="k1")
    assert first.created
    assert not again.created
    assert again.record.id == first.record.id
    assert [i.record.id for i in queries.queue(flow, bob, "US.DoD")] == [first.record.id]
    decided = handlers.decide(flow, bob, first.record.id, "US.DoD", Decision.APPROVE, "ok")
    assert decided.version == 2
    record, events = queries.get(flow, bob, first.record.id)
    assert record.approval("US.DoD").status is ApprovalStatus.APPROVED
    assert [e.kind for e in events] == ["submitted", "decided"]
    assert [r.id for r in queries.list_requests(flow, alice)] == [first.record.id]
    with pytest.raises(ConflictError):
        handlers.add_principal(flow, "alice", operator="US.AFRICOM")
