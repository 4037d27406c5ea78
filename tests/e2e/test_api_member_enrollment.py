"""Enrollment over the API: ``POST /v1/authorities/{id}/members`` (and ``.../revocations``)
take the statement the authority's root key signed on its own machine (``clearance member
statement``, run here in a subprocess with no database, as the authority's officer would),
so the root key never reaches the service; ``GET`` lists the enrolled keys and the root
key. On SQLite and PostgreSQL; every refusal is problem+json and changes nothing."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from clearance.adapters.key_files import private_pem, write_new
from clearance.domain.ledger.checkpoint import raw_public
from clearance.domain.ledger.members import key_text
from clearance.domain.ledger.signatures import sign_statement
from clearance.service import handlers, queries
from clearance.service.context import Context
from tests import parties
from tests.e2e.conftest import NOW, assert_problem
from tests.e2e.test_member_keys import DOD, OFFICER, Dod
from tests.serverproc import CLEARANCE

SECOND = "dod-second-officer"


@pytest.fixture
def dod(workflow: Context) -> Dod:
    return Dod(workflow)


def statement_cli(root: Path, member: str, public: str, *extra: str) -> dict[str, Any]:
    """``clearance member statement`` on the authority's machine: no database, no server."""
    done = subprocess.run(
        [*CLEARANCE, "member", "statement", member, "--authority", DOD, "--public-key", public,
         "--root-key", str(root), *extra],
        capture_output=True, text=True, timeout=120, check=False,
        env=os.environ | {"CLEARANCE_DATABASE_URL": "sqlite:////nonexistent/no.db"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    body: dict[str, Any] = json.loads(done.stdout)
    return body


def root_file(dod: Dod, tmp_path: Path) -> Path:
    """The authority's root key in a file on its own machine."""
    path = tmp_path / "root.key"
    if not path.exists():
        write_new(path, private_pem(dod.root))
    return path


def signed_decision(ctx: Context, rid: str, key: Ed25519PrivateKey, by: str) -> dict[str, Any]:
    seen, _ = queries.get(ctx, OFFICER, rid)
    body, _ = parties.signed_decision(seen, DOD, by, NOW, "approve", "ok", key=key)
    return body


def test_an_enrollment_signed_on_the_authoritys_machine_is_taken_over_the_api_and_then_signs(
    dod: Dod, client: TestClient, tmp_path: Path
) -> None:
    token = handlers.add_principal(dod.ctx, SECOND, authority=DOD)
    headers = {"Authorization": f"Bearer {token}"}
    member = Ed25519PrivateKey.generate()
    public = key_text(raw_public(member))
    rid = dod.submit()
    decision = signed_decision(dod.ctx, rid, member, SECOND)
    path = f"/v1/requests/{rid}/decisions"
    refused = assert_problem(client.post(path, json=decision, headers=headers), 403)
    assert f"no key is enrolled for {SECOND} of {DOD}" in refused["detail"]

    body = statement_cli(root_file(dod, tmp_path), SECOND, public)
    assert body["statement"]["kind"] == "member.enrolled"
    made = client.post(f"/v1/authorities/{DOD}/members", json=body, headers=headers)
    assert made.status_code == 201, made.text
    assert made.json() | {"enrolled_at": ""} == {
        "authority": DOD, "member": SECOND, "public_key": public, "enrolled_at": "",
        "revoked_at": None,
    }  # fmt: skip
    listed = client.get(f"/v1/authorities/{DOD}/members", headers=headers).json()
    assert listed["root_key"] == key_text(raw_public(dod.root))
    assert [(k["member"], k["public_key"]) for k in listed["keys"]] == [
        (OFFICER.name, key_text(raw_public(dod.member))),
        (SECOND, public),
    ]
    done = client.post(path, json=decision, headers=headers)
    assert done.status_code == 200, done.text
    assert done.json()["approvals"][0]["by"] == SECOND

    # revoked the same way: a later decision signed with it is refused
    revocation = statement_cli(root_file(dod, tmp_path), SECOND, public, "--revoke")
    wrong_door = client.post(f"/v1/authorities/{DOD}/members", json=revocation, headers=headers)
    assert "this address takes member.enrolled only" in assert_problem(wrong_door, 403)["detail"]
    revoked = client.post(
        f"/v1/authorities/{DOD}/members/revocations", json=revocation, headers=headers
    )
    assert revoked.status_code == 201, revoked.text
    assert revoked.json()["revoked_at"] is not None
    rid2 = dod.submit(days_later=3)
    again = client.post(
        f"/v1/requests/{rid2}/decisions",
        json=signed_decision(dod.ctx, rid2, member, SECOND),
        headers=headers,
    )
    assert "no key is enrolled" in assert_problem(again, 403)["detail"]


def test_a_bad_enrollment_is_refused_with_a_problem_naming_it_and_nothing_is_enrolled(
    dod: Dod, client: TestClient, tmp_path: Path
) -> None:
    headers = {
        "Authorization": f"Bearer {handlers.issue_token(dod.ctx, OFFICER.name, authority=DOD)}"
    }
    public = key_text(raw_public(Ed25519PrivateKey.generate()))
    body = statement_cli(root_file(dod, tmp_path), SECOND, public)
    url = f"/v1/authorities/{DOD}/members"
    before = queries.member_keys(dod.ctx)

    # signed by another key than the scenario's root key
    forged = dict(body["statement"])
    forged_sig = sign_statement(Ed25519PrivateKey.generate(), forged)
    refused = client.post(url, json={"statement": forged, "signature": forged_sig}, headers=headers)
    assert "does not verify" in assert_problem(refused, 403)["detail"]
    # the statement altered after signing (another member named)
    altered = {
        "statement": body["statement"] | {"member": "intruder"},
        "signature": body["signature"],
    }
    assert_problem(client.post(url, json=altered, headers=headers), 403)
    # posted under another authority than the one it names
    other = client.post("/v1/authorities/NE.Defense/members", json=body, headers=headers)
    assert "names 'US.DoD', not 'NE.Defense'" in assert_problem(other, 403)["detail"]
    # malformed: a key that is not one, a missing signature, an extra field, not JSON
    bad_key = {
        "statement": body["statement"] | {"public_key": "AAAA"},
        "signature": body["signature"],
    }
    assert_problem(
        client.post(url, json=bad_key, headers=headers), 422, field="statement.public_key"
    )
    assert_problem(client.post(url, json={"statement": body["statement"]}, headers=headers), 422)
    assert_problem(client.post(url, json=body | {"extra": 1}, headers=headers), 422)
    assert_problem(
        client.post(url, content=b"{", headers=headers | {"Content-Type": "application/json"}), 400
    )
    # no token
    assert_problem(client.post(url, json=body), 401)
    assert queries.member_keys(dod.ctx) == before

    # an authority that keeps no root key enrolls nothing: 409, and the listing says so
    ne = client.get("/v1/authorities/NE.Defense/members", headers=headers).json()
    assert ne == {"authority": "NE.Defense", "root_key": None, "keys": []}
