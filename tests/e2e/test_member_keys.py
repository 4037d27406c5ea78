"""Keys stay with their owners: an authority that names a root key in its scenario has
its members' keys enrolled by statements that root key signs, and its decisions signed
where they are made, by the member's own key. The service holds public keys only.

The CLI path runs in subprocesses, as people run it; the refusals run in process over a
real database (SQLite and PostgreSQL), through the handlers and the API."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from clearance.adapters.key_files import new_key_file, read_key_file
from clearance.domain.clearance.model import Principal
from clearance.domain.clearance.workflow import Decision
from clearance.domain.errors import ForbiddenError, RequestError
from clearance.domain.ledger.checkpoint import raw_public
from clearance.domain.ledger.members import ENROLLED, KEY_REVOKED, key_text
from clearance.domain.ledger.signatures import document_digest, sign_statement, statement_for
from clearance.service import handlers, queries
from clearance.service.audit import AuditLog
from clearance.service.context import Context
from clearance.service.handlers.decide import Signed
from tests import parties
from tests.e2e.conftest import NOW, SCENARIO, assert_problem, document, later
from tests.serverproc import CLEARANCE, Server

DOD = "US.DoD"
OFFICER = Principal("dod-officer", authority=DOD)
PLANNER = Principal("planner", operator="US.AFRICOM")


# -- in process: the refusals ----------------------------------------------------------------


class Dod:
    """US.DoD keeping its own root key, with one member key enrolled by it."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.root = Ed25519PrivateKey.generate()
        scenario = ctx.current_scenario()  # the test's own copy (conftest.niger)
        scenario.authorities = {
            **scenario.authorities,
            DOD: replace(scenario.authorities[DOD], root_key=raw_public(self.root)),
        }
        self.member = Ed25519PrivateKey.generate()
        handlers.add_principal(ctx, OFFICER.name, authority=DOD)
        handlers.add_principal(ctx, PLANNER.name, operator=PLANNER.operator)
        self.state(ENROLLED, self.member)

    def state(
        self, kind: str, key: Ed25519PrivateKey, root: Ed25519PrivateKey | None = None
    ) -> None:
        statement = parties.enrollment(
            DOD, OFFICER.name, NOW, key, kind=kind, root=root or self.root
        )
        handlers.apply_member_statement(self.ctx, statement)

    def submit(self, days_later: int = 0) -> str:
        doc = later(document("05"), days_later)
        return handlers.submit(self.ctx, PLANNER, doc).record.id

    def signed(
        self, rid: str, key: Ed25519PrivateKey | None = None, at_offset: timedelta = timedelta()
    ) -> Signed:
        seen, _ = queries.get(self.ctx, OFFICER, rid)
        at = NOW + at_offset
        statement = statement_for(
            rid, seen.version + 1, document_digest(seen.document), DOD, "approve", "ok", None,
            OFFICER.name, at,
        )  # fmt: skip
        return Signed(at, sign_statement(key or self.member, statement))

    def decide(self, rid: str, signed: Signed | None) -> Any:
        return handlers.decide(
            self.ctx, OFFICER, rid, DOD, Decision.APPROVE, "ok", None, signed=signed
        )


@pytest.fixture
def dod(workflow: Context) -> Dod:
    return Dod(workflow)


def test_a_decision_signed_with_the_enrolled_key_is_recorded_and_its_root_key_must_come_first(
    dod: Dod, audit_log: AuditLog
) -> None:
    rid = dod.submit()
    record = dod.decide(rid, dod.signed(rid))
    approval = record.approval(DOD)
    assert (approval.status.value, approval.by) == ("approved", OFFICER.name)
    events = queries.get(dod.ctx, OFFICER, rid)[1]
    assert events[-1].detail["key"] == key_text(raw_public(dod.member))
    # the root key must be in the log for a verifier: what `scenario load` records
    with dod.ctx.uow() as uow:
        uow.audit.append(
            "key", {"role": "root", "name": DOD, "public_key": key_text(raw_public(dod.root))}
        )
        uow.commit()
    # (appended after the enrollment here, so the verifier names the order)
    verified = audit_log.verify()
    assert not verified.ok
    assert "no root key of US.DoD is recorded before its member.enrolled" in verified.problems[0]


def test_an_unsigned_decision_is_refused_and_nothing_changes(dod: Dod) -> None:
    rid = dod.submit()
    with pytest.raises(ForbiddenError, match="signed by the member who makes them"):
        dod.decide(rid, None)
    assert queries.get(dod.ctx, OFFICER, rid)[0].version == 1


def test_a_key_not_enrolled_is_refused(dod: Dod) -> None:
    rid = dod.submit()
    with pytest.raises(ForbiddenError, match="does not verify with the key enrolled"):
        dod.decide(rid, dod.signed(rid, key=Ed25519PrivateKey.generate()))


def test_a_revoked_key_is_refused(dod: Dod) -> None:
    rid = dod.submit()
    dod.state(KEY_REVOKED, dod.member)
    with pytest.raises(ForbiddenError, match="no key is enrolled for dod-officer"):
        dod.decide(rid, dod.signed(rid))
    assert [k.revoked_at for k in queries.member_keys(dod.ctx)] == [NOW]


def test_a_signature_replayed_onto_another_request_or_version_is_refused(dod: Dod) -> None:
    first, second = dod.submit(), dod.submit(days_later=30)
    signed = dod.signed(first)
    with pytest.raises(ForbiddenError, match="does not verify"):
        dod.decide(second, signed)  # another request
    doc = document("05")
    doc["justification"] = "Reworded."
    handlers.amend(dod.ctx, PLANNER, first, doc, 1)
    with pytest.raises(ForbiddenError, match="does not verify"):
        dod.decide(first, signed)  # signed on version 1; the request is at 2
    assert dod.decide(first, dod.signed(first)).version == 3


