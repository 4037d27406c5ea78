"""The HTTP API, endpoint by endpoint: happy paths, authentication, authorisation,
stage order, versions, idempotency and the problem documents errors come back as."""

from __future__ import annotations

import copy
import logging
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from clearance.api import create_app
from clearance.service.context import Context
from tests.e2e.conftest import (
    NOW,
    Actors,
    Headers,
    assert_problem,
    document,
    later,
    niger,
    set_now,
)

US_ARMED = "05"  # pending: US.DoD, then US.State, then NE.Defense and NE.PM
US_ISR = "01"  # cleared by policy and grant
FR_ARMED = "06"  # cleared, NE.Defense through grant ne-fr-isr-armed
US_INTO_NIGERIA = "13"  # pending: NE.Defense and NG.Defense at stage 2


def submit(
    client: TestClient, headers: Headers, prefix: str = US_ARMED, days_later: int = 0, **extra: str
) -> Any:
    body = later(document(prefix), days_later)
    response = client.post("/v1/requests", json=body, headers=headers | extra)
    assert response.status_code == 201, response.text
    return response.json()


def decide(
    client: TestClient, headers: Headers, request_id: str, authority: str, decision: str = "approve"
) -> Any:
    return client.post(
        f"/v1/requests/{request_id}/decisions",
        json={"authority": authority, "decision": decision, "comment": "ok"},
        headers=headers,
    )


# -- health, OpenAPI, authentication ---------------------------------------------------


