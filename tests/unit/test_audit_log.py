"""The audit log's service on in-memory fakes, decisions signed by their members (and
unsigned ones of authorities that keep no root key), and the log's key store."""

from __future__ import annotations

import copy
import stat
import threading
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from clearance.adapters.keys import KeyStore
from clearance.domain.clearance.model import Principal
from clearance.domain.clearance.workflow import Decision
from clearance.domain.ledger import audit, members, merkle
from clearance.domain.ledger.audit import AuditError, verify_log
from clearance.domain.ledger.audit import parse_entry as audit_entry
from clearance.domain.ledger.checkpoint import raw_public
from clearance.domain.ledger.disclosure import open_entry
from clearance.domain.ledger.replay import Replay, ReplayError
from clearance.domain.ledger.signatures import (
    DecisionSignatureError,
    decision_statement,
    document_digest,
    sign_statement,
    statement_from_event,
    verify_statement,
)
from clearance.service import handlers, queries
from clearance.service.audit import AuditLog
from clearance.service.context import Context
from clearance.service.memory import MemoryStore, MemoryUnitOfWork
from clearance.service.ports import PinnedClock
from tests import parties
from tests.unit.fakes import circle, make_scenario, request_doc

OPS = Principal("planner", operator="A.Ops")
CMD = Principal("cmd-officer", authority="A.Command")
FOREIGN = Principal("foreign-officer", authority="A.Foreign")
ORIGIN = "unit.test/log"
NOW = datetime(2020, 5, 1, tzinfo=UTC)


@pytest.fixture
def keys(tmp_path: Path) -> KeyStore:
    return KeyStore(tmp_path / "keys")


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def flow(store: MemoryStore) -> Context:
    """A.Command keeps a root key (tests/parties.py: the test holds it, as the authority
    would), logged as a scenario load logs it; the others name none."""
    ctx = Context(
        lambda: MemoryUnitOfWork(store),
        parties.with_roots(make_scenario(), ["A.Command"]),
        PinnedClock(NOW),
    )
    parties.record_roots(ctx, ["A.Command"])
    parties.enroll(ctx, "A.Command", CMD.name)
    return ctx


@pytest.fixture
def log(store: MemoryStore, keys: KeyStore) -> AuditLog:
    return AuditLog(lambda: MemoryUnitOfWork(store), ORIGIN, keys.instance_key())


def decided(flow: Context) -> str:
    """A request A.Command's member approves, signing with their own enrolled key."""
    doc = request_doc(circle(5, 5), payload="armed", purpose="overwatch")
    rid = handlers.submit(flow, OPS, doc).record.id
    seen, _ = queries.get(flow, CMD, rid)
    _, signed = parties.signed_decision(seen, "A.Command", CMD.name, NOW, "approve", "fine")
    handlers.decide(flow, CMD, rid, "A.Command", Decision.APPROVE, "fine", signed=signed)
    return rid


def test_a_decision_is_signed_by_its_member_over_the_request_version(flow: Context) -> None:
    rid = decided(flow)
    record, events = queries.inspect(flow, rid)
    step = record.approval("A.Command")
    statement = decision_statement(rid, 2, document_digest(record.document), step)
    assert statement["decision"] == "approve"
    assert statement["at"] == "2020-05-01T00:00:00Z"
    key = raw_public(parties.member_key("A.Command", CMD.name))
    verify_statement(key, statement, step.signature)
    assert events[-1].detail["signature"] == step.signature
    with pytest.raises(DecisionSignatureError):
        verify_statement(key, statement | {"version": 3}, step.signature)
    with pytest.raises(DecisionSignatureError, match="not signed"):
        verify_statement(key, statement, "")


def test_a_keyless_authoritys_decision_is_recorded_unsigned_and_reported_not_failed(
    flow: Context, log: AuditLog, store: MemoryStore
) -> None:
    """A.Foreign names no root key: the server holds no key of its own to sign with, so its
    decision is recorded unsigned, and every verifier counts it by authority, exit 0."""
    rid = decided(flow)  # A.Command's, signed by its member
    handlers.decide(flow, FOREIGN, rid, "A.Foreign", Decision.APPROVE, "ok")
    step = queries.inspect(flow, rid)[0].approval("A.Foreign")
    assert step.signature == ""
    checkpoint = log.integrate()
    verified = log.verify()
    assert verified.ok, verified.problems
    assert (verified.decisions, verified.signed) == (2, 1)
    assert dict(verified.unsigned) == {"A.Foreign": 1}
    entries = [(e.index or 0, e.data, e.leaf_hash) for page in log.pages() for e in page]
    summary = verify_log(entries, checkpoint.note, ORIGIN, log.public_key)
    assert dict(summary.unsigned) == {"A.Foreign": 1}
    assert audit.unsigned_summary(summary.unsigned) == (
        "1 decision unsigned: A.Foreign names no root key (recorded, but the authority's "
        "consent is not proven)"
    )
    # the stored approval made to look signed is caught against the log
    store.requests[rid].approvals = [
        replace(a, signature="c2lnbmVk") if a.authority == "A.Foreign" else a
        for a in store.requests[rid].approvals
    ]
    problems = "\n".join(log.verify().problems)
    assert "A.Foreign's decision: its signature is not the one the log recorded" in problems


