"""``GET /v1/requests/{id}/forecast`` on SQLite and PostgreSQL: a forecast from the
decisions stored before it, "not enough history" when an authority has too few, and the
request's access rules (404 for who may not see it, 401 without a token)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import jsonschema_rs
from fastapi.testclient import TestClient

from clearance.domain.clearance.forecast import MIN_DECISIONS
from clearance.service.context import Context
from tests.e2e.conftest import NOW, Actors, assert_problem, document, later, set_now

INTO_NIGERIA = "13"  # pending: NE.Defense and NG.Defense in parallel at stage 2
US_ARMED = "05"  # pending: US.DoD, US.State, then NE.Defense and NE.PM
HOUR = 3600.0


def _submit(client: TestClient, actors: Actors, prefix: str, days: int) -> str:
    response = client.post(
        "/v1/requests", json=later(document(prefix), days), headers=actors.operator()
    )
    assert response.status_code == 201, response.text
    request_id: str = response.json()["id"]
    return request_id


def _approve(client: TestClient, actors: Actors, request_id: str, authority: str) -> None:
    response = client.post(
        f"/v1/requests/{request_id}/decisions",
        json={"authority": authority, "decision": "approve"},
        headers=actors.member(authority),
    )
    assert response.status_code == 200, response.text


def _history(client: TestClient, workflow: Context, actors: Actors) -> None:
    """Six requests into Nigeria, submitted at NOW, the i-th approved by both authorities
    i hours later."""
    ids = [_submit(client, actors, INTO_NIGERIA, days) for days in range(1, 7)]
    for hours, request_id in enumerate(ids, start=1):
        set_now(workflow, NOW + timedelta(hours=hours))
        _approve(client, actors, request_id, "NE.Defense")
        _approve(client, actors, request_id, "NG.Defense")


def _forecast(client: TestClient, headers: dict[str, str], request_id: str) -> Any:
    response = client.get(f"/v1/requests/{request_id}/forecast", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_pending_request_is_forecast_from_the_decisions_before_it(
    client: TestClient, workflow: Context, actors: Actors
) -> None:
    _history(client, workflow, actors)
    request_id = _submit(client, actors, INTO_NIGERIA, 10)  # at NOW + 6 h
    body = _forecast(client, actors.operator(), request_id)
    schema = client.get("/openapi.json").json()
    root = {"$ref": "#/components/schemas/ForecastOut", "components": schema["components"]}
    jsonschema_rs.validator_for(root).validate(body)
    assert body["status"] == "forecast"
    # both wait 1..6 h, in parallel: the larger of two is at most 5 h in 25 of 36 cases
    assert body["median_seconds"] == 5 * HOUR
    assert body["low_seconds"] <= body["median_seconds"] <= body["high_seconds"] == 6 * HOUR
    assert body["median_at"] == "2017-11-20T11:00:00Z"
    assert body["clear_probability"] == 1.0
    assert body["before_start_probability"] == 1.0  # it starts days later
    assert [(s["authority"], s["stage"], s["decisions"]) for s in body["remaining"]] == [
        ("NE.Defense", 2, 6),
        ("NG.Defense", 2, 6),
    ]
    assert all(s["waiting_seconds"] == 0.0 for s in body["remaining"])
    # a member of an authority in its chain sees the same forecast
    assert _forecast(client, actors.member("NG.Defense"), request_id) == body


def test_an_authority_with_too_few_decisions_is_named_not_guessed(
    client: TestClient, workflow: Context, actors: Actors
) -> None:
    _history(client, workflow, actors)
    request_id = _submit(client, actors, US_ARMED, 0)
    body = _forecast(client, actors.operator(), request_id)
    assert body["status"] == "not_enough_history"
    assert body["not_enough_history"] == ["NE.PM", "US.DoD", "US.State"]
    assert body["min_decisions"] == MIN_DECISIONS
    assert body["median_seconds"] is None
    assert body["before_start_probability"] is None
    assert [s["waiting_seconds"] for s in body["remaining"]] == [0.0, None, None, None]


def test_a_cleared_request_waits_for_no_one(
    client: TestClient, workflow: Context, actors: Actors
) -> None:
    cleared = _submit(client, actors, "01", 0)
    body = _forecast(client, actors.operator(), cleared)
    assert body["status"] == "not_pending"
    assert body["remaining"] == []


def test_a_forecast_keeps_the_requests_access_rules(
    client: TestClient, workflow: Context, actors: Actors
) -> None:
    request_id = _submit(client, actors, INTO_NIGERIA, 1)
    for headers in (actors.operator("FR.Barkhane"), actors.member("US.State")):
        assert_problem(client.get(f"/v1/requests/{request_id}/forecast", headers=headers), 404)
    assert_problem(client.get("/v1/requests/req-0/forecast", headers=actors.operator()), 404)
    assert_problem(client.get("/v1/requests/nonsense/forecast", headers=actors.operator()), 404)
    assert_problem(client.get(f"/v1/requests/{request_id}/forecast"), 401)
