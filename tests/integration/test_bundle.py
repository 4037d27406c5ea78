"""A clearance anyone can check offline: `clearance audit bundle` writes one request's
entries, proofs, cosigned checkpoint and the key entries its decisions need;
`audit verify-bundle --policy` checks it with no server and no database, on SQLite and
PostgreSQL. Each tampering (entry, proof, checkpoint, cosignature) is named."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from clearance.api import create_app
from clearance.domain.clearance.model import Principal
from clearance.domain.clearance.workflow import Decision
from clearance.domain.errors import AuditError
from clearance.domain.ledger.bundle import verify_bundle
from clearance.domain.ledger.checkpoint import vkey
from clearance.domain.ledger.policy import Policy, parse_policy
from clearance.domain.ledger.witness import cosign, cosigner_vkey, split_note
from clearance.service import handlers, queries
from clearance.service.bundle import request_bundle
from tests.integration.test_audit import PLANNER, SIGNERS, Setup, _make_setup, run_cli, story

WITNESS = "witness.test/ne"


@pytest.fixture
def told(db_url: str, tmp_path: Path) -> Iterator[tuple[Setup, str]]:
    for s in _make_setup(db_url, tmp_path):
        yield s, story(s)


def cosigned(s: Setup, witness: Ed25519PrivateKey) -> tuple[str, Policy]:
    """The latest checkpoint with a cosignature by ``witness``, and a policy needing it."""
    note = s.log.checkpoint().note
    body, _ = split_note(note)
    line = cosign(body, WITNESS, witness, 1_700_000_000)
    policy = parse_policy(
        f"log {s.log.vkey}\nwitness ne {cosigner_vkey(WITNESS, witness.public_key())}\nquorum ne\n"
    )
    return note + line, policy


def test_an_honest_bundle_verifies_offline_with_the_policys_quorum(
    told: tuple[Setup, str], tmp_path: Path
) -> None:
    s, rid = told
    witness = Ed25519PrivateKey.generate()
    note, policy = cosigned(s, witness)
    bundle = request_bundle(s.log, rid) | {"checkpoint": note}
    summary = verify_bundle(bundle, policy)
    assert (summary.request_id, summary.decisions, summary.cosigned) == (rid, 2, ("ne",))
    assert summary.state == queries.get(s.flow, PLANNER, rid)[0].state.value  # the latest
    kinds = [json.loads(base64.b64decode(e["data"]))["kind"] for e in bundle["entries"]]
    assert kinds.count("key") == 2  # US.DoD's and US.State's keys, proven in the tree
    # the CLI, as a party runs it: written by the server, checked with nothing but files
    out = tmp_path / "bundle.json"
    done = run_cli(s, "audit", "bundle", rid, "--out", str(out))
    assert done.returncode == 0, done.stderr
    policy_file = tmp_path / "log.policy"
    policy_file.write_text(f"log {s.log.vkey}\nquorum none\n")
    checked = run_cli(s, "audit", "verify-bundle", str(out), "--policy", str(policy_file))
    assert checked.returncode == 0, checked.stderr
    assert f"audit bundle intact: request {rid} ({summary.state})" in checked.stdout


def tamper(bundle: dict[str, Any], what: str) -> None:
    entries = bundle["entries"]
    if what == "entry":
        entry = json.loads(base64.b64decode(entries[-1]["data"]))
        entry["state"] = "denied"
        raw = json.dumps(entry, separators=(",", ":"), sort_keys=True).encode()
        entries[-1]["data"] = base64.b64encode(raw).decode()
    elif what == "proof":
        proof = entries[-1]["inclusion_proof"]
        proof[0] = base64.b64encode(bytes(32)).decode()
    elif what == "checkpoint":
        lines = bundle["checkpoint"].split("\n")
        lines[1] = str(int(lines[1]) + 1)
        bundle["checkpoint"] = "\n".join(lines)
    else:  # the witness's cosignature
        lines = bundle["checkpoint"].split("\n")
        at = next(i for i, line in enumerate(lines) if WITNESS in line)
        name, signature = lines[at].rsplit(" ", 1)
        raw = bytearray(base64.b64decode(signature))
        raw[-1] ^= 1
        lines[at] = f"{name} {base64.b64encode(bytes(raw)).decode()}"
        bundle["checkpoint"] = "\n".join(lines)


@pytest.mark.parametrize(
    ("what", "named"),
    [
        ("entry", "log index {last}: not in the checkpoint's tree"),
        ("proof", "log index {last}: not in the checkpoint's tree"),
        ("checkpoint", "checkpoint: "),
        ("cosignature", "checkpoint: witness ne: "),
    ],
)
def test_a_tampered_bundle_is_refused_naming_what_was_changed(
    told: tuple[Setup, str], tmp_path: Path, what: str, named: str
) -> None:
    s, rid = told
    note, policy = cosigned(s, Ed25519PrivateKey.generate())
    bundle = request_bundle(s.log, rid) | {"checkpoint": note}
    last = bundle["entries"][-1]["index"]
    tamper(bundle, what)
    with pytest.raises(AuditError) as caught:
        verify_bundle(bundle, policy)
    assert str(caught.value).startswith(named.format(last=last)), caught.value
    out, policy_file = tmp_path / "tampered.json", tmp_path / "ne.policy"
    out.write_text(json.dumps(bundle))
    policy_file.write_text(policy_text(policy))
    done = run_cli(s, "audit", "verify-bundle", str(out), "--policy", str(policy_file))
    assert done.returncode == 1
    assert done.stderr.startswith("audit bundle: FAILED: ")


def policy_text(policy: Policy) -> str:
    lines = [f"log {vkey(log.name, log.public_key)}" for log in policy.logs]
    lines += [
        f"witness {n} {cosigner_vkey(w.key_name, w.public_key)}"
        for n, w in policy.witnesses.items()
    ]
    return "\n".join([*lines, "quorum ne", ""])


def test_a_bundle_that_is_not_one_exits_2_naming_the_file(
    told: tuple[Setup, str], tmp_path: Path
) -> None:
    s, _ = told
    policy_file = tmp_path / "log.policy"
    policy_file.write_text(f"log {s.log.vkey}\nquorum none\n")
    for content, said in (("{not json", "is not JSON"), ('{"format": 1}', "format: must be")):
        bad = tmp_path / "bad.json"
        bad.write_text(content)
        done = run_cli(s, "audit", "verify-bundle", str(bad), "--policy", str(policy_file))
        assert done.returncode == 2, done.stderr
        assert f"{bad}: " in done.stderr
        assert said in done.stderr
        assert "Traceback" not in done.stderr


def test_the_api_serves_the_bundle_to_whoever_may_see_the_request(
    told: tuple[Setup, str],
) -> None:
    s, rid = told
    planner = handlers.add_principal(s.flow, "planner-2", operator=PLANNER.operator)
    stranger = handlers.add_principal(s.flow, "fr-2", operator="FR.Barkhane")
    with TestClient(create_app(s.flow, audit_log=s.log, integrate_seconds=None)) as client:
        url = f"/v1/requests/{rid}/audit/bundle"
        got = client.get(url, headers={"Authorization": f"Bearer {planner}"})
        assert got.status_code == 200, got.text
        assert "attachment" in got.headers["content-disposition"]
        policy = parse_policy(f"log {s.log.vkey}\nquorum none\n")
        assert verify_bundle(got.json(), policy).decisions == 2
        hidden = client.get(url, headers={"Authorization": f"Bearer {stranger}"})
        assert hidden.status_code == 404
        assert client.get(url).status_code == 401


def test_a_bundle_finds_the_key_entries_by_their_kind_without_reading_the_log(
    told: tuple[Setup, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The key and enrollment entries a bundle needs come from the kind's index: a log of
    millions of entries is not read page by page for each bundle."""
    from clearance.domain.ledger import audit, members
    from clearance.domain.ledger.bundle import wanted
    from clearance.service.audit import AuditLog

    s, rid = told
    _, own = s.log.request_entries(rid)
    decided = {
        str(e["detail"]["authority"])
        for e in (audit.parse_entry(o.data) for o in own)
        if e["kind"] == audit.DECIDED
    }
    size = s.log.checkpoint().size
    expected = {o.index for o in own}
    for page in s.log.pages():  # what the whole log holds, read here once
        for stored in page:
            key_like = stored.kind == audit.KEY or stored.kind in members.KINDS
            in_tree = stored.index is not None and stored.index < size
            if key_like and in_tree and wanted(audit.parse_entry(stored.data), decided):
                expected.add(stored.index)

    def no_scan(self: AuditLog) -> Iterator[Any]:
        raise AssertionError("the bundle read the whole log")

    monkeypatch.setattr(AuditLog, "pages", no_scan)
    bundle = request_bundle(s.log, rid)
    assert {e["index"] for e in bundle["entries"]} == expected