def test_healthz_answers_without_a_token(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_openapi_lists_every_operation(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert set(paths) >= {
        "/v1/requests",
        "/v1/requests/{request_id}",
        "/v1/requests/{request_id}/decisions",
        "/v1/requests/{request_id}/withdraw",
        "/v1/authorities/{authority_id}/queue",
        "/v1/grants/{grant_id}/revoke",
        "/healthz",
    }
    body = paths["/v1/requests"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/RequestDocument"}


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic dXNlcjpwYXNz"}],
    ids=["no token", "unknown token", "wrong scheme"],
)
def test_every_v1_endpoint_wants_a_valid_bearer_token(client: TestClient, headers: Headers) -> None:
    calls = [
        ("GET", "/v1/requests"),
        ("GET", "/v1/requests/req-1"),
        ("POST", "/v1/requests"),
        ("PUT", "/v1/requests/req-1"),
        ("POST", "/v1/requests/req-1/decisions"),
        ("POST", "/v1/requests/req-1/withdraw"),
        ("GET", "/v1/authorities/US.DoD/queue"),
        ("POST", "/v1/grants/ne-fr-isr-armed/revoke"),
        ("GET", "/v1/authorities/US.DoD/members"),
        ("POST", "/v1/authorities/US.DoD/members"),
        ("POST", "/v1/authorities/US.DoD/members/revocations"),
    ]
    for method, path in calls:
        response = client.request(method, path, headers=headers, json={})
        assert_problem(response, 401)
        assert response.headers["www-authenticate"] == "Bearer"


def test_unknown_route_and_wrong_method_are_problems(client: TestClient) -> None:
    assert_problem(client.get("/v1/nothing"), 404)
    assert_problem(client.delete("/healthz"), 405)


# -- submit, read, list ----------------------------------------------------------------


def test_submit_returns_the_resource_with_location_and_etag(
    client: TestClient, actors: Actors
) -> None:
    response = client.post("/v1/requests", json=document(US_ARMED), headers=actors.operator())
    assert response.status_code == 201
    body = response.json()
    assert response.headers["location"] == f"/v1/requests/{body['id']}"
    assert response.headers["etag"] == '"1"'
    assert "idempotent-replayed" not in response.headers
    assert body["state"] == "pending"
    assert "outcome" not in body  # one live state; the evaluation's outcome is nested
    assert body["evaluation"] == {
        "outcome": "pending",
        "violations": [],
        "evaluated_at": "2017-11-20T00:00:00Z",
        "scenario_version": niger().version,  # the SHA-256 of the example's files
    }
    assert len(body["evaluation"]["scenario_version"]) == 64
    assert body["version"] == 1
    assert body["operator"] == "US.AFRICOM"
    assert body["submitted_by"] == "US.AFRICOM-planner"
    assert body["created_at"] == body["updated_at"] == "2017-11-20T00:00:00Z"
    assert body["time_start"] == "2020-03-02T04:00:00Z"
    assert body["time_end"] == "2020-03-02T16:00:00Z"
    assert body["awaiting"] == ["US.DoD"]
    assert body["waiting_since"] == {"US.DoD": "2017-11-20T00:00:00Z"}
    assert body["document"] == document(US_ARMED)
    first = body["approvals"][0]
    assert first["authority"] == "US.DoD"
    assert first["stage"] == 1
    assert first["status"] == "needs_review"
    assert {"by", "at", "comment", "conditions", "volumes", "reasons", "policies"} <= set(first)


def test_get_shows_the_request_and_its_timeline(client: TestClient, actors: Actors) -> None:
    created = submit(client, actors.operator())
    response = client.get(f"/v1/requests/{created['id']}", headers=actors.operator())
    assert response.status_code == 200
    assert response.headers["etag"] == '"1"'
    body = response.json()
    assert body["id"] == created["id"]
    assert [e["kind"] for e in body["events"]] == ["submitted"]
    assert body["events"][0]["by"] == "US.AFRICOM-planner"


def test_a_request_has_one_live_state_and_its_last_evaluation_nested(
    client: TestClient, actors: Actors, workflow: Context
) -> None:
    """No top-level ``outcome`` beside ``state`` in any view of a stored request: the
    last evaluation is ``evaluation: {outcome, violations, evaluated_at}``, dated when it
    was made; decisions move the state, not it; an amendment evaluates anew."""
    created = submit(client, actors.operator(), US_ARMED)
    set_now(workflow, NOW + timedelta(hours=2))
    assert decide(client, actors.member("US.DoD"), created["id"], "US.DoD").status_code == 200
    path = f"/v1/requests/{created['id']}"
    shown = client.get(path, headers=actors.operator()).json()
    listed = client.get("/v1/requests", headers=actors.operator()).json()["items"]
    queued = client.get("/v1/authorities/US.State/queue", headers=actors.member("US.State"))
    for view in (created, shown, *listed):
        assert "outcome" not in view
        assert "violations" not in view
        assert view["evaluation"]["outcome"] == "pending"
        assert view["evaluation"]["violations"] == []
        assert view["evaluation"]["evaluated_at"] == "2017-11-20T00:00:00Z"  # not 02:00
    for item in queued.json()["items"]:
        assert "outcome" not in item
    assert shown["state"] == "pending"
    assert shown["version"] == 2

    set_now(workflow, NOW + timedelta(hours=3))
    doc = copy.deepcopy(document(US_ARMED))
    doc["volumes"][0]["volume"]["outline_circle"]["radius"]["value"] = 20000
    amended = client.put(path, json=doc, headers=actors.operator() | {"If-Match": '"2"'})
    assert amended.status_code == 200, amended.text
    again = client.get(path, headers=actors.operator()).json()
    for view in (amended.json(), again):
        assert "outcome" not in view
        assert view["evaluation"]["evaluated_at"] == "2017-11-20T03:00:00Z"
        assert view["evaluation"]["outcome"] == "pending"


def test_a_request_is_invisible_to_other_operators_and_unrelated_authorities(
    client: TestClient, actors: Actors
) -> None:
    created = submit(client, actors.operator())
    path = f"/v1/requests/{created['id']}"
    assert_problem(client.get(path, headers=actors.operator("FR.Barkhane")), 404)
    assert_problem(client.get(path, headers=actors.member("FR.Defense")), 404)
    assert client.get(path, headers=actors.member("NE.PM")).status_code == 200


def test_list_filters_by_state(client: TestClient, actors: Actors) -> None:
    pending = submit(client, actors.operator(), US_ARMED)
    cleared = submit(client, actors.operator(), US_ISR)
    listed = client.get("/v1/requests", headers=actors.operator()).json()["items"]
    assert {r["id"] for r in listed} == {pending["id"], cleared["id"]}
    only = client.get("/v1/requests?state=cleared&limit=5", headers=actors.operator()).json()
    assert [r["id"] for r in only["items"]] == [cleared["id"]]
    one = client.get("/v1/requests?limit=1", headers=actors.operator()).json()
    assert len(one["items"]) == 1


@pytest.mark.parametrize(
    ("query", "field"), [("state=approved", "state"), ("limit=0", "limit"), ("limit=x", "limit")]
)
def test_list_rejects_bad_query_parameters(
    client: TestClient, actors: Actors, query: str, field: str
) -> None:
    response = client.get(f"/v1/requests?{query}", headers=actors.operator())
    assert_problem(response, 422, field=field, source="query")


def test_a_request_whose_volumes_all_ended_is_refused_naming_volumes(
    client: TestClient, actors: Actors
) -> None:
    doc = document(US_ISR)
    doc["volumes"][0]["time_start"]["value"] = "2017-11-01T06:00:00Z"
    doc["volumes"][0]["time_end"]["value"] = "2017-11-01T18:00:00Z"
    response = client.post("/v1/requests", json=doc, headers=actors.operator())
    assert_problem(response, 422, field="volumes", source="body")


def test_an_invalid_document_names_the_field(client: TestClient, actors: Actors) -> None:
    doc = document(US_ISR)
    doc["volumes"][0]["volume"]["outline_circle"]["radius"]["units"] = "FT"
    response = client.post("/v1/requests", json=doc, headers=actors.operator())
    body = assert_problem(response, 422, source="body")
    assert body["field"].startswith("volumes[0]")


def test_an_operator_cannot_submit_for_another_operator(client: TestClient, actors: Actors) -> None:
    response = client.post("/v1/requests", json=document(FR_ARMED), headers=actors.operator())
    assert_problem(response, 403)


# -- idempotency -----------------------------------------------------------------------


def test_the_same_idempotency_key_and_body_submit_once(client: TestClient, actors: Actors) -> None:
    key = {"Idempotency-Key": "k-1"}
    first = client.post("/v1/requests", json=document(US_ARMED), headers=actors.operator() | key)
    again = client.post("/v1/requests", json=document(US_ARMED), headers=actors.operator() | key)
    assert first.status_code == again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["location"] == first.headers["location"]
    listed = client.get("/v1/requests", headers=actors.operator()).json()["items"]
    assert [r["id"] for r in listed] == [first.json()["id"]]


def test_the_same_idempotency_key_with_another_body_is_refused(
    client: TestClient, actors: Actors
) -> None:
    key = {"Idempotency-Key": "k-1"}
    submit(client, actors.operator(), US_ARMED, **key)
    response = client.post("/v1/requests", json=document(US_ISR), headers=actors.operator() | key)
    assert_problem(response, 422, field="Idempotency-Key", source="header")


# -- decisions -------------------------------------------------------------------------


def test_a_member_approves_their_stage(client: TestClient, actors: Actors) -> None:
    created = submit(client, actors.operator())
    response = client.post(
        f"/v1/requests/{created['id']}/decisions",
        json={
            "authority": "US.DoD",
            "decision": "approve",
            "comment": "within the mandate",
            "conditions": {"text": "report on landing", "time_end": "2020-03-02T12:00:00Z"},
        },
        headers=actors.member("US.DoD"),
    )
    assert response.status_code == 200, response.text
    assert response.headers["etag"] == '"2"'
    body = response.json()
    assert body["awaiting"] == ["US.State"]
    dod = body["approvals"][0]
    assert dod["status"] == "approved"
    assert dod["by"] == "US.DoD-member"
    assert dod["at"] == "2017-11-20T00:00:00Z"
    assert dod["comment"] == "within the mandate"
    assert dod["conditions"] == {
        "text": "report on landing",
        "time_start": None,
        "time_end": "2020-03-02T12:00:00Z",
        "volume": None,
    }


def test_a_decision_on_a_version_no_longer_current_conflicts(
    client: TestClient, actors: Actors
) -> None:
    """If-Match on a decision names the version its author saw: a request changed since
    (here US.DoD approved, version 2) is refused with 409 naming the current version, and
    nothing is recorded."""
    created = submit(client, actors.operator())
    assert decide(client, actors.member("US.DoD"), created["id"], "US.DoD").status_code == 200
    response = client.post(
        f"/v1/requests/{created['id']}/decisions",
        json={"authority": "US.State", "decision": "approve"},
        headers=actors.member("US.State") | {"If-Match": '"1"'},
    )
    body = assert_problem(response, 409)
    assert "at version 2, not 1" in body["detail"]
    shown = client.get(f"/v1/requests/{created['id']}", headers=actors.operator())
    assert shown.headers["etag"] == '"2"'
    assert shown.json()["awaiting"] == ["US.State"]
    current = client.post(
        f"/v1/requests/{created['id']}/decisions",
        json={"authority": "US.State", "decision": "approve"},
        headers=actors.member("US.State") | {"If-Match": '"2"'},
    )
    assert current.status_code == 200, current.text
    assert current.headers["etag"] == '"3"'
    assert "US.State" not in current.json()["awaiting"]


def test_a_decision_rejects_an_unreadable_if_match(client: TestClient, actors: Actors) -> None:
    created = submit(client, actors.operator())
    response = client.post(
        f"/v1/requests/{created['id']}/decisions",
        json={"authority": "US.DoD", "decision": "approve"},
        headers=actors.member("US.DoD") | {"If-Match": "*"},
    )
    assert_problem(response, 422, field="If-Match", source="header")


def test_a_deny_ends_the_request(client: TestClient, actors: Actors) -> None:
    created = submit(client, actors.operator())
    response = decide(client, actors.member("US.DoD"), created["id"], "US.DoD", "deny")
    assert response.status_code == 200
    assert response.json()["state"] == "denied"
    assert response.json()["awaiting"] == []


def test_conditions_outside_the_request_window_are_refused(
    client: TestClient, actors: Actors
) -> None:
    created = submit(client, actors.operator())
    response = client.post(
        f"/v1/requests/{created['id']}/decisions",
        json={
            "authority": "US.DoD",
            "decision": "approve",
            "conditions": {"text": "x", "time_end": "2021-01-01T00:00:00Z"},
        },
        headers=actors.member("US.DoD"),
    )
    body = assert_problem(response, 422, source="body")
    assert body["field"].startswith("conditions")


def test_a_member_of_another_authority_may_not_decide(client: TestClient, actors: Actors) -> None:
    created = submit(client, actors.operator())
    response = decide(client, actors.member("NE.Defense"), created["id"], "US.DoD")
    assert_problem(response, 403)


def test_an_operator_principal_may_not_decide(client: TestClient, actors: Actors) -> None:
    created = submit(client, actors.operator())
    response = decide(client, actors.operator(), created["id"], "US.DoD")
    assert_problem(response, 403)


def test_a_later_stage_cannot_decide_before_an_earlier_one(
    client: TestClient, actors: Actors
) -> None:
    created = submit(client, actors.operator())
    response = decide(client, actors.member("US.State"), created["id"], "US.State")
    body = assert_problem(response, 409)
    assert "US.DoD" in body["detail"]


def test_a_stage_cannot_be_decided_twice(client: TestClient, actors: Actors) -> None:
    created = submit(client, actors.operator())
    assert decide(client, actors.member("US.DoD"), created["id"], "US.DoD").status_code == 200
    assert_problem(decide(client, actors.member("US.DoD"), created["id"], "US.DoD"), 409)


def test_deciding_an_unknown_request_is_not_found(client: TestClient, actors: Actors) -> None:
    assert_problem(decide(client, actors.member("US.DoD"), "req-nope", "US.DoD"), 404)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"authority": "US.DoD", "decision": "maybe"}, "decision"),
        ({"decision": "approve"}, "authority"),
        ({"authority": 7, "decision": "approve"}, "authority"),
        ({"authority": "US.DoD", "decision": "approve", "conditions": "soon"}, "conditions"),
        ({"authority": "US.DoD", "decision": "approve", "extra": 1}, "extra"),
    ],
)
def test_a_malformed_decision_names_the_field(
    client: TestClient, actors: Actors, body: dict[str, Any], field: str
) -> None:
    created = submit(client, actors.operator())
    response = client.post(
        f"/v1/requests/{created['id']}/decisions", json=body, headers=actors.member("US.DoD")
    )
    assert_problem(response, 422, field=field, source="body")


