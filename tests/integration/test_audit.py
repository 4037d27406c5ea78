"""The audit log on SQLite and PostgreSQL: one entry per change in the change's own
transaction, integration into an RFC 9162 tree with signed checkpoints, proofs served
from stored tiles, tampering caught by `audit verify`, and the offline export."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from clearance.adapters import sql_tables as t
from clearance.adapters.audit_files import read_export, write_export
from clearance.adapters.keys import KeyStore
from clearance.adapters.scenario_loader import scenario_files
from clearance.adapters.sql import SqlUnitOfWork, make_engine, uow_factory, upgrade
from clearance.domain.clearance.model import Principal
from clearance.domain.clearance.workflow import Decision
from clearance.domain.ledger import merkle
from clearance.domain.ledger.audit import ROOT_ROLE, AuditError, verify_log
from clearance.domain.ledger.checkpoint import format_checkpoint, open_checkpoint, sign_note
from clearance.service import handlers, queries
from clearance.service.audit import AuditLog, raw_public, record_keys
from clearance.service.context import Context
from clearance.service.ports import PinnedClock
from tests import parties
from tests.e2e.conftest import NOW, document, niger

ORIGIN = "test.clearance/log"
PLANNER = Principal("planner", operator="US.AFRICOM")
FR_PLANNER = Principal("fr-planner", operator="FR.Barkhane")
ROOT = Path(__file__).parents[2]
SIGNERS = ("US.DoD", "US.State")  # they keep root keys: their members sign their decisions


def member(authority: str) -> Principal:
    return Principal(f"{authority}-member", authority=authority)


@dataclass
class Setup:
    url: str
    engine: Engine
    keys: KeyStore
    flow: Context
    log: AuditLog

    def uow(self) -> SqlUnitOfWork:
        return uow_factory(self.engine)()

    def kinds(self) -> list[str]:
        """Kinds of every entry, integrated or not, in seq order."""
        with self.engine.connect() as c:
            e = t.audit_entries.c
            return [row.kind for row in c.execute(sa.select(e.kind).order_by(e.seq))]

    def sql(self, statement: str, **params: Any) -> None:
        with self.engine.begin() as c:
            c.execute(sa.text(statement), params)

    def load_scenario(self) -> None:
        """What `clearance scenario load` stores: the files and the public keys (the log's
        and the root keys of the authorities that keep one, SIGNERS); then each of those
        enrolls its member's key (tests/parties.py: the keys are the test's, the parties')."""
        public = {("log", ORIGIN): self.log.public_key}
        public |= {(ROOT_ROLE, a): raw_public(parties.root_key(a)) for a in SIGNERS}
        with self.uow() as uow:
            uow.scenarios.save(scenario_files(ROOT / "examples" / "niger"), NOW)
            record_keys(uow, public)
            uow.commit()
        for a in SIGNERS:
            parties.enroll(self.flow, a, member(a).name)

    def decide(self, rid: str, authority: str, comment: str = "") -> None:
        approve(self.flow, rid, authority, comment)


def approve(flow: Context, rid: str, authority: str, comment: str = "") -> None:
    """``authority``'s member approves ``rid``: signed with their own key when the
    authority keeps a root key (SIGNERS), else recorded unsigned."""
    signed = None
    if authority in SIGNERS:
        seen, _ = queries.get(flow, member(authority), rid)
        _, signed = parties.signed_decision(
            seen, authority, member(authority).name, NOW, "approve", comment
        )
    handlers.decide(
        flow, member(authority), rid, authority, Decision.APPROVE, comment, signed=signed
    )


@pytest.fixture
def setup(db_url: str, tmp_path: Path) -> Iterator[Setup]:
    yield from _make_setup(db_url, tmp_path)


@pytest.fixture
def pg_setup(postgres_url: str, tmp_path: Path) -> Iterator[Setup]:
    """PostgreSQL only: the property it serves cannot arise on SQLite, where one writer at
    a time makes seq order commit order."""
    yield from _make_setup(postgres_url, tmp_path)


def _make_setup(db_url: str, tmp_path: Path) -> Iterator[Setup]:
    engine = make_engine(db_url)
    upgrade(engine)
    keys = KeyStore(tmp_path / "keys")
    flow = Context(uow_factory(engine), parties.with_roots(niger(), SIGNERS), PinnedClock(NOW))
    log = AuditLog(uow_factory(engine), ORIGIN, keys.instance_key())
    try:
        yield Setup(db_url, engine, keys, flow, log)
    finally:
        engine.dispose()