def keyless_decision(s: Setup, rid: str) -> str:
    """The next authority waiting on ``rid`` (it names no root key: only US.DoD and
    US.State keep one here) approves; its decision is recorded unsigned. Returns it."""
    record, _ = queries.get(s.flow, PLANNER, rid)
    waiting = [a.authority for a in record.approvals if a.status.value == "needs_review"]
    authority = next(a for a in waiting if a not in SIGNERS)
    who = Principal(f"{authority}-member", authority=authority)
    handlers.decide(s.flow, who, rid, authority, Decision.APPROVE, "ok")
    s.log.integrate()
    return authority


def test_every_offline_verifier_names_the_unsigned_decisions_and_passes(
    told: tuple[Setup, str], tmp_path: Path
) -> None:
    s, rid = told
    keyless = keyless_decision(s, rid)
    unsigned = f"1 decision unsigned: {keyless} names no root key"

    verified = run_cli(s, "audit", "verify")
    assert verified.returncode == 0, verified.stderr
    assert "2 signed decisions" in verified.stdout
    assert unsigned in verified.stdout

    exported = tmp_path / "export"
    assert run_cli(s, "audit", "export", str(exported)).returncode == 0
    offline = run_cli(s, "audit", "verify-export", str(exported))
    assert offline.returncode == 0, offline.stderr
    assert "2 signed decisions" in offline.stdout
    assert unsigned in offline.stdout

    out = tmp_path / "bundle.json"
    assert run_cli(s, "audit", "bundle", rid, "--out", str(out)).returncode == 0
    policy_file = tmp_path / "log.policy"
    policy_file.write_text(f"log {s.log.vkey}\nquorum none\n")
    bundled = run_cli(s, "audit", "verify-bundle", str(out), "--policy", str(policy_file))
    assert bundled.returncode == 0, bundled.stderr
    assert "2 signed decisions" in bundled.stdout
    assert unsigned in bundled.stdout
    summary = verify_bundle(request_bundle(s.log, rid), parse_policy(policy_file.read_text()))
    assert (summary.decisions, dict(summary.unsigned)) == (3, {keyless: 1})