# -- withdraw --------------------------------------------------------------------------


def test_withdraw_then_decide_conflicts(client: TestClient, actors: Actors) -> None:
    created = submit(client, actors.operator())
    response = client.post(f"/v1/requests/{created['id']}/withdraw", headers=actors.operator())
    assert response.status_code == 200
    assert response.json()["state"] == "withdrawn"
    assert response.headers["etag"] == '"2"'
    assert_problem(decide(client, actors.member("US.DoD"), created["id"], "US.DoD"), 409)
    again = client.post(f"/v1/requests/{created['id']}/withdraw", headers=actors.operator())
    assert_problem(again, 409)


def test_a_member_may_not_withdraw(client: TestClient, actors: Actors) -> None:
    created = submit(client, actors.operator())
    response = client.post(
        f"/v1/requests/{created['id']}/withdraw", headers=actors.member("US.DoD")
    )
    assert_problem(response, 403)


# -- amend -----------------------------------------------------------------------------


def approved_by_dod(client: TestClient, actors: Actors) -> Any:
    created = submit(client, actors.operator())
    response = decide(client, actors.member("US.DoD"), created["id"], "US.DoD")
    assert response.status_code == 200
    return response.json()


def test_amend_without_if_match_is_428(client: TestClient, actors: Actors) -> None:
    record = approved_by_dod(client, actors)
    response = client.put(
        f"/v1/requests/{record['id']}", json=document(US_ARMED), headers=actors.operator()
    )
    assert_problem(response, 428, field="If-Match", source="header")