def test_an_unsigned_decision_of_an_authority_whose_root_key_is_logged_is_refused() -> None:
    """The verifiers' key ring: once an authority's root key is in the log, its decisions
    must carry its member's signature; a member's signature changed is detected."""
    ring = audit.KeyRing()
    unsigned = {"kind": "request.decided", "detail": {"authority": "A.Command"}}
    assert ring.check_decision(unsigned) is None
    assert ring.unsigned == {"A.Command": 1}
    root = raw_public(parties.root_key("A.Command"))
    ring.learn(audit.key_fields(audit.ROOT_ROLE, "A.Command", root))
    with pytest.raises(DecisionSignatureError, match="not signed, though its root key"):
        ring.check_decision(unsigned)


def test_a_tampered_member_signature_is_detected(
    flow: Context, log: AuditLog, store: MemoryStore
) -> None:
    """A member's signature replaced (by one another key made over the same statement) is
    caught in the log's entry by the key ring, and in the tables by audit verify."""
    rid = decided(flow)
    log.integrate()
    disclosed = {c: d for c, (_, d) in store.disclosures.items()}
    entries = [open_entry(audit_entry(e.data), disclosed).entry for e in store.audit]
    ring = audit.KeyRing()
    for entry in entries[:-1]:
        if entry["kind"] == audit.KEY:
            ring.learn(entry)
        elif entry["kind"] in members.KINDS:
            ring.learn_member(entry)
    decision = entries[-1]
    assert decision["kind"] == "request.decided"
    forged = sign_statement(
        parties.member_key("A.Command", "someone else"), statement_from_event(decision)
    )
    tampered = decision | {"detail": decision["detail"] | {"signature": forged}}
    with pytest.raises(DecisionSignatureError, match=r"A\.Command's decision"):
        audit.KeyRing(dict(ring.keys), dict(ring.members)).check_decision(tampered)
    assert ring.check_decision(decision) == raw_public(parties.member_key("A.Command", CMD.name))

    store.requests[rid].approvals = [
        replace(a, signature=forged) if a.authority == "A.Command" else a
        for a in store.requests[rid].approvals
    ]
    problems = "\n".join(log.verify().problems)
    assert "A.Command's decision: its signature is not the one the log recorded" in problems


def test_the_log_integrates_verifies_and_catches_a_changed_approval(
    flow: Context, log: AuditLog, store: MemoryStore
) -> None:
    rid = decided(flow)
    checkpoint = log.integrate()
    leaves = [e.leaf_hash for e in store.audit]
    assert checkpoint.size == len(leaves) == 4  # root key, enrollment, submitted, decided
    assert checkpoint.root == merkle.root_hash(leaves)
    assert log.verify().ok, log.verify().problem
    entry = log.entry(3)
    merkle.verify_inclusion(entry.leaf_hash, 3, checkpoint.size, entry.proof, checkpoint.root)

    record = store.requests[rid]
    saved = copy.deepcopy(record)
    record.approvals = [replace(a, comment="nope") for a in record.approvals]
    problems = "\n".join(log.verify().problems)
    assert "A.Command's approval: its comment in the database (nope)" in problems
    assert "A.Command's decision: the decision signature does not verify" in problems
    store.requests[rid] = saved
    assert log.verify().ok


def test_an_offline_copy_needs_the_right_log_key(
    flow: Context, log: AuditLog, tmp_path: Path
) -> None:
    decided(flow)
    checkpoint = log.integrate()
    entries = [(e.index or 0, e.data, e.leaf_hash) for page in log.pages() for e in page]
    summary = verify_log(entries, checkpoint.note, ORIGIN, log.public_key)
    assert (summary.size, summary.decisions, dict(summary.unsigned)) == (4, 1, {})
    with pytest.raises(AuditError, match="beyond the signed checkpoint"):
        verify_log([*entries, (4, b'{"kind":"x"}', None)], checkpoint.note, ORIGIN, log.public_key)
    with pytest.raises(AuditError, match="log index 1: entries are missing"):
        verify_log(entries[:1] + entries[2:], checkpoint.note, ORIGIN, log.public_key)
    other = KeyStore(tmp_path / "other")
    with pytest.raises(AuditError, match="checkpoint: "):
        verify_log(entries, checkpoint.note, ORIGIN, raw_public(other.instance_key()))


