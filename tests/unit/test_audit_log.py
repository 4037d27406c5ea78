"""The audit log's service on in-memory fakes, signed decisions, and the key store."""

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
from clearance.domain.ledger import merkle
from clearance.domain.ledger.audit import AuditError, verify_log
from clearance.domain.ledger.signatures import (
    DecisionSignatureError,
    decision_statement,
    document_digest,
    verify_statement,
)
from clearance.service.audit import AuditLog
from clearance.service.memory import MemoryStore, MemoryUnitOfWork
from clearance.service.ports import PinnedClock
from clearance.service.workflow import Workflow
from tests.unit.fakes import circle, make_scenario, request_doc

OPS = Principal("planner", operator="A.Ops")
CMD = Principal("cmd-officer", authority="A.Command")
ORIGIN = "unit.test/log"


@pytest.fixture
def keys(tmp_path: Path) -> KeyStore:
    return KeyStore(tmp_path / "keys")


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def flow(store: MemoryStore, keys: KeyStore) -> Workflow:
    return Workflow(
        lambda: MemoryUnitOfWork(store),
        make_scenario(),
        PinnedClock(datetime(2020, 5, 1, tzinfo=UTC)),
        keys,
    )


@pytest.fixture
def log(store: MemoryStore, keys: KeyStore) -> AuditLog:
    return AuditLog(lambda: MemoryUnitOfWork(store), ORIGIN, keys.instance_key())


def decided(flow: Workflow) -> str:
    doc = request_doc(circle(5, 5), payload="armed", purpose="overwatch")
    rid = flow.submit(OPS, doc).record.id
    flow.decide(CMD, rid, "A.Command", Decision.APPROVE, "fine")
    return rid


def test_a_decision_is_signed_by_its_authority_over_the_request_version(
    flow: Workflow, keys: KeyStore
) -> None:
    rid = decided(flow)
    record, events = flow.inspect(rid)
    step = record.approval("A.Command")
    statement = decision_statement(rid, 2, document_digest(record.document), step)
    assert statement["decision"] == "approve"
    assert statement["at"] == "2020-05-01T00:00:00Z"
    verify_statement(keys.public_key("A.Command"), statement, step.signature)
    assert events[-1].detail["signature"] == step.signature
    with pytest.raises(DecisionSignatureError):
        verify_statement(keys.public_key("A.Command"), statement | {"version": 3}, step.signature)
    with pytest.raises(DecisionSignatureError, match="not signed"):
        verify_statement(keys.public_key("A.Command"), statement, "")


def test_the_log_integrates_verifies_and_catches_a_changed_approval(
    flow: Workflow, log: AuditLog, store: MemoryStore
) -> None:
    rid = decided(flow)
    checkpoint = log.integrate()
    leaves = [e.leaf_hash for e in store.audit]
    assert checkpoint.size == len(leaves) == 3  # key, submitted, decided
    assert checkpoint.root == merkle.root_hash(leaves)
    assert log.verify().ok, log.verify().problem
    entry = log.entry(2)
    merkle.verify_inclusion(entry.leaf_hash, 2, checkpoint.size, entry.proof, checkpoint.root)

    record = store.requests[rid]
    saved = copy.deepcopy(record)
    record.approvals = [replace(a, comment="nope") for a in record.approvals]
    problems = "\n".join(log.verify().problems)
    assert "A.Command's approval: its comment in the database (nope)" in problems
    assert "A.Command's decision: the decision signature does not verify" in problems
    store.requests[rid] = saved
    assert log.verify().ok


def test_an_offline_copy_needs_the_right_log_key(
    flow: Workflow, log: AuditLog, tmp_path: Path
) -> None:
    decided(flow)
    checkpoint = log.integrate()
    entries = [(e.index or 0, e.data, e.leaf_hash) for page in log.pages() for e in page]
    summary = verify_log(entries, checkpoint.note, ORIGIN, log.public_key)
    assert (summary.size, summary.decisions) == (3, 1)
    with pytest.raises(AuditError, match="beyond the signed checkpoint"):
        verify_log([*entries, (3, b'{"kind":"x"}', None)], checkpoint.note, ORIGIN, log.public_key)
    with pytest.raises(AuditError, match="log index 1: entries are missing"):
        verify_log(entries[:1] + entries[2:], checkpoint.note, ORIGIN, log.public_key)
    other = KeyStore(tmp_path / "other")
    with pytest.raises(AuditError, match="checkpoint: "):
        verify_log(entries, checkpoint.note, ORIGIN, other.public_key("x"))


def test_keys_are_private_files_created_once(keys: KeyStore) -> None:
    found: list[bytes] = []

    def make() -> None:
        found.append(KeyStore(keys.directory).public_key("A/B C"))

    threads = [threading.Thread(target=make) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(found)) == 1
    path = keys.authority_path("A/B C")
    assert path.parent == keys.directory / "authorities"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(keys.directory.stat().st_mode) == 0o700
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary left
    assert keys.public_keys()["authorities"] == {"A/B C": found[0]}
    assert keys.public_keys()["instance"] is None
    keys.instance_key()
    assert stat.S_IMODE(keys.instance_path().stat().st_mode) == 0o600
