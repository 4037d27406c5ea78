"""`audit verify` replays the log: every stored request, approval by approval, is held to
what its entries record, on SQLite and PostgreSQL, and the memory fake gives the same
verdicts through the same port. Each tamper below is a change made with SQL behind the
service's back; the verdict names the request and the field."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
import sqlalchemy as sa

from clearance.adapters import sql_tables as t
from clearance.adapters.keys import KeyStore
from clearance.bootstrap import scenario_versions
from clearance.domain.clearance.model import ApprovalStatus, Principal
from clearance.domain.clearance.workflow import Decision, RequestState
from clearance.domain.ledger.audit import ROOT_ROLE
from clearance.domain.ledger.checkpoint import raw_public
from clearance.service import handlers
from clearance.service.audit import AuditLog, record_keys
from clearance.service.context import Context
from clearance.service.memory import MemoryStore, MemoryUnitOfWork
from clearance.service.ports import PinnedClock
from tests import parties
from tests.e2e.conftest import NOW, document, niger
from tests.integration.test_audit import (
    ORIGIN,
    PLANNER,
    ROOT,
    SIGNERS,
    Setup,
    _make_setup,
    approve,
    member,
    run_cli,
    story,
)


@pytest.fixture
def setup(db_url: str, tmp_path: Path) -> Iterator[Setup]:
    yield from _make_setup(db_url, tmp_path)


@dataclass(frozen=True)
class Ids:
    decided: str  # 05: US.DoD and US.State approved by their members (signed)
    automatic: str  # 01: US.DoD auto_approved by policy, NE.Defense covered by a grant


def two_requests(s: Setup) -> Ids:
    decided = story(s)
    automatic = handlers.submit(s.flow, PLANNER, document("01")).record.id
    s.log.integrate()
    return Ids(decided, automatic)


def approval_sql(s: Setup, rid: str, authority: str, **values: object) -> None:
    a = t.approvals.c
    with s.engine.begin() as c:
        c.execute(
            t.approvals.update()
            .where(a.request_id == rid, a.authority == authority)
            .values(**values)
        )


# -- tampers: each returns what the verdict must say --------------------------------------


def delete_a_signed_approval(s: Setup, ids: Ids) -> str:
    s.sql("DELETE FROM approvals WHERE request_id = :r AND authority = 'US.DoD'", r=ids.decided)
    return f"request {ids.decided}: US.DoD's approval is not in the database"


def delete_an_automatic_approval(s: Setup, ids: Ids) -> str:
    s.sql(
        "DELETE FROM approvals WHERE request_id = :r AND authority = 'NE.Defense'",
        r=ids.automatic,
    )
    return f"request {ids.automatic}: NE.Defense's approval is not in the database"


def add_an_approval_row(s: Setup, ids: Ids) -> str:
    a = t.approvals.c
    with s.engine.begin() as c:
        row = c.execute(
            sa.select(t.approvals).where(a.request_id == ids.automatic, a.authority == "NE.Defense")
        ).one()
        copy = row._asdict() | {"authority": "NE.PM", "ordinal": 9}
        c.execute(t.approvals.insert().values(**copy))
    return f"request {ids.automatic}: NE.PM's approval in the database is not in the log"


def change_an_automatic_status(s: Setup, ids: Ids) -> str:
    approval_sql(s, ids.automatic, "US.DoD", status="needs_review")
    return (
        f"request {ids.automatic}: US.DoD's approval: its status in the database "
        "(needs_review) is not what the log records (auto_approved"
    )


def hide_a_decision_as_automatic(s: Setup, ids: Ids) -> str:
    """A member's approval made to look like a policy's, so no signature is looked for."""
    approval_sql(s, ids.decided, "US.DoD", status="auto_approved")
    return (
        f"request {ids.decided}: US.DoD's approval: its status in the database "
        "(auto_approved) is not what the log records (approved"
    )


def change_a_grant(s: Setup, ids: Ids) -> str:
    approval_sql(s, ids.automatic, "NE.Defense", grant_id="ne-fr-isr-armed")
    return (
        f"request {ids.automatic}: NE.Defense's approval: its grant in the database "
        "(ne-fr-isr-armed) is not what the log records (ne-us-unarmed-isr"
    )


def change_the_policies(s: Setup, ids: Ids) -> str:
    approval_sql(s, ids.automatic, "US.DoD", policies=["dod-review"])
    return f"request {ids.automatic}: US.DoD's approval: its policies in the database"


def change_who_decided(s: Setup, ids: Ids) -> str:
    approval_sql(s, ids.decided, "US.DoD", decided_by="US.State-member")
    return (
        f"request {ids.decided}: US.DoD's approval: its by in the database "
        "(US.State-member) is not what the log records (US.DoD-member"
    )


def change_the_conditions(s: Setup, ids: Ids) -> str:
    conditions = {"text": "only by day", "time_start": None, "time_end": None, "volume": None}
    approval_sql(s, ids.decided, "US.DoD", conditions=conditions)
    return f"request {ids.decided}: US.DoD's approval: its conditions in the database"


def change_the_version(s: Setup, ids: Ids) -> str:
    s.sql("UPDATE requests SET version = 7 WHERE id = :r", r=ids.automatic)
    return (
        f"request {ids.automatic}: its version in the database (7) is not what the log records (1"
    )


def change_the_scenario_version(s: Setup, ids: Ids) -> str:
    """As if the request had been evaluated against another version of the scenario."""
    s.sql("UPDATE requests SET scenario_version = :v WHERE id = :r", v="0" * 64, r=ids.automatic)
    return (
        f"request {ids.automatic}: its scenario_version in the database ({'0' * 40}...) is not "
        "what the log records"
    )


def delete_a_request(s: Setup, ids: Ids) -> str:
    for table in ("approvals", "request_events"):
        s.sql(f"DELETE FROM {table} WHERE request_id = :r", r=ids.automatic)
    s.sql("DELETE FROM requests WHERE id = :r", r=ids.automatic)
    return f"request {ids.automatic}: in the audit log but not in the database"


def add_a_request(s: Setup, ids: Ids) -> str:
    r = t.requests.c
    with s.engine.begin() as c:
        row = c.execute(sa.select(t.requests).where(r.id == ids.automatic)).one()
        c.execute(t.requests.insert().values(**(row._asdict() | {"id": "req-forged"})))
    return "request req-forged: not in the audit log"


def set_an_unknown_status(s: Setup, ids: Ids) -> str:
    approval_sql(s, ids.automatic, "US.DoD", status="waved_through")
    return (
        f"request {ids.automatic}: its row cannot be read: 'waved_through' is not a valid "
        "ApprovalStatus"
    )


def reorder_the_chain(s: Setup, ids: Ids) -> str:
    approval_sql(s, ids.automatic, "US.DoD", ordinal=9)
    return f"request {ids.automatic}: its approvals are not in the order the log records"


TAMPERS = [
    delete_a_signed_approval,
    delete_an_automatic_approval,
    add_an_approval_row,
    change_an_automatic_status,
    hide_a_decision_as_automatic,
    change_a_grant,
    change_the_policies,
    change_who_decided,
    change_the_conditions,
    change_the_version,
    change_the_scenario_version,
    delete_a_request,
    add_a_request,
    set_an_unknown_status,
    reorder_the_chain,
]


@pytest.mark.parametrize("tamper", TAMPERS, ids=lambda f: f.__name__)
def test_audit_verify_names_the_request_and_the_field(
    setup: Setup, tamper: Callable[[Setup, Ids], str]
) -> None:
    s = setup
    ids = two_requests(s)
    intact = s.log.verify()
    assert intact.ok, intact.problems
    assert intact.requests == 2
    assert intact.unreplayed == 0
    expected = tamper(s, ids)
    verified = s.log.verify()
    assert not verified.ok
    assert expected in "\n".join(verified.problems), verified.problems


# -- all 13 examples, decided, revoked, withdrawn: intact, then caught ----------------------


def every_example(s: Setup) -> dict[str, str]:
    """Store the 13 Niger examples (as `./run` does), then decide, withdraw and revoke as
    people do, so the log holds every kind of request entry; name -> request id."""
    s.load_scenario()
    planners: dict[str, Principal] = {}
    ids = {}
    for path in sorted((ROOT / "examples" / "niger" / "requests").glob("*.yaml")):
        doc = document(path.name[:2])
        planner = planners.get(doc["operator"])
        if planner is None:
            planner = Principal(f"planner-{len(planners)}", operator=doc["operator"])
            handlers.add_principal(s.flow, planner.name, operator=planner.operator)
            planners[doc["operator"]] = planner
        ids[path.name[:2]] = handlers.submit(s.flow, planner, doc).record.id
    for authority in ("NE.Defense", "NG.Defense"):
        handlers.add_principal(s.flow, f"{authority}-member", authority=authority)
    handlers.decide(s.flow, member("NE.Defense"), ids["13"], "NE.Defense", Decision.APPROVE, "ok")
    handlers.decide(s.flow, member("NG.Defense"), ids["13"], "NG.Defense", Decision.DENY, "no")
    handlers.withdraw(s.flow, planners["US.AFRICOM"], ids["12"])
    handlers.revoke_grant(s.flow, member("NE.Defense"), "ne-fr-isr-armed")
    s.log.integrate()
    return ids


def test_every_example_verifies_on_the_cli_then_a_widened_radius_is_named(
    setup: Setup,
) -> None:
    s = setup
    ids = every_example(s)
    with s.uow() as uow:
        states = {name: uow.requests.get(rid).state for name, rid in ids.items()}  # type: ignore[union-attr]
    assert states["13"] is RequestState.DENIED
    assert states["12"] is RequestState.WITHDRAWN
    assert states["07"] is RequestState.PENDING  # its grant was revoked
    done = run_cli(s, "audit", "verify", "--json")
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    assert shown["ok"]
    assert shown["requests"] == 13
    assert shown["decisions"] == 2

    # a radius widened from the example's to three times it, on the request NE decided
    r = t.requests.c
    with s.engine.begin() as c:
        doc = c.execute(sa.select(r.document).where(r.id == ids["13"])).scalar_one()
        doc["volumes"][0]["volume"]["outline_circle"]["radius"]["value"] *= 3
        c.execute(t.requests.update().where(r.id == ids["13"]).values(document=doc))
    s.sql("UPDATE requests SET state = 'cleared' WHERE id = :r", r=ids["08"])
    done = run_cli(s, "audit", "verify")
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert lines[0].startswith(f"audit log: FAILED: request {ids['08']}: its state"), lines
    assert any(f"request {ids['13']}: its document in the database" in line for line in lines)
    assert "Traceback" not in done.stderr


def test_an_automatic_step_its_scenario_version_does_not_give_is_named(setup: Setup) -> None:
    """A server that evaluated against rules other than the stored version's (here a grant
    the version does not hold) writes log and tables that agree with each other; the
    verifier evaluates each automatic step again against the version the log names."""
    s = setup
    s.load_scenario()
    forged = niger()  # claims the stored version, holds one grant more
    honest = forged.grants["ne-us-unarmed-isr"]
    forged.grants["ne-us-armed"] = replace(
        honest,
        id="ne-us-armed",
        purposes=frozenset({"armed-overwatch"}),
        payloads=frozenset({"armed"}),
    )
    liar = Context(s.flow.uow, forged, PinnedClock(NOW))
    handlers.add_principal(liar, PLANNER.name, operator=PLANNER.operator)
    covered = []
    for path in sorted((ROOT / "examples" / "niger" / "requests").glob("*.yaml")):
        doc = document(path.name[:2])
        if doc["operator"] != PLANNER.operator:
            continue
        record = handlers.submit(liar, PLANNER, doc).record
        if any(a.grant == "ne-us-armed" for a in record.approvals):
            covered.append(record.id)
    assert covered, "no example is covered by the forged grant"
    s.log.integrate()
    assert s.log.verify().ok  # log and tables agree: only evaluating again shows it
    verified = s.log.verify(scenarios=scenario_versions())
    assert not verified.ok
    shown = "\n".join(verified.problems)
    for rid in covered:
        assert (
            f"request {rid}: NE.Defense's covered_by_grant step (version 1): its grant "
            "(ne-us-armed) is not what its scenario version's policies and grants give"
        ) in shown, shown
        # NE.PM's step follows NE.Defense's grant: it was forged with it
        assert f"request {rid}: NE.PM's auto_approved step (version 1): its status" in shown
    # the honest requests (the rest of the US examples) verify
    assert all(p.split(":")[0] in {f"request {rid}" for rid in covered} for p in verified.problems)


def test_an_open_request_still_covered_by_a_revoked_grant_is_named(setup: Setup) -> None:
    """A revocation logged without sending what the grant covered back to review (a
    server that skipped it): the request the log last shows open and covered is named."""
    s = setup
    s.load_scenario()
    handlers.add_principal(s.flow, PLANNER.name, operator=PLANNER.operator)
    rid = handlers.submit(s.flow, PLANNER, document("01")).record.id
    with s.uow() as uow:  # the grant's row and its entry, and nothing else
        uow.grants.revoke("ne-us-unarmed-isr", "NE.Defense-member", NOW)
        uow.commit()
    s.log.integrate()
    verified = s.log.verify(scenarios=scenario_versions())
    assert not verified.ok
    assert verified.problems[0].startswith(
        f"request {rid}: NE.Defense's step is still covered by grant ne-us-unarmed-isr "
        "(version 1), revoked by log index "
    ), verified.problems
    # (the same revocation made by the handler verifies: see every_example, which
    # revokes ne-fr-isr-armed)


def test_entries_rewritten_as_text_are_judged_by_their_hashes(
    sqlite_url: str, tmp_path: Path
) -> None:
    """SQLite keeps the type a value was written with: an entry's data rewritten as text
    (same content) still verifies, and changed text is named, never an internal error."""
    for s in _make_setup(sqlite_url, tmp_path):
        story(s)
        s.sql("UPDATE audit_entries SET data = CAST(data AS TEXT)")
        assert s.log.verify().ok
        s.sql(
            "UPDATE audit_entries SET data = REPLACE(data, 'approve', 'APPROVE') "
            "WHERE kind = 'request.decided'"
        )
        verified = s.log.verify()
        assert not verified.ok
        assert "the stored data does not hash to its leaf hash" in verified.problems[0]


# -- the memory fake gives the same verdicts as SQL ----------------------------------------


@pytest.fixture
def memory(tmp_path: Path) -> Iterator[tuple[MemoryStore, Context, AuditLog]]:
    store = MemoryStore()
    keys = KeyStore(tmp_path / "keys")  # the SQL setup's key directory: the same log key

    def new() -> MemoryUnitOfWork:
        return MemoryUnitOfWork(store)

    return (
        store,
        Context(new, parties.with_roots(niger(), SIGNERS), PinnedClock(NOW)),
        AuditLog(new, ORIGIN, keys.instance_key()),
    )


def memory_story(store: MemoryStore, flow: Context, log: AuditLog, public: Setup) -> Ids:
    """What :func:`two_requests` does, on the memory fake."""
    public_keys = {("log", ORIGIN): log.public_key} | {
        (ROOT_ROLE, a): raw_public(parties.root_key(a)) for a in SIGNERS
    }
    with MemoryUnitOfWork(store) as uow:
        uow.scenarios.save({"scenario.yaml": b"name: test\n"}, NOW)
        record_keys(uow, public_keys)
        uow.commit()
    for a in SIGNERS:
        parties.enroll(flow, a, member(a).name)
    for p in (PLANNER, member("US.DoD"), member("US.State")):
        handlers.add_principal(flow, p.name, operator=p.operator, authority=p.authority)
    rid = handlers.submit(flow, PLANNER, document("05")).record.id
    approve(flow, rid, "US.DoD", "fine")
    approve(flow, rid, "US.State", "agreed")
    automatic = handlers.submit(flow, PLANNER, document("01")).record.id
    log.integrate()
    return Ids(rid, automatic)


def _approvals(store: MemoryStore, rid: str, change: Callable[[list], list]) -> None:  # type: ignore[type-arg]
    record = store.requests[rid]
    record.approvals = change(record.approvals)


SAME = {
    "status": (
        lambda s, ids: approval_sql(s, ids.decided, "US.DoD", status="auto_approved"),
        lambda m, ids: _approvals(
            m,
            ids.decided,
            lambda a: [
                replace(x, status=ApprovalStatus.AUTO_APPROVED) if x.authority == "US.DoD" else x
                for x in a
            ],
        ),
    ),
    "by": (
        lambda s, ids: approval_sql(s, ids.decided, "US.DoD", decided_by="someone"),
        lambda m, ids: _approvals(
            m,
            ids.decided,
            lambda a: [replace(x, by="someone") if x.authority == "US.DoD" else x for x in a],
        ),
    ),
    "deleted approval": (
        delete_an_automatic_approval,
        lambda m, ids: _approvals(
            m, ids.automatic, lambda a: [x for x in a if x.authority != "NE.Defense"]
        ),
    ),
    "state": (
        lambda s, ids: s.sql("UPDATE requests SET state = 'cleared' WHERE id = :r", r=ids.decided),
        lambda m, ids: setattr(m.requests[ids.decided], "state", RequestState.CLEARED),
    ),
}


@pytest.mark.parametrize("change", sorted(SAME))
def test_the_memory_fake_gives_the_verdicts_sql_gives(
    setup: Setup, memory: tuple[MemoryStore, Context, AuditLog], change: str
) -> None:
    s = setup
    store, flow, log = memory
    sql_ids = two_requests(s)
    memory_ids = memory_story(store, flow, log, s)
    assert s.log.verify().ok
    assert log.verify().ok
    on_sql, on_memory = SAME[change]
    on_sql(s, sql_ids)
    on_memory(store, memory_ids)

    def verdict(problems: tuple[str, ...], ids: Ids) -> list[str]:
        text = "\n".join(problems)
        text = text.replace(ids.decided, "<decided>").replace(ids.automatic, "<automatic>")
        return re.sub(r"req-[0-9a-f]+", "<id>", text).splitlines()

    from_sql = verdict(s.log.verify().problems, sql_ids)
    from_memory = verdict(log.verify().problems, memory_ids)
    assert from_sql, "the change went unnoticed"
    assert from_sql == from_memory
