"""What the page needs from the API, over HTTP on SQLite and PostgreSQL: evaluating a
document without submitting it, YAML bodies, the overview of waiting times, and one
request's audit entries with proofs a reader can check alone."""

from __future__ import annotations

import base64
import copy
from datetime import timedelta

import yaml
from fastapi.testclient import TestClient

from clearance.domain.ledger.checkpoint import open_checkpoint, parse_vkey
from clearance.domain.ledger.merkle import leaf_hash, verify_inclusion
from clearance.service.context import Context
from tests.e2e.conftest import LOG_ORIGIN, NOW, Actors, assert_problem, document, set_now

AGADEZ = "05"  # the armed Agadez request: refers to US.DoD, US.State, NE.Defense, NE.PM


def count_requests(client: TestClient, actors: Actors) -> int:
    listed = client.get("/v1/requests", headers=actors.operator())
    assert listed.status_code == 200
    return len(listed.json()["items"])


# -- POST /v1/evaluations --------------------------------------------------------------
def test_an_evaluation_shows_the_chain_and_stores_nothing(
    client: TestClient, actors: Actors
) -> None:
    response = client.post("/v1/evaluations", json=document(AGADEZ), headers=actors.operator())
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["outcome"] == "pending"
    waiting = [a["authority"] for a in body["approvals"] if a["status"] == "needs_review"]
    assert waiting == ["US.DoD", "US.State", "NE.Defense", "NE.PM"]
    assert all(a["reasons"] for a in body["approvals"])
    assert body["violations"] == []
    assert body["overrides"] == []
    assert count_requests(client, actors) == 0


def test_an_evaluation_names_the_request_it_would_conflict_with(
    client: TestClient, actors: Actors
) -> None:
    first = client.post("/v1/requests", json=document("01"), headers=actors.operator()).json()
    again = client.post("/v1/evaluations", json=document("01"), headers=actors.operator())
    assert again.status_code == 200, again.text
    body = again.json()
    assert body["outcome"] == "infeasible"
    (conflict,) = body["violations"]
    assert conflict["code"] == "conflict"
    assert first["id"] in conflict["message"]
    assert count_requests(client, actors) == 1


def test_an_evaluation_of_a_bad_document_is_a_problem_naming_the_field(
    client: TestClient, actors: Actors
) -> None:
    doc = copy.deepcopy(document(AGADEZ))
    doc["volumes"][0]["volume"]["altitude_lower"]["value"] = "high"
    response = client.post("/v1/evaluations", json=doc, headers=actors.operator())
    body = assert_problem(response, 422)
    assert "volumes[0]" in body["detail"]
    assert "altitude_lower" in body["detail"]


def test_only_the_requests_operator_may_evaluate_it(client: TestClient, actors: Actors) -> None:
    response = client.post(
        "/v1/evaluations", json=document(AGADEZ), headers=actors.operator("FR.Barkhane")
    )
    assert_problem(response, 403)
    assert_problem(client.post("/v1/evaluations", json=document(AGADEZ)), 401)


# -- YAML bodies -----------------------------------------------------------------------
def test_a_request_may_be_submitted_as_yaml(client: TestClient, actors: Actors) -> None:
    text = yaml.safe_dump(document(AGADEZ))
    made = client.post(
        "/v1/requests",
        content=text.encode(),
        headers=actors.operator() | {"Content-Type": "application/yaml"},
    )
    assert made.status_code == 201, made.text
    assert made.json()["state"] == "pending"
    assert made.json()["document"]["purpose"] == document(AGADEZ)["purpose"]


def test_example_yaml_files_with_timestamps_evaluate_as_submitted(
    client: TestClient, actors: Actors
) -> None:
    """Unquoted YAML timestamps arrive as datetimes; they are read as RFC 3339 text."""
    text = yaml.safe_dump(document(AGADEZ)).replace("'", "")
    response = client.post(
        "/v1/evaluations",
        content=text.encode(),
        headers=actors.operator() | {"Content-Type": "application/yaml; charset=utf-8"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["outcome"] == "pending"
    # the document as it would be stored: plain JSON data, the timestamps as RFC 3339 text
    start = response.json()["document"]["volumes"][0]["time_start"]["value"]
    assert start in {"2020-03-02T04:00:00Z", "2020-03-02T04:00:00+00:00"}


def test_bad_yaml_bodies_are_400_problems_and_store_nothing(
    client: TestClient, actors: Actors
) -> None:
    headers = actors.operator() | {"Content-Type": "application/yaml"}
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)},"
        f" *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
        for i in range(8)
    )
    cases = {
        "operator: [unclosed\n": "not valid YAML",
        "- a list\n- not a mapping\n": "must be a YAML mapping",
        "1: numbers as keys\n": "every key must be text",
        bomb: "more than",
        "": "empty",
    }
    for text, words in cases.items():
        for path in ("/v1/requests", "/v1/evaluations"):
            response = client.post(path, content=text.encode(), headers=headers)
            body = assert_problem(response, 400)
            assert words in body["detail"], (text, body)
    bad_utf8 = client.post("/v1/requests", content=b"a: \xff\n", headers=headers)
    assert "UTF-8" in assert_problem(bad_utf8, 400)["detail"]
    odd = client.post(
        "/v1/requests", content=b"a: 1", headers=actors.operator() | {"Content-Type": "text/csv"}
    )
    assert "application/yaml" in assert_problem(odd, 415)["detail"]
    assert count_requests(client, actors) == 0


