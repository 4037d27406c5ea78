"""A party's monitor following a real log (the API over SQLite and PostgreSQL, read with
httpx through the ASGI app): the honest history verifies pass after pass; a rewritten
entry, a rollback, a split view and a decision signed by a key that is not enrolled are
each named, and the monitor's verified state does not advance past them."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from clearance.adapters.log_client import HttpLogClient, witness_checkpoints
from clearance.adapters.monitor_store import SqliteMonitorStore
from clearance.api import create_app
from clearance.domain.errors import AuditError
from clearance.domain.ledger.audit import parse_entry
from clearance.domain.ledger.checkpoint import format_checkpoint, sign_note
from clearance.domain.ledger.merkle import leaf_hash
from clearance.domain.ledger.policy import Policy, parse_policy
from clearance.domain.ledger.signatures import sign_statement, statement_from_event
from clearance.domain.ledger.witness import cosigner_vkey
from clearance.service import handlers
from clearance.service.monitor import read_gossip, run_pass
from tests.integration.test_audit import ORIGIN, Setup, _make_setup, story
from tests.integration.test_bundle import keyless_decision
from tests.integration.test_witnessed_log import Witnessed, forge, witnessed

__all__ = ["witnessed"]  # fixtures


@dataclass
class Followed:
    s: Setup
    client: HttpLogClient
    store: SqliteMonitorStore
    policy: Policy
    rid: str

    def run(self, gossip: list[str] | None = None) -> str:
        """One pass; its size, or the failure's message."""
        seen = [read_gossip(g, f"gossip {i}", self.policy) for i, g in enumerate(gossip or [])]
        try:
            return str(run_pass(self.client, self.store, self.policy, seen).size)
        except AuditError as e:
            return str(e)


@pytest.fixture
def followed(db_url: str, tmp_path: Path) -> Iterator[Followed]:
    for s in _make_setup(db_url, tmp_path):
        rid = story(s)
        token = handlers.add_principal(s.flow, "ne-monitor", authority="NE.Defense")
        policy = parse_policy(f"log {s.log.vkey}\nquorum none\n")
        app = create_app(s.flow, audit_log=s.log, integrate_seconds=None)
        with TestClient(app) as test_client:
            client = HttpLogClient("http://testserver", token, client=test_client)
            yield Followed(s, client, SqliteMonitorStore(tmp_path / "monitor"), policy, rid)


def size_of(f: Followed) -> int:
    return f.s.log.checkpoint().size


def index_of_decision(f: Followed) -> int:
    with f.s.engine.connect() as c:
        return int(
            c.execute(
                sa.text("SELECT min(log_index) FROM audit_entries WHERE kind = 'request.decided'")
            ).scalar_one()
        )


def test_the_honest_history_verifies_pass_after_pass_and_is_kept(followed: Followed) -> None:
    f = followed
    first = size_of(f)
    assert f.run() == str(first)
    handlers.add_principal(f.s.flow, "another", operator="US.AFRICOM")
    assert f.run() == str(first + 1)  # the principal.added entry
    verified = f.store.verified()
    assert verified is not None
    assert verified.size == size_of(f)
    assert [i for i, _ in f.store.entries()] == list(range(verified.size))
    assert (f.store.directory / "checkpoint").read_text() == verified.note
    assert f.run() == str(verified.size)  # nothing new: still consistent


def test_a_pass_counts_the_unsigned_decisions_by_authority_and_succeeds(
    followed: Followed,
) -> None:
    f = followed
    keyless = keyless_decision(f.s, f.rid)
    done = run_pass(f.client, f.store, f.policy)
    assert done.size == size_of(f)
    assert (done.decisions, done.signed, dict(done.unsigned)) == (3, 2, {keyless: 1})


def test_a_rewritten_entry_signed_into_a_new_checkpoint_is_named(followed: Followed) -> None:
    f = followed
    honest = size_of(f)
    assert f.run() == str(honest)
    index = index_of_decision(f)
    forge(f.s, "rewrite")
    f.s.log.integrate()  # the attacker signs the forged tree with the log key
    problem = f.run()
    assert problem.startswith(f"log index {index} (request.decided, {f.rid}): rewritten")
    assert "split view" in problem
    assert f"size {honest}" in problem
    # grown past it, the forged tree is not consistent with what the monitor verified
    handlers.add_principal(f.s.flow, "later", operator="US.AFRICOM")
    problem = f.run()
    assert problem.startswith(f"log index {index} (request.decided, {f.rid}): rewritten")
    assert "are not consistent" in problem
    verified = f.store.verified()
    assert verified is not None
    assert verified.size == honest


