"""The log witnessed by three parties (real `clearance witness serve` processes on
loopback), on SQLite and PostgreSQL: every new checkpoint is cosigned, served with its
cosignatures, and `audit verify --policy` requires the quorum. The attacks of issue 13
(a server holding only its log key rewrites or drops an integrated entry and signs a new
checkpoint) are refused by the witnesses and fail `audit verify --policy`."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from clearance.adapters.witness_client import HttpWitnessClient
from clearance.api import create_app
from clearance.domain.errors import QuorumError
from clearance.domain.ledger.audit import parse_entry
from clearance.domain.ledger.checkpoint import read_checkpoint
from clearance.domain.ledger.merkle import EMPTY_ROOT, canonical_json, leaf_hash
from clearance.domain.ledger.policy import Policy, check_quorum, parse_policy
from clearance.domain.ledger.witness import split_note
from clearance.service import handlers
from clearance.service.audit import AuditLog
from clearance.service.witnessing import Witnessing
from tests.integration.test_audit import ORIGIN, Setup, _make_setup, run_cli, story
from tests.witnesskit import WitnessProcess, policy_text, start_witnesses, stop_witnesses

NAMES = ["US", "NE", "FR"]


@dataclasses.dataclass
class Witnessed:
    s: Setup
    witnesses: dict[str, WitnessProcess]
    policy_file: Path

    @property
    def policy(self) -> Policy:
        return parse_policy(self.policy_file.read_text())

    def cli(self, *args: str, witnessed: bool = False) -> tuple[int, str, str]:
        extra = {"CLEARANCE_WITNESSES": str(self.policy_file)} if witnessed else {}
        done = run_cli(self.s, *args, env=extra)
        return done.returncode, done.stdout, done.stderr


@pytest.fixture
def witnessed(db_url: str, tmp_path: Path) -> Iterator[Witnessed]:
    for s in _make_setup(db_url, tmp_path):
        witnesses = start_witnesses(tmp_path, NAMES, [s.log.vkey])
        try:
            policy_file = tmp_path / "niger.policy"
            policy_file.write_text(policy_text(s.log.vkey, witnesses))
            witnessing = Witnessing(parse_policy(policy_file.read_text()), HttpWitnessClient())
            log = AuditLog(s.log.uow, ORIGIN, s.keys.instance_key(), witnessing=witnessing)
            try:
                yield Witnessed(dataclasses.replace(s, log=log), witnesses, policy_file)
            finally:
                witnessing.close()
        finally:
            stop_witnesses(witnesses)


def forge(s: Setup, change: str) -> int:
    """What an attacker with the database and the log key does: change the log, then
    rebuild the tree from the entries so that it is self-consistent (every entry
    un-integrated, the tiles, head and checkpoints deleted); the next `audit checkpoint`
    integrates it all again and signs the forged tree. Returns the honest size."""
    with s.engine.begin() as c:
        size = int(c.execute(sa.text("SELECT max(size) FROM audit_checkpoints")).scalar_one())
        if change == "rewrite":
            row = c.execute(
                sa.text(
                    "SELECT seq, data FROM audit_entries WHERE kind = 'request.decided' "
                    "ORDER BY log_index LIMIT 1"
                )
            ).one()
            entry = parse_entry(bytes(row.data))
            entry["detail"]["comment"] = "rewritten"
            data = canonical_json(entry)
            c.execute(
                sa.text("UPDATE audit_entries SET data = :d, leaf_hash = :h WHERE seq = :s"),
                {"d": data, "h": leaf_hash(data), "s": row.seq},
            )
        else:  # drop the newest entry: a rollback
            c.execute(sa.text("DELETE FROM audit_entries WHERE log_index = :i"), {"i": size - 1})
        c.execute(sa.text("UPDATE audit_entries SET log_index = NULL"))
        c.execute(sa.text("DELETE FROM audit_tiles"))
        c.execute(sa.text("DELETE FROM audit_checkpoints"))
        c.execute(
            sa.text("UPDATE audit_head SET size = 0, root = :r, frontier = :f"),
            {"r": EMPTY_ROOT, "f": b""},
        )
    return size


def test_every_checkpoint_is_cosigned_and_the_honest_log_verifies(witnessed: Witnessed) -> None:
    s = witnessed.s
    story(s)
    latest = s.log.checkpoint()
    quorum = check_quorum(witnessed.policy, latest.note)
    assert set(quorum.cosigned) == set(NAMES)
    verified = s.log.verify(witnessed.policy)
    assert verified.ok, verified.problems
    assert set(verified.cosigned) == set(NAMES)
    # the API serves the checkpoint with the cosignatures
    with TestClient(create_app(s.flow, audit_log=s.log, integrate_seconds=None)) as client:
        served = client.get("/v1/audit/checkpoint").text
    assert set(check_quorum(witnessed.policy, served).cosigned) == set(NAMES)
    # a new entry, a new checkpoint: the witnesses advance with a consistency proof
    handlers.add_principal(s.flow, "another", operator="US.AFRICOM")
    newer = s.log.integrate()
    assert newer.size == latest.size + 1
    assert set(check_quorum(witnessed.policy, newer.note).cosigned) == set(NAMES)
    code, out, err = witnessed.cli("audit", "verify", "--policy", str(witnessed.policy_file))
    assert code == 0, err
    assert "meets the witness policy's quorum (cosigned by FR, NE, US)" in out
    exported = witnessed.policy_file.parent / "export"
    assert witnessed.cli("audit", "export", str(exported))[0] == 0
    code, out, err = witnessed.cli(
        "audit", "verify-export", str(exported), "--policy", str(witnessed.policy_file)
    )
    assert code == 0, err
    assert "meets the witness policy's quorum" in out


@pytest.mark.parametrize("change", ["rewrite", "rollback"])
def test_a_forged_history_is_refused_by_the_witnesses_and_fails_verify_policy(
    witnessed: Witnessed, change: str
) -> None:
    s = witnessed.s
    story(s)
    honest = s.log.checkpoint()
    assert check_quorum(witnessed.policy, honest.note)
    size = forge(s, change)
    # the attacker signs the forged tree, and submits it to the witnesses itself
    code, _, err = witnessed.cli("audit", "checkpoint", witnessed=True)
    assert code == 0, err
    forged = s.log.checkpoint()
    assert forged.size == (size if change == "rewrite" else size - 1)
    assert forged.root != honest.root
    assert "witness.test" not in forged.note  # no witness cosigned it
    origin_hash = hashlib.sha256(ORIGIN.encode()).hexdigest()
    for w in witnessed.witnesses.values():  # each still holds the honest checkpoint
        held = httpx.get(f"{w.base}/{origin_hash}/checkpoint", timeout=30).text
        assert read_checkpoint(split_note(held)[0]).root == honest.root
    code, _, err = witnessed.cli("audit", "verify", "--policy", str(witnessed.policy_file))
    assert code == 1
    assert (
        f"audit log: FAILED: witness policy: checkpoint of {ORIGIN} at size {forged.size} "
        "lacks the quorum parties (2 of US, NE, FR): cosigned by no witness"
    ) in err
    # copying the honest cosignatures onto the forged checkpoint does not help
    lines = [line for line in honest.note.split("\n") if line.startswith("\u2014 witness.test")]
    forged_with_copies = forged.note + "".join(line + "\n" for line in lines)
    with pytest.raises(QuorumError, match="does not verify"):
        check_quorum(witnessed.policy, forged_with_copies)
