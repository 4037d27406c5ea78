"""The audit endpoints over HTTP (SQLite and PostgreSQL): what a client fetches verifies
with nothing but the public keys and the domain's verifiers."""

from __future__ import annotations

import base64
from typing import Any

from fastapi.testclient import TestClient

from clearance.domain.ledger.checkpoint import Checkpoint, open_checkpoint, parse_vkey
from clearance.domain.ledger.disclosure import open_entry
from clearance.domain.ledger.merkle import leaf_hash, verify_consistency, verify_inclusion
from clearance.domain.ledger.signatures import statement_from_event, verify_statement
from clearance.service.context import Context
from tests import parties
from tests.e2e.conftest import LOG_ORIGIN, NOW, Actors, assert_problem, document


def b64(text: str) -> bytes:
    return base64.b64decode(text)


def checkpoint(client: TestClient) -> Checkpoint:
    keys = client.get("/v1/keys").json()
    name, key = parse_vkey(keys["log"]["vkey"])
    response = client.get("/v1/audit/checkpoint")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return open_checkpoint(response.text, name, key, origin=LOG_ORIGIN)


def decided_request(
    client: TestClient, actors: Actors, signer: Context | None = None
) -> dict[str, Any]:
    """The Agadez request approved by US.DoD: unsigned (it names no root key), or, given
    the ``signer``'s context, signed by its member with the key US.DoD's root enrolled."""
    made = client.post("/v1/requests", json=document("05"), headers=actors.operator())
    assert made.status_code == 201, made.text
    rid = made.json()["id"]
    body: dict[str, Any] = {"authority": "US.DoD", "decision": "approve", "comment": "fine"}
    headers = actors.member("US.DoD")
    if signer is not None:
        parties.with_roots(signer.current_scenario(), ["US.DoD"])
        parties.record_roots(signer, ["US.DoD"])
        parties.enroll(signer, "US.DoD", "US.DoD-member")
        body, _ = parties.signed_decision(
            made.json(), "US.DoD", "US.DoD-member", NOW, "approve", "fine"
        )
    decided = client.post(f"/v1/requests/{rid}/decisions", json=body, headers=headers)
    assert decided.status_code == 200, decided.text
    body: dict[str, Any] = decided.json()
    return body


def test_the_checkpoint_verifies_with_the_log_key_from_v1_keys(
    client: TestClient, actors: Actors
) -> None:
    decided_request(client, actors)
    signed = checkpoint(client)
    assert signed.size > 0
    as_json = client.get("/v1/audit/checkpoint", headers={"Accept": "application/json"}).json()
    assert as_json["size"] == signed.size
    assert b64(as_json["root"]) == signed.root
    keys = client.get("/v1/keys").json()
    assert keys["log"]["name"] == LOG_ORIGIN
    assert b64(keys["log"]["public_key"]) == parse_vkey(keys["log"]["vkey"])[1].public_bytes_raw()
    assert keys["roots"] == {}  # no authority of the Niger example names a root key
    assert "authorities" not in keys  # the server holds no authority's key to show


def test_v1_keys_shows_the_root_keys_the_log_records(
    client: TestClient, actors: Actors, workflow: Context
) -> None:
    decided_request(client, actors, signer=workflow)
    keys = client.get("/v1/keys").json()
    assert set(keys) == {"log", "roots"}
    assert keys["roots"]["US.DoD"]["public_key"] == parties.public(parties.root_key("US.DoD"))


def test_every_entry_proves_its_inclusion_and_decisions_verify(
    client: TestClient, actors: Actors, workflow: Context
) -> None:
    request = decided_request(client, actors, signer=workflow)
    step = next(a for a in request["approvals"] if a["authority"] == "US.DoD")
    assert step["signature"]
    shown = client.get(f"/v1/requests/{request['id']}", headers=actors.operator()).json()
    assert next(a for a in shown["approvals"] if a["authority"] == "US.DoD") == step

    signed = checkpoint(client)
    # the member's key, as its root key enrolled it (the log's member.enrolled entry)
    dod_key = parties.member_key("US.DoD", "US.DoD-member").public_key().public_bytes_raw()
    # the statement signs the comment and the member, which the entry holds as
    # commitments: the request's parties check it once disclosed
    audit = client.get(f"/v1/requests/{request['id']}/audit", headers=actors.operator())
    disclosed = {d["commitment"]: d for d in audit.json()["disclosures"]}
    decisions = 0
    for index in range(signed.size):
        response = client.get(f"/v1/audit/entries/{index}", headers=actors.operator())
        assert response.status_code == 200, response.text
        body = response.json()
        data = b64(body["data"])
        assert b64(body["leaf_hash"]) == leaf_hash(data)
        proof = [b64(h) for h in body["inclusion_proof"]]
        assert body["tree_size"] >= signed.size
        root = signed.root if body["tree_size"] == signed.size else b64(body["root"])
        verify_inclusion(leaf_hash(data), index, body["tree_size"], proof, root)
        if body["entry"]["kind"] == "request.decided":
            assert body["entry"]["detail"]["signature"] == step["signature"]
            opened = open_entry(body["entry"], disclosed)
            assert opened.whole
            verify_statement(dod_key, statement_from_event(opened.entry), step["signature"])
            decisions += 1
    assert decisions == 1


def test_a_consistency_proof_links_an_older_checkpoint_to_a_newer_one(
    client: TestClient, actors: Actors
) -> None:
    request = decided_request(client, actors)
    older = checkpoint(client)
    withdrawn = client.post(f"/v1/requests/{request['id']}/withdraw", headers=actors.operator())
    assert withdrawn.status_code == 200
    newer = checkpoint(client)
    assert newer.size == older.size + 1
    response = client.get(f"/v1/audit/consistency?from={older.size}&to={newer.size}")
    assert response.status_code == 200, response.text
    proof = [b64(h) for h in response.json()["proof"]]
    verify_consistency(older.size, newer.size, proof, older.root, newer.root)


def test_bad_indexes_and_sizes_are_problems(client: TestClient, actors: Actors) -> None:
    decided_request(client, actors)
    size = checkpoint(client).size
    headers = actors.operator()
    assert_problem(client.get(f"/v1/audit/entries/{size}", headers=headers), 404)
    assert_problem(client.get("/v1/audit/entries/-1", headers=headers), 422, source="path")
    assert_problem(client.get("/v1/audit/entries/x", headers=headers), 422, source="path")
    assert_problem(client.get(f"/v1/audit/entries/{2**70}", headers=headers), 422)
    assert_problem(client.get("/v1/audit/entries/0"), 401)
    assert_problem(client.get("/v1/audit/consistency?from=0&to=1"), 422, field="from")
    assert_problem(client.get("/v1/audit/consistency?from=3&to=2"), 422, field="to")
    assert_problem(client.get(f"/v1/audit/consistency?from=1&to={size + 1}"), 404)
    assert_problem(client.get("/v1/audit/consistency?to=2"), 422, field="from")