def new_kinds(s: Setup, action: Callable[[], object]) -> list[str]:
    before = len(s.kinds())
    action()
    return s.kinds()[before:]


def story(s: Setup) -> str:
    """Scenario, principals, a request decided by two authorities; integrated."""
    s.load_scenario()
    for p in (PLANNER, member("US.DoD"), member("US.State")):
        handlers.add_principal(s.flow, p.name, operator=p.operator, authority=p.authority)
    rid = handlers.submit(s.flow, PLANNER, document("05")).record.id
    s.decide(rid, "US.DoD", "fine")
    s.decide(rid, "US.State", "agreed")
    s.log.integrate()
    return rid


# -- one entry per change, in the change's transaction ----------------------------------


def test_every_change_appends_exactly_one_entry_in_its_transaction(setup: Setup) -> None:
    s, flow = setup, setup.flow
    assert new_kinds(s, s.load_scenario)[0] == "scenario.loaded"
    assert new_kinds(s, lambda: handlers.add_principal(flow, "planner", operator="US.AFRICOM")) == [
        "principal.added"
    ]
    handlers.add_principal(flow, "fr-planner", operator="FR.Barkhane")
    for a in ("US.DoD", "US.State", "NE.Defense"):
        handlers.add_principal(flow, f"{a}-member", authority=a)

    rid = ""

    def submit() -> None:
        nonlocal rid
        rid = handlers.submit(flow, PLANNER, document("05")).record.id

    assert new_kinds(s, submit) == ["request.submitted"]
    decide = lambda: s.decide(rid, "US.DoD")  # noqa: E731
    assert new_kinds(s, decide) == ["request.decided"]
    amended = dict(document("05"), justification="new words")
    assert new_kinds(s, lambda: handlers.amend(flow, PLANNER, rid, amended, 2)) == [
        "request.amended"
    ]
    assert new_kinds(s, lambda: handlers.withdraw(flow, PLANNER, rid)) == ["request.withdrawn"]

    late = handlers.submit(flow, PLANNER, document("05")).record
    s.flow.clock = PinnedClock(late.time_start + timedelta(seconds=1))
    assert new_kinds(s, partial(handlers.expire_due, flow)) == ["request.expired"]

    s.flow.clock = PinnedClock(NOW)
    french = handlers.submit(flow, FR_PLANNER, document("06")).record.id
    revoke = lambda: handlers.revoke_grant(flow, member("NE.Defense"), "ne-fr-isr-armed")  # noqa: E731
    assert new_kinds(s, revoke) == ["grant.revoked", "request.grant_revoked"]

    # every request event in the database has its entry, with the same version and kind
    with s.engine.connect() as c:
        events = c.execute(sa.text("SELECT request_id, version, kind FROM request_events")).all()
        entries = c.execute(sa.text("SELECT data FROM audit_entries")).all()
    logged = {
        (d["request_id"], d["version"], d["kind"].removeprefix("request."))
        for d in (json.loads(bytes(row.data)) for row in entries)
        if d["kind"].startswith("request.")
    }
    assert {tuple(e) for e in events} == logged
    assert french in {d[0] for d in logged}

    # a signed decision carries the statement's fields and its signature in the log
    decided = [
        json.loads(bytes(row.data))
        for row in entries
        if json.loads(bytes(row.data))["kind"] == "request.decided"
    ]
    (entry,) = decided
    assert entry["detail"]["signature"]
    assert entry["detail"]["document_digest"] == entry["document_digest"]
    assert s.log.verify().ok, s.log.verify().problem


def test_a_rolled_back_change_appends_nothing(setup: Setup) -> None:
    s = setup
    handlers.add_principal(s.flow, "planner", operator="US.AFRICOM")
    before = s.kinds()
    with s.uow() as uow:
        uow.scenarios.save({"a": b"b"}, NOW)
        uow.grants.revoke("ne-fr-isr-armed", "x", NOW)
        uow.principals.add(Principal("p", operator="US.AFRICOM"), "digest")
        uow.audit.append("conformance", {"request_id": "req-1", "conforming": True})
        assert s.kinds() == before  # not committed: invisible to others
        # leaving without commit rolls back
    assert s.kinds() == before
    # a change that fails half-way (the grant is already revoked) leaves no entry either
    handlers.revoke_grant(s.flow, member("NE.Defense"), "ne-fr-isr-armed")
    after_revoke = s.kinds()
    with pytest.raises(Exception, match="already revoked"):
        handlers.revoke_grant(s.flow, member("NE.Defense"), "ne-fr-isr-armed")
    assert s.kinds() == after_revoke