# -- GET /v1/overview ------------------------------------------------------------------
def test_the_overview_gives_each_authoritys_waiting_times(
    client: TestClient, actors: Actors, workflow: Context
) -> None:
    made = client.post("/v1/requests", json=document(AGADEZ), headers=actors.operator())
    rid = made.json()["id"]
    waits = {"US.DoD": 2, "US.State": 30, "NE.Defense": 5}  # hours each authority takes
    elapsed = 0
    for authority, hours in waits.items():
        elapsed += hours
        set_now(workflow, NOW + timedelta(hours=elapsed))
        decided = client.post(
            f"/v1/requests/{rid}/decisions",
            json={"authority": authority, "decision": "approve"},
            headers=actors.member(authority),
        )
        assert decided.status_code == 200, decided.text
    set_now(workflow, NOW + timedelta(hours=elapsed + 4))

    response = client.get("/v1/overview", headers=actors.operator())
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["requests"] == 1
    assert body["by_state"]["pending"] == 1
    rows = {row["authority"]: row for row in body["authorities"]}
    for authority, hours in waits.items():
        assert rows[authority]["decisions"] == 1
        assert rows[authority]["median_wait_seconds"] == hours * 3600
        assert rows[authority]["p90_wait_seconds"] == hours * 3600
    assert rows["NE.PM"]["decisions"] == 0
    assert rows["NE.PM"]["waiting_now"] == 1
    # NE.PM shares NE.Defense's stage: it has waited since US.State approved
    assert rows["NE.PM"]["oldest_waiting_seconds"] == (5 + 4) * 3600
    assert body["bottleneck"] == "US.State"
    assert body["authorities"][0]["authority"] == "US.State"  # slowest first


def test_the_overview_covers_only_what_the_caller_may_see(
    client: TestClient, actors: Actors
) -> None:
    client.post("/v1/requests", json=document(AGADEZ), headers=actors.operator())
    other = client.get("/v1/overview", headers=actors.operator("FR.Barkhane")).json()
    assert other["requests"] == 0
    assert other["authorities"] == []
    member = client.get("/v1/overview", headers=actors.member("NE.PM")).json()
    assert member["requests"] == 1
    assert_problem(client.get("/v1/overview"), 401)


# -- GET /v1/requests/{id}/audit -------------------------------------------------------
def test_a_requests_audit_entries_prove_their_inclusion_in_the_signed_checkpoint(
    client: TestClient, actors: Actors
) -> None:
    rid = client.post("/v1/requests", json=document(AGADEZ), headers=actors.operator()).json()["id"]
    client.post(
        f"/v1/requests/{rid}/decisions",
        json={"authority": "US.DoD", "decision": "approve", "comment": "ok"},
        headers=actors.member("US.DoD"),
    )
    client.post("/v1/requests", json=document("01"), headers=actors.operator())  # another

    response = client.get(f"/v1/requests/{rid}/audit", headers=actors.member("US.State"))
    assert response.status_code == 200, response.text
    body = response.json()
    name, key = parse_vkey(client.get("/v1/keys").json()["log"]["vkey"])
    signed = open_checkpoint(body["checkpoint"]["note"], name, key, origin=LOG_ORIGIN)
    kinds = [e["entry"]["kind"] for e in body["entries"]]
    assert kinds == ["request.submitted", "request.decided"], kinds
    for e in body["entries"]:
        data = base64.b64decode(e["data"])
        assert e["entry"]["request_id"] == rid
        assert base64.b64decode(e["leaf_hash"]) == leaf_hash(data)
        proof = [base64.b64decode(h) for h in e["inclusion_proof"]]
        verify_inclusion(leaf_hash(data), e["index"], signed.size, proof, signed.root)


def test_a_requests_audit_entries_are_hidden_from_those_who_may_not_see_it(
    client: TestClient, actors: Actors
) -> None:
    rid = client.post("/v1/requests", json=document(AGADEZ), headers=actors.operator()).json()["id"]
    assert_problem(
        client.get(f"/v1/requests/{rid}/audit", headers=actors.operator("FR.Barkhane")), 404
    )
    assert_problem(client.get(f"/v1/requests/{rid}/audit"), 401)
    assert_problem(client.get("/v1/requests/nope/audit", headers=actors.operator()), 404)


def test_me_names_the_role_and_the_services_present_time(
    client: TestClient, actors: Actors, workflow: Context
) -> None:
    me = client.get("/v1/me", headers=actors.member("NE.PM")).json()
    assert me == {
        "name": "NE.PM-member",
        "operator": None,
        "authority": "NE.PM",
        "now": "2017-11-20T00:00:00Z",
        "clock_rate": 0,
    }
    set_now(workflow, NOW + timedelta(hours=5))
    assert client.get("/v1/me", headers=actors.operator()).json()["now"] == "2017-11-20T05:00:00Z"