def test_a_decision_signed_outside_the_window_is_refused(dod: Dod) -> None:
    rid = dod.submit()
    with pytest.raises(RequestError) as raised:
        dod.decide(rid, dod.signed(rid, at_offset=timedelta(minutes=6)))
    assert raised.value.field == "at"


def test_an_enrollment_not_signed_by_the_root_key_is_refused(dod: Dod) -> None:
    with pytest.raises(ForbiddenError, match="root key"):
        dod.state(KEY_REVOKED, dod.member, root=Ed25519PrivateKey.generate())
    assert [k.revoked_at for k in queries.member_keys(dod.ctx)] == [None]


def test_the_api_takes_a_signed_decision_and_names_each_refusal(
    dod: Dod, client: TestClient
) -> None:
    rid = dod.submit()
    token = handlers.issue_token(dod.ctx, OFFICER.name, authority=DOD)
    headers = {"Authorization": f"Bearer {token}"}
    path = f"/v1/requests/{rid}/decisions"
    body = {"authority": DOD, "decision": "approve", "comment": "ok"}
    assert_problem(client.post(path, json=body, headers=headers), 403)
    signed = dod.signed(rid)
    at = signed.at.isoformat().replace("+00:00", "Z")
    bad_time = client.post(
        path, json=body | {"at": "yesterday", "signature": signed.signature}, headers=headers
    )
    assert_problem(bad_time, 422, field="at")
    stale = client.post(
        path,
        json=body | {"at": at, "signature": signed.signature},
        headers=headers | {"If-Match": '"7"'},
    )
    assert "at version 1, not 7" in assert_problem(stale, 409)["detail"]
    done = client.post(path, json=body | {"at": at, "signature": signed.signature}, headers=headers)
    assert done.status_code == 200, done.text
    assert done.json()["approvals"][0]["status"] == "approved"
    again = client.post(
        path, json=body | {"at": at, "signature": signed.signature}, headers=headers
    )
    assert_problem(again, 409)


# -- the CLI, as the parties run it ------------------------------------------------------------


def cli(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLEARANCE, *args],
        env=server.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_parties_make_enroll_and_sign_with_their_own_keys_on_the_cli(
    db_url: str, tmp_path: Path
) -> None:
    parties = tmp_path / "parties"  # stands for the authority's and the member's machines
    parties.mkdir()
    root_public = key_text(raw_public(new_key_file(parties / "dod-root.pem")))
    scenario = tmp_path / "scenario"
    shutil.copytree(SCENARIO, scenario)
    main = scenario / "scenario.yaml"
    text = main.read_text(encoding="utf-8")
    line = "  US.DoD: {party: US, name: Department of Defense"  # the rest of it follows
    assert line in text
    main.write_text(text.replace(line, line + f", root_key: {root_public}"), encoding="utf-8")

    service_keys = tmp_path / "service-keys"  # the server's key directory, this test's own
    server = Server(db_url, tmp_path / "log", extra_env={"CLEARANCE_KEY_DIR": str(service_keys)})
    server.cli("db", "upgrade")
    server.cli("scenario", "load", str(scenario))
    server.cli("principal", "add", "planner", "--operator", "US.AFRICOM")
    server.cli("principal", "add", "dod-officer", "--authority", DOD)
    made = cli(server, "key", "new", "--out", str(parties / "officer.pem"))
    assert made.returncode == 0, made.stderr
    member_public = made.stdout.strip().splitlines()[-1]
    assert (parties / "officer.pem").stat().st_mode & 0o777 == 0o600
    assert cli(server, "key", "new", "--out", str(parties / "officer.pem")).returncode == 2
    enrolled = cli(
        server, "member", "enroll", "dod-officer", "--authority", DOD,
        "--public-key", member_public, "--root-key", str(parties / "dod-root.pem"),
    )  # fmt: skip
    assert enrolled.returncode == 0, enrolled.stderr
    forged = cli(
        server, "member", "enroll", "dod-officer", "--authority", DOD,
        "--public-key", member_public, "--root-key", str(parties / "officer.pem"),
    )  # fmt: skip
    assert forged.returncode == 5, forged.stderr  # not allowed: not the root key
    assert "root key" in forged.stderr

    agadez = next((SCENARIO / "requests").glob("05-*.yaml"))
    rid = json.loads(server.cli("request", "submit", str(agadez), "--as", "planner", "--json"))[
        "id"
    ]
    unsigned = cli(
        server, "request", "decide", rid, "--as", "dod-officer", "--authority", DOD, "--approve"
    )
    assert unsigned.returncode == 5, unsigned.stderr
    assert "--key" in unsigned.stderr
    decided = cli(
        server, "request", "decide", rid, "--as", "dod-officer", "--authority", DOD,
        "--approve", "--comment", "fine", "--key", str(parties / "officer.pem"), "--json",
    )  # fmt: skip
    assert decided.returncode == 0, decided.stderr
    assert json.loads(decided.stdout)["approvals"][0]["status"] == "approved"

    verified = cli(server, "audit", "verify", "--json")
    assert verified.returncode == 0, verified.stderr
    assert json.loads(verified.stdout)["decisions"] == 1
    # the service holds no private key of US.DoD or of its member: only theirs do
    held = sorted(p.name for p in service_keys.rglob("*.pem"))
    assert held == ["instance.pem"]  # the log's own key; no authority's, signing or not
    listed = json.loads(server.cli("member", "list", "--json"))
    assert [(k["member"], k["public_key"]) for k in listed] == [("dod-officer", member_public)]
    assert read_key_file(parties / "officer.pem", "--key")  # still only on the member's side