# -- integration --------------------------------------------------------------------------


def test_integration_numbers_entries_in_order_under_signed_checkpoints(setup: Setup) -> None:
    s = setup
    rid = story(s)
    with s.uow() as uow:
        entries = uow.audit.entries(0, 10_000)
        assert not uow.audit.has_pending()
        checkpoint = uow.audit.latest_checkpoint()
        head = uow.audit.head()
    assert [e.index for e in entries] == list(range(len(entries)))
    assert [e.seq for e in entries] == sorted(e.seq for e in entries)
    leaves = [merkle.leaf_hash(e.data) for e in entries]
    assert [e.leaf_hash for e in entries] == leaves
    assert checkpoint is not None
    assert (checkpoint.size, checkpoint.root) == (len(entries), merkle.root_hash(leaves))
    assert (head.size, head.root) == (checkpoint.size, checkpoint.root)
    body = open_checkpoint(checkpoint.note, ORIGIN, s.log.public_key, origin=ORIGIN)
    assert (body.size, body.root) == (checkpoint.size, checkpoint.root)
    assert any(e.request_id == rid for e in entries)

    # integrating again with nothing new signs nothing new; new entries extend the tree
    assert s.log.integrate() == checkpoint
    handlers.withdraw(s.flow, PLANNER, rid)
    later = s.log.integrate()
    assert later.size == checkpoint.size + 1
    with s.uow() as uow:
        assert [c.size for c in uow.audit.checkpoints()] == [checkpoint.size, later.size]
        proof = uow.audit.consistency_proof(checkpoint.size, later.size)
    merkle.verify_consistency(checkpoint.size, later.size, proof, checkpoint.root, later.root)
    assert s.log.verify().ok


def fill(s: Setup, count: int, per_transaction: int = 50) -> None:
    for start in range(0, count, per_transaction):
        with s.uow() as uow:
            for i in range(start, min(count, start + per_transaction)):
                uow.audit.append("test", {"n": i, "pad": "x" * (i % 7)})
            uow.commit()