def test_a_rollback_is_named_with_both_checkpoints(followed: Followed) -> None:
    f = followed
    honest = size_of(f)
    assert f.run() == str(honest)
    forge(f.s, "rollback")
    f.s.log.integrate()
    problem = f.run()
    assert problem.startswith(f"rollback: checkpoint of size {honest - 1} ")
    assert f"smaller than the checkpoint of size {honest} " in problem


def test_a_split_view_from_another_party_names_both_checkpoints(followed: Followed) -> None:
    f = followed
    size = size_of(f)
    other_root = leaf_hash(b"another history")
    shown_elsewhere = sign_note(
        format_checkpoint(ORIGIN, size, other_root), ORIGIN, f.s.keys.instance_key()
    )
    problem = f.run(gossip=[shown_elsewhere])
    assert problem.startswith("split view: ")
    assert f"root {base64.b64encode(other_root).decode()}) from gossip 0" in problem
    assert "from http://testserver" in problem
    assert f.store.verified() is None
    assert {s.source for s in f.store.seen()} == {"http://testserver", "gossip 0"}


def test_a_decision_signed_by_a_key_not_enrolled_planted_in_the_log_is_named(
    followed: Followed,
) -> None:
    f = followed
    with f.s.engine.connect() as c:
        data = c.execute(
            sa.text("SELECT data FROM audit_entries WHERE kind = 'request.decided' LIMIT 1")
        ).scalar_one()
    entry = parse_entry(bytes(data))
    planted_key = Ed25519PrivateKey.generate()
    entry["version"] += 10
    entry["detail"]["key"] = base64.b64encode(planted_key.public_key().public_bytes_raw()).decode()
    entry["detail"]["signature"] = sign_statement(planted_key, statement_from_event(entry))
    fields = {k: v for k, v in entry.items() if k != "kind"}
    with f.s.uow() as uow:
        uow.audit.append("request.decided", fields)
        uow.commit()
    planted = size_of(f) - 1
    problem = f.run()
    assert problem.startswith(f"log index {planted} (request.decided, {f.rid}): ")
    assert "signed with a key not enrolled for them (or revoked)" in problem
    assert f.store.verified() is None


def test_a_checkpoint_without_the_policy_quorum_is_refused(followed: Followed) -> None:
    f = followed
    f.policy = parse_policy(
        f"log {f.s.log.vkey}\n"
        f"witness w {cosigner_vkey('witness.test/w', Ed25519PrivateKey.generate().public_key())}\n"
        "quorum w\n"
    )
    problem = f.run()
    assert problem.startswith("the checkpoint from http://testserver: ")
    assert "lacks the quorum" in problem


def test_the_entries_page_is_for_principals_and_bounded(followed: Followed) -> None:
    f = followed
    client = f.client._client
    assert client.get("/v1/audit/entries?from=0").status_code == 401
    headers = f.client._headers
    size = size_of(f)
    body = client.get(f"/v1/audit/entries?from={size - 1}&limit=5", headers=headers).json()
    assert [e["index"] for e in body["entries"]] == [size - 1]
    assert json.loads(base64.b64decode(body["entries"][0]["data"]))["kind"]
    assert client.get(f"/v1/audit/entries?from={size + 1}", headers=headers).status_code == 404
    assert client.get("/v1/audit/entries?from=0&limit=0", headers=headers).status_code == 422


def test_a_new_monitor_asking_the_witnesses_names_a_split_view_of_a_rewritten_log(
    witnessed: Witnessed, tmp_path: Path
) -> None:
    """A monitor that never saw the honest log: the witnesses hold the honest checkpoint,
    the log serves a rewritten one of the same size; both are named."""
    s = witnessed.s
    story(s)
    token = handlers.add_principal(s.flow, "fr-monitor", authority="NE.Defense")
    honest = s.log.checkpoint()
    forge(s, "rewrite")
    forged = s.log.integrate()  # signed with the log key; the witnesses refuse it
    assert (forged.size, forged.root != honest.root) == (honest.size, True)
    policy = witnessed.policy
    notes, problems = witness_checkpoints(policy)
    assert problems == []
    assert sorted(source for source, _ in notes) == ["witness FR", "witness NE", "witness US"]
    gossip = [read_gossip(note, source, policy) for source, note in notes]
    app = create_app(s.flow, audit_log=s.log, integrate_seconds=None)
    with TestClient(app) as test_client:
        client = HttpLogClient("http://testserver", token, client=test_client)
        store = SqliteMonitorStore(tmp_path / "fresh-monitor")
        with pytest.raises(AuditError) as caught:
            run_pass(client, store, policy, gossip)
    problem = str(caught.value)
    assert problem.startswith("split view: checkpoint of size ")
    assert "from witness " in problem
    assert "from http://testserver have the same size and different roots" in problem
    assert store.verified() is None
