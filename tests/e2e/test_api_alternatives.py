"""What would clear it over HTTP (issue 15, item 1), on SQLite and PostgreSQL:
``GET /v1/requests/{id}/alternatives`` and ``POST /v1/evaluations?suggest=true``, their
bodies as the OpenAPI declares them, and problems for what may not be seen or read."""

from __future__ import annotations

from typing import Any

import jsonschema_rs
from fastapi.testclient import TestClient

from tests.e2e.conftest import Actors, assert_problem, document


def validator(openapi: dict[str, Any], component: str) -> Any:
    root = {"$ref": f"#/components/schemas/{component}", "components": openapi["components"]}
    return jsonschema_rs.validator_for(root)


def test_a_stored_request_gets_suggestions_that_clear_it_when_submitted(
    client: TestClient, actors: Actors
) -> None:
    planner = actors.operator()
    stored = client.post("/v1/requests", json=document("13"), headers=planner).json()
    assert stored["state"] == "pending"  # NG.Defense and NE.Defense must review it
    response = client.get(f"/v1/requests/{stored['id']}/alternatives", headers=planner)
    assert response.status_code == 200, response.text
    body = response.json()
    openapi = client.get("/openapi.json").json()
    validator(openapi, "Alternatives").validate(body)
    assert body["request"] == stored["id"]
    assert body["outcome"] == "pending"
    assert body["held"] == []
    best = body["suggestions"][0]
    assert best["outcome"] == "cleared"
    assert best["reviews"] == 0
    assert "clipped to leave NG's territory" in best["description"]
    assert [c["path"] for c in best["changes"]] == ["/volumes/0"]
    # taken as an amendment, it gets what it claimed
    amended = client.put(
        f"/v1/requests/{stored['id']}",
        json=best["document"],
        headers=planner | {"If-Match": f'"{stored["version"]}"'},
    )
    assert amended.status_code == 200, amended.text
    assert amended.json()["state"] == "cleared"
    assert [(a["authority"], a["stage"], a["status"]) for a in amended.json()["approvals"]] == [
        (a["authority"], a["stage"], a["status"]) for a in best["approvals"]
    ]


def test_suggestions_are_part_of_an_evaluation_when_asked(
    client: TestClient, actors: Actors
) -> None:
    planner = actors.operator()
    plain = client.post("/v1/evaluations", json=document("03"), headers=planner)
    assert plain.status_code == 200, plain.text
    assert "alternatives" not in plain.json()
    asked = client.post("/v1/evaluations?suggest=true", json=document("03"), headers=planner)
    assert asked.status_code == 200, asked.text
    body = asked.json()
    validator(client.get("/openapi.json").json(), "Evaluation").validate(body)
    assert body["outcome"] == "infeasible"
    found = body["alternatives"]
    assert found["request"] is None
    assert found["outcome"] == "infeasible"
    assert found["suggestions"]
    for s in found["suggestions"]:
        again = client.post("/v1/evaluations", json=s["document"], headers=planner).json()
        assert again["violations"] == []
        assert again["outcome"] == s["outcome"]
        assert again["approvals"] == s["approvals"]
    assert client.get("/v1/requests", headers=planner).json()["items"] == []  # nothing stored


def test_another_operators_request_and_unknown_ids_are_404(
    client: TestClient, actors: Actors
) -> None:
    stored = client.post("/v1/requests", json=document("05"), headers=actors.operator()).json()
    french = actors.operator("FR.Barkhane")
    assert_problem(client.get(f"/v1/requests/{stored['id']}/alternatives", headers=french), 404)
    assert_problem(client.get("/v1/requests/req-00/alternatives", headers=french), 404)
    assert_problem(client.get(f"/v1/requests/{stored['id']}/alternatives"), 401)
    # a member of an authority in its chain may see it, and its alternatives
    dod = client.get(f"/v1/requests/{stored['id']}/alternatives", headers=actors.member("US.DoD"))
    assert dod.status_code == 200, dod.text
    bad_limit = client.get(
        f"/v1/requests/{stored['id']}/alternatives?limit=0", headers=actors.operator()
    )
    assert_problem(bad_limit, 422)


def test_a_bad_document_asked_for_suggestions_is_a_problem_naming_the_field(
    client: TestClient, actors: Actors
) -> None:
    doc = document("05")
    doc["launch_site"] = "nowhere"
    response = client.post("/v1/evaluations?suggest=true", json=doc, headers=actors.operator())
    assert_problem(response, 422, field="launch_site")