def test_proofs_served_from_tiles_verify_across_tile_boundaries(setup: Setup) -> None:
    s = setup
    s.log.batch = 97  # several checkpoints, none on a tile boundary
    fill(s, 300)
    s.log.integrate()
    fill(s, 290)
    s.log.integrate()
    with s.uow() as uow:
        leaves = [e.leaf_hash for e in uow.audit.entries(0, 10_000)]
        sizes = [c.size for c in uow.audit.checkpoints()]
        roots = {c.size: c.root for c in uow.audit.checkpoints()}
        n = len(leaves)
        assert n == sizes[-1] == 590
        assert len(sizes) >= 7
        assert uow.audit.tree_leaves(0, n) == leaves
        for size in {*sizes, 1, 2, 255, 256, 257, 511, 512, 513}:
            assert uow.audit.root(size) == merkle.root_hash(leaves[:size])
            assert size not in roots or roots[size] == merkle.root_hash(leaves[:size])
            for index in {i for i in (0, 1, size // 2, size - 2, size - 1) if 0 <= i < size}:
                tree_leaf, proof = uow.audit.inclusion_proof(index, size)
                assert tree_leaf == leaves[index]
                assert proof == merkle.inclusion_proof_for(index, leaves[:size])
                merkle.verify_inclusion(tree_leaf, index, size, proof, roots.get(size) or
                                        merkle.root_hash(leaves[:size]))  # fmt: skip
        for size1 in (1, 3, 97, 256, 300, 589):
            for size2 in {size1, *[z for z in sizes if z >= size1], 512}:
                if size2 < size1:
                    continue
                proof = uow.audit.consistency_proof(size1, size2)
                assert proof == merkle.consistency_proof_for(size1, size2, leaves)
                merkle.verify_consistency(
                    size1, size2, proof, merkle.root_hash(leaves[:size1]),
                    merkle.root_hash(leaves[:size2]),
                )  # fmt: skip
        with pytest.raises(ValueError, match="stored tree"):
            uow.audit.inclusion_proof(0, n + 1)
    entry = s.log.entry(300, size=400)
    merkle.verify_inclusion(entry.leaf_hash, 300, 400, entry.proof, entry.root)
    assert entry.root == merkle.root_hash(leaves[:400])


def test_entries_committed_out_of_seq_order_join_the_log_in_commit_order(
    pg_setup: Setup,
) -> None:
    s = pg_setup
    s.log.integrate()
    first, second = s.uow(), s.uow()
    first.audit.append("test", {"who": "first"})  # takes the lower seq ...
    second.audit.append("test", {"who": "second"})
    second.commit()  # ... but commits last
    s.log.integrate()
    first.commit()
    first.close()
    second.close()
    s.log.integrate()
    with s.uow() as uow:
        logged = [json.loads(e.data)["who"] for e in uow.audit.entries(0, 10)]
        seqs = [e.seq for e in uow.audit.entries(0, 10)]
    assert logged == ["second", "first"]
    assert seqs[0] > seqs[1]
    assert s.log.verify().ok


def test_concurrent_integrations_never_number_an_entry_twice(setup: Setup) -> None:
    s = setup
    s.log.batch = 7
    fill(s, 120, per_transaction=10)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            s.log.integrate()
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with s.uow() as uow:
        entries = uow.audit.entries(0, 1000)
    assert [e.index for e in entries] == list(range(120))
    assert s.log.verify().ok


# -- tampering ----------------------------------------------------------------------------


def index_of(s: Setup, kind: str) -> int:
    with s.engine.connect() as c:
        found = c.execute(
            sa.text("SELECT min(log_index) FROM audit_entries WHERE kind = :k"), {"k": kind}
        ).scalar()
    assert found is not None
    return int(found)


def data_at(s: Setup, index: int) -> bytes:
    with s.engine.connect() as c:
        return bytes(
            c.execute(
                sa.text("SELECT data FROM audit_entries WHERE log_index = :i"), {"i": index}
            ).scalar_one()
        )


def flip_one_byte(data: bytes) -> bytes:
    position = data.index(b'"approve"') + 2  # in clear (the comment is sealed)
    return data[:position] + b"F" + data[position + 1 :]


def change_one_byte(s: Setup, rid: str) -> str:
    k = index_of(s, "request.decided")
    s.sql(
        "UPDATE audit_entries SET data = :d WHERE log_index = :i",
        d=flip_one_byte(data_at(s, k)),
        i=k,
    )
    return f"log index {k} "


def change_byte_and_leaf_hash(s: Setup, rid: str) -> str:
    k = index_of(s, "request.decided")
    changed = flip_one_byte(data_at(s, k))
    s.sql(
        "UPDATE audit_entries SET data = :d, leaf_hash = :h WHERE log_index = :i",
        d=changed,
        h=merkle.leaf_hash(changed),
        i=k,
    )
    return f"log index {k} (request.decided, {rid})"


def delete_a_row(s: Setup, rid: str) -> str:
    k = index_of(s, "request.submitted")
    s.sql("DELETE FROM audit_entries WHERE log_index = :i", i=k)
    return f"log index {k}: missing"


def swap_two_rows(s: Setup, rid: str) -> str:
    k = index_of(s, "request.submitted")
    s.sql("UPDATE audit_entries SET log_index = -1 WHERE log_index = :i", i=k)
    s.sql("UPDATE audit_entries SET log_index = :i WHERE log_index = :j", i=k, j=k + 1)
    s.sql("UPDATE audit_entries SET log_index = :j WHERE log_index = -1", j=k + 1)
    return f"log index {k} "


def replace_a_signature(s: Setup, rid: str) -> str:
    with s.engine.connect() as c:
        other = c.execute(
            sa.text("SELECT signature FROM approvals WHERE authority = 'US.State'")
        ).scalar_one()
    s.sql("UPDATE approvals SET signature = :s WHERE authority = 'US.DoD'", s=other)
    return f"request {rid}: US.DoD's decision: its signature is not the one the log recorded"


def change_a_decision(s: Setup, rid: str) -> str:
    """The decision stored is no longer the one its authority signed."""
    s.sql("UPDATE approvals SET comment = 'never said' WHERE authority = 'US.DoD'")
    return f"request {rid}: US.DoD's decision: the decision signature does not verify"


def unname_a_decision(s: Setup, rid: str) -> str:
    """A member's approval made to look like no one's is still checked against the log."""
    s.sql("UPDATE approvals SET decided_by = NULL WHERE authority = 'US.DoD'")
    return f"request {rid}: US.DoD's decision: US.DoD's approval has no decision to sign"


def widen_a_document(s: Setup, rid: str) -> str:
    """A radius widened from 30 to 90 km on a request with two signed approvals."""
    r = t.requests.c
    with s.engine.begin() as c:
        document = c.execute(sa.select(r.document).where(r.id == rid)).scalar_one()
        document["volumes"][0]["volume"]["outline_circle"]["radius"]["value"] *= 3
        c.execute(t.requests.update().where(r.id == rid).values(document=document))
    return f"request {rid}: its document in the database"


def change_a_state(s: Setup, rid: str) -> str:
    s.sql("UPDATE requests SET state = 'cleared' WHERE id = :rid", rid=rid)
    return (
        f"request {rid}: its state in the database (cleared) is not what the log records (pending"
    )


TAMPERING = [
    change_one_byte,
    change_byte_and_leaf_hash,
    delete_a_row,
    swap_two_rows,
    replace_a_signature,
    change_a_decision,
    unname_a_decision,
    widen_a_document,
    change_a_state,
]


@pytest.mark.parametrize("tamper", TAMPERING, ids=lambda f: f.__name__)
def test_audit_verify_names_the_first_bad_entry(
    setup: Setup, tamper: Callable[[Setup, str], str]
) -> None:
    s = setup
    rid = story(s)
    assert s.log.verify().ok
    expected = tamper(s, rid)
    verified = s.log.verify()
    assert not verified.ok
    assert expected in "\n".join(verified.problems), verified.problems


def test_a_denial_by_policy_is_no_decision_to_find_in_the_log(setup: Setup) -> None:
    """03 (armed from Niamey) is denied by US.DoD's forbid policy, not by a person: there
    is no signed decision to look for, and the intact log verifies."""
    s = setup
    story(s)
    record = handlers.submit(s.flow, PLANNER, document("03")).record
    assert any(a.status.value == "denied" and a.by is None for a in record.approvals)
    s.log.integrate()
    verified = s.log.verify()
    assert verified.ok, verified.problem
    assert verified.decisions == 2


def test_a_replaced_checkpoint_signature_or_root_is_caught(setup: Setup) -> None:
    s = setup
    story(s)
    other = KeyStore(s.keys.directory.parent / "other").instance_key()
    fake = AuditLog(s.log.uow, ORIGIN, other)
    with s.engine.connect() as c:
        size = c.execute(sa.text("SELECT max(size) FROM audit_checkpoints")).scalar_one()
    root = merkle.root_hash([b"\x00" * 32])
    note = sign_note(format_checkpoint(ORIGIN, size, root), ORIGIN, other)
    s.sql("UPDATE audit_checkpoints SET note = :n WHERE size = :z", n=note, z=size)
    problem = s.log.verify().problem or ""
    assert f"checkpoint of size {size}" in problem
    assert "does not verify" in problem or "no signature" in problem
    assert fake.verify().problem  # and a verifier holding another key trusts nothing


def run_cli(
    s: Setup, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {
        **{k: v for k, v in os.environ.items() if k != "CLEARANCE_DEBUG"},
        "CLEARANCE_DATABASE_URL": s.url,
        "CLEARANCE_KEY_DIR": str(s.keys.directory),
        "CLEARANCE_LOG_ORIGIN": ORIGIN,
        **(env or {}),
    }
    return subprocess.run(
        [sys.executable, "-m", "clearance.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
        cwd=ROOT,
    )


def test_the_cli_verifies_exports_and_fails_on_tampering(setup: Setup, tmp_path: Path) -> None:
    s = setup
    rid = story(s)
    done = run_cli(s, "audit", "verify")
    assert done.returncode == 0, done.stderr
    assert "audit log intact" in done.stdout
    assert "2 signed decisions" in done.stdout

    exported = tmp_path / "export"
    done = run_cli(s, "audit", "export", str(exported))
    assert done.returncode == 0, done.stderr
    vkey = s.log.vkey
    done = run_cli(s, "audit", "verify-export", str(exported), "--vkey", vkey)
    assert done.returncode == 0, done.stderr
    assert "2 signed decisions" in done.stdout

    proof = run_cli(s, "audit", "proof", "2")
    assert proof.returncode == 0, proof.stderr
    shown = json.loads(proof.stdout)
    merkle.verify_inclusion(
        base64.b64decode(shown["leaf_hash"]),
        2,
        shown["tree_size"],
        [base64.b64decode(h) for h in shown["inclusion_proof"]],
        base64.b64decode(shown["root"]),
    )

    change_one_byte(s, rid)
    done = run_cli(s, "audit", "verify")
    assert done.returncode == 1
    assert done.stderr.startswith("audit log: FAILED: log index ")
    assert len(done.stderr.strip().splitlines()) == 1


# -- export -------------------------------------------------------------------------------


def export(s: Setup, directory: Path) -> None:
    checkpoint = s.log.integrate()
    write_export(directory, s.log.pages(), checkpoint, s.log.public_keys())


def verify_export(directory: Path, log_key: bytes) -> int:
    copy = read_export(directory)
    return verify_log(copy.entries(), copy.note, ORIGIN, log_key).size


def rewrite_line(path: Path, number: int, change: Callable[[dict[str, Any]], None]) -> None:
    lines = path.read_text().splitlines()
    value = json.loads(lines[number])
    change(value)
    lines[number] = json.dumps(value)
    path.write_text("\n".join(lines) + "\n")


def test_an_export_verifies_offline_and_tampered_copies_fail(setup: Setup, tmp_path: Path) -> None:
    s = setup
    story(s)
    directory = tmp_path / "copy"
    export(s, directory)
    keys = json.loads((directory / "keys.json").read_text())
    assert keys["log"]["vkey"] == s.log.vkey
    assert set(keys["roots"]) == set(SIGNERS)  # the root keys; no key the server holds
    assert "authorities" not in keys
    size = verify_export(directory, s.log.public_key)
    assert size == len((directory / "entries.jsonl").read_text().splitlines())

    original = (directory / "entries.jsonl").read_text()

    def one_byte(value: dict[str, Any]) -> None:
        data = bytearray(base64.b64decode(value["data"]))
        data[-3] ^= 1  # inside a value: still a valid entry
        value["data"] = base64.b64encode(bytes(data)).decode()

    def with_hash(value: dict[str, Any]) -> None:
        one_byte(value)
        value["leaf_hash"] = base64.b64encode(
            merkle.leaf_hash(base64.b64decode(value["data"]))
        ).decode()

    changes = ((3, one_byte, "log index 3: "), (0, with_hash, "checkpoint's root"))
    for line, change, expected in changes:
        rewrite_line(directory / "entries.jsonl", line, change)
        with pytest.raises(AuditError, match=expected):
            verify_export(directory, s.log.public_key)
        (directory / "entries.jsonl").write_text(original)

    lines = original.splitlines()
    (directory / "entries.jsonl").write_text("\n".join(lines[:2] + lines[3:]) + "\n")
    with pytest.raises(AuditError, match="log index 2: entries are missing"):
        verify_export(directory, s.log.public_key)
    (directory / "entries.jsonl").write_text(original)

    stranger = KeyStore(tmp_path / "stranger").instance_key()
    with pytest.raises(AuditError, match="checkpoint"):
        verify_export(directory, raw_public(stranger))
    assert verify_export(directory, s.log.public_key) == size


def test_audit_verify_passes_with_every_example_stored_policy_denials_included(
    setup: Setup,
) -> None:
    """Examples 03, 04, 08, 09 and 11 have steps a Cedar policy denied: no person decided
    them and nothing signed them, so they are not checked as signed decisions."""
    s = setup
    s.load_scenario()
    operators: dict[str, Principal] = {}
    for path in sorted((ROOT / "examples" / "niger" / "requests").glob("*.yaml")):
        doc = document(path.name[:2])
        principal = operators.get(doc["operator"])
        if principal is None:
            principal = Principal(f"planner-{len(operators)}", operator=doc["operator"])
            handlers.add_principal(s.flow, principal.name, operator=principal.operator)
            operators[doc["operator"]] = principal
        handlers.submit(s.flow, principal, doc)
    states = {r.state.value for r in queries.list_requests(s.flow, member("US.DoD"))} | {
        r.state.value for r in queries.list_requests(s.flow, FR_PLANNER)
    }
    assert "denied" in states
    s.log.integrate()
    verified = s.log.verify()
    assert verified.ok, verified.problem