def test_amend_with_a_stale_version_conflicts(client: TestClient, actors: Actors) -> None:
    record = approved_by_dod(client, actors)
    response = client.put(
        f"/v1/requests/{record['id']}",
        json=document(US_ARMED),
        headers=actors.operator() | {"If-Match": '"1"'},
    )
    assert_problem(response, 409)


@pytest.mark.parametrize("if_match", ['"2"', "2", 'W/"2"'])
def test_amending_the_justification_keeps_every_decision(
    client: TestClient, actors: Actors, if_match: str
) -> None:
    record = approved_by_dod(client, actors)
    doc = document(US_ARMED)
    doc["justification"] = "Reworded: armed overwatch of a partnered patrol."
    response = client.put(
        f"/v1/requests/{record['id']}", json=doc, headers=actors.operator() | {"If-Match": if_match}
    )
    assert response.status_code == 200, response.text
    assert response.headers["etag"] == '"3"'
    body = response.json()
    assert body["kept"] == ["US.DoD"]
    assert body["reset"] == []
    assert body["awaiting"] == ["US.State"]
    assert body["document"]["justification"] == doc["justification"]


def test_amending_a_volume_resets_the_decisions(client: TestClient, actors: Actors) -> None:
    record = approved_by_dod(client, actors)
    doc = copy.deepcopy(document(US_ARMED))
    doc["volumes"][0]["volume"]["outline_circle"]["radius"]["value"] = 20000
    response = client.put(
        f"/v1/requests/{record['id']}", json=doc, headers=actors.operator() | {"If-Match": '"2"'}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["kept"] == []
    assert body["reset"] == ["US.DoD"]
    assert body["awaiting"] == ["US.DoD"]


@pytest.mark.parametrize("if_match", ["*", "abc", '"1", "2"', "1" * 40])
def test_amend_rejects_an_unreadable_if_match(
    client: TestClient, actors: Actors, if_match: str
) -> None:
    record = approved_by_dod(client, actors)
    response = client.put(
        f"/v1/requests/{record['id']}",
        json=document(US_ARMED),
        headers=actors.operator() | {"If-Match": if_match},
    )
    assert_problem(response, 422, field="If-Match", source="header")


# -- queue -----------------------------------------------------------------------------


def test_queue_lists_oldest_first_only_requests_whose_earlier_stages_are_done(
    client: TestClient, actors: Actors, workflow: Context
) -> None:
    older = submit(client, actors.operator(), US_ARMED)
    set_now(workflow, NOW + timedelta(hours=1))
    newer = submit(client, actors.operator(), US_ARMED, days_later=1)
    nigeria = submit(client, actors.operator(), US_INTO_NIGERIA)
    set_now(workflow, NOW + timedelta(hours=3))

    dod = client.get("/v1/authorities/US.DoD/queue", headers=actors.member("US.DoD")).json()
    assert dod["authority"] == "US.DoD"
    assert [i["id"] for i in dod["items"]] == [older["id"], newer["id"]]
    assert dod["items"][0]["waiting_since"] == "2017-11-20T00:00:00Z"
    assert dod["items"][0]["age_seconds"] == 3 * 3600
    assert dod["items"][1]["age_seconds"] == 2 * 3600

    # NE.Defense decides at stage 3 on the armed requests: only Nigeria's is open to it.
    ne = client.get("/v1/authorities/NE.Defense/queue", headers=actors.member("NE.Defense"))
    assert [i["id"] for i in ne.json()["items"]] == [nigeria["id"]]

    assert decide(client, actors.member("US.DoD"), newer["id"], "US.DoD").status_code == 200
    state = client.get("/v1/authorities/US.State/queue", headers=actors.member("US.State"))
    (item,) = state.json()["items"]
    assert item["id"] == newer["id"]
    assert item["waiting_since"] == "2017-11-20T03:00:00Z"
    assert item["age_seconds"] == 0


def test_only_members_see_their_authority_queue(client: TestClient, actors: Actors) -> None:
    headers = actors.member("US.State")
    assert_problem(client.get("/v1/authorities/US.DoD/queue", headers=headers), 403)
    assert_problem(client.get("/v1/authorities/US.DoD/queue", headers=actors.operator()), 403)


# -- grants ----------------------------------------------------------------------------


def test_revoking_a_grant_returns_covered_requests_to_review(
    client: TestClient, actors: Actors
) -> None:
    french = submit(client, actors.operator("FR.Barkhane"), FR_ARMED)
    assert french["state"] == "cleared"
    response = client.post("/v1/grants/ne-fr-isr-armed/revoke", headers=actors.member("NE.Defense"))
    assert response.status_code == 200, response.text
    assert response.json() == {"grant": "ne-fr-isr-armed", "returned_to_review": [french["id"]]}

    now = client.get(f"/v1/requests/{french['id']}", headers=actors.operator("FR.Barkhane"))
    body = now.json()
    assert body["state"] == "pending"
    ne = next(a for a in body["approvals"] if a["authority"] == "NE.Defense")
    assert ne["status"] == "needs_review"
    # FR.Defense cleared it automatically only because the host nation's grant covered it.
    assert body["awaiting"] == ["FR.Defense"]
    assert body["events"][-1]["kind"] == "grant_revoked"

    again = client.post("/v1/grants/ne-fr-isr-armed/revoke", headers=actors.member("NE.Defense"))
    assert_problem(again, 409)


def test_only_the_grantor_may_revoke_a_grant(client: TestClient, actors: Actors) -> None:
    for headers in (actors.member("US.DoD"), actors.operator("FR.Barkhane")):
        response = client.post("/v1/grants/ne-fr-isr-armed/revoke", headers=headers)
        assert_problem(response, 403)


def test_revoking_an_unknown_grant_is_not_found(client: TestClient, actors: Actors) -> None:
    response = client.post("/v1/grants/no-such-grant/revoke", headers=actors.member("NE.Defense"))
    assert_problem(response, 404)


# -- the last line ---------------------------------------------------------------------


def test_a_genuine_bug_is_a_logged_500_problem(
    workflow: Context, caplog: pytest.LogCaptureFixture
) -> None:
    app: FastAPI = create_app(workflow)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("a bug")

    with caplog.at_level(logging.ERROR, "clearance.api"), TestClient(app) as client:
        response = client.get("/boom")
    body = assert_problem(response, 500)
    assert "a bug" not in body["detail"]
    assert "unhandled error on GET /boom" in caplog.text