def test_the_log_key_is_a_private_file_created_once_and_no_other_key_is_kept(
    keys: KeyStore,
) -> None:
    found: list[bytes] = []

    def make() -> None:
        found.append(raw_public(KeyStore(keys.directory).instance_key()))

    threads = [threading.Thread(target=make) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(found)) == 1
    path = keys.instance_path()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(keys.directory.stat().st_mode) == 0o700
    # no temporary left, and no authority's key: the server holds none
    assert [p.name for p in keys.directory.iterdir()] == ["instance.pem"]
    assert not hasattr(keys, "authority_key")


# -- replaying the log --------------------------------------------------------------------


def test_entries_from_before_approvals_were_logged_still_verify_by_signature(
    flow: Context, log: AuditLog, store: MemoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A log written before request entries carried their approvals: version, state,
    document and signatures are still checked; the approvals themselves cannot be
    replayed, and the verdict counts such requests."""
    current = audit.record_entries

    def without_approvals(record: object) -> list[tuple[str, dict[str, object]]]:
        found = current(record)  # type: ignore[arg-type]
        return [(kind, {k: v for k, v in f.items() if k != "approvals"}) for kind, f in found]

    monkeypatch.setattr(audit, "record_entries", without_approvals)
    rid = decided(flow)
    monkeypatch.undo()
    newer = handlers.submit(flow, OPS, request_doc(circle(6, 6))).record.id
    log.integrate()
    verified = log.verify()
    assert verified.ok, verified.problems
    assert (verified.requests, verified.unreplayed) == (2, 1)

    record = store.requests[rid]
    record.approvals = [replace(a, comment="nope") for a in record.approvals]
    problems = "\n".join(log.verify().problems)
    assert "A.Command's decision: the decision signature does not verify" in problems
    assert "its comment in the database" not in problems  # not logged: not replayed
    store.requests[newer].approvals = []
    assert "A.Command's approval is not in the database" in "\n".join(log.verify().problems)


def test_a_gap_in_a_requests_versions_is_named() -> None:
    replay = Replay("req-1")
    replay.apply({"kind": "request.submitted", "version": 1, "state": "pending"})
    with pytest.raises(
        ReplayError, match=r"request req-1: request.withdrawn has version 3 after version 1"
    ):
        replay.apply({"kind": "request.withdrawn", "version": 3, "state": "withdrawn"})
    with pytest.raises(ReplayError, match=r"its first entry is request\.decided at version 2"):
        Replay("req-2").apply({"kind": "request.decided", "version": 2, "detail": {}})


AUTO = {"authority": "A.Command", "status": "auto_approved", "policies": ["p"], "grant": None}


@pytest.mark.parametrize(
    ("approval", "message"),
    [
        (AUTO | {"policies": []}, "auto_approved by no policy"),
        (AUTO | {"status": "covered_by_grant"}, "covered_by_grant by no grant"),
        (AUTO | {"by": "someone"}, r"auto_approved but names a person \(someone\)"),
    ],
)
def test_an_automatic_step_must_name_what_gave_it(
    approval: dict[str, object], message: str
) -> None:
    entry = {"kind": "request.submitted", "version": 1, "approvals": [approval]}
    with pytest.raises(ReplayError, match=rf"req-1: A.Command's approval \(version 1\): {message}"):
        Replay("req-1").apply(entry)
    Replay("req-1").apply(entry | {"approvals": [AUTO]})


def test_a_signed_decision_must_be_the_approval_its_entry_records(
    flow: Context, store: MemoryStore
) -> None:
    """The approvals a decision's entry records are held to the signed statement in it."""
    rid = decided(flow)
    disclosed = {c: d for c, (_, d) in store.disclosures.items()}
    entries = [
        open_entry(audit_entry(e.data), disclosed).entry for e in store.audit if e.request_id == rid
    ]
    replay = Replay(rid)
    replay.apply(entries[0])
    decision = entries[1]
    approvals = [
        a | {"comment": "other"} if a["authority"] == "A.Command" else a
        for a in decision["approvals"]
    ]
    with pytest.raises(
        ReplayError,
        match=r"A.Command's approval \(version 2\): its comment \(other\) is not the signed decision's \(fine\)",
    ):
        replay.apply(decision | {"approvals": approvals})
    with pytest.raises(ReplayError, match=r"the entry's document \(0000\) is not the one signed"):
        replay.apply(decision | {"document_digest": "0000"})
    replay.apply(decision)
    assert replay.head["state"] == store.requests[rid].state.value
