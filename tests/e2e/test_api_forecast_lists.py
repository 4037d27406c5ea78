"""Forecasts on ``GET /v1/authorities/{id}/queue`` and ``GET /v1/overview``, on SQLite
and PostgreSQL: every queue item and the overview's pending requests carry a forecast
(or say whose history is too short), the overview sets forecast against actual for the
requests people cleared, and counts those cleared with no person's step."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import jsonschema_rs
from fastapi.testclient import TestClient

from clearance.service.context import Context
from tests.e2e.conftest import NOW, Actors, document, later, set_now

INTO_NIGERIA = "13"  # pending: NE.Defense and NG.Defense in parallel at stage 2
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


def _history(client: TestClient, workflow: Context, actors: Actors, n: int = 7) -> list[str]:
    """``n`` requests into Nigeria, one a day, each approved by both authorities two
    hours after it was submitted."""
    ids = []
    for day in range(n):
        set_now(workflow, NOW + timedelta(days=day))
        request_id = _submit(client, actors, INTO_NIGERIA, 20 + day)
        set_now(workflow, NOW + timedelta(days=day, hours=2))
        _approve(client, actors, request_id, "NE.Defense")
        _approve(client, actors, request_id, "NG.Defense")
        ids.append(request_id)
    return ids


def _valid(client: TestClient, schema_name: str, body: Any) -> None:
    schema = client.get("/openapi.json").json()
    root = {"$ref": f"#/components/schemas/{schema_name}", "components": schema["components"]}
    jsonschema_rs.validator_for(root).validate(body)


def test_every_queue_item_carries_its_forecast(
    client: TestClient, workflow: Context, actors: Actors
) -> None:
    _history(client, workflow, actors)
    set_now(workflow, NOW + timedelta(days=10))
    waiting = [_submit(client, actors, INTO_NIGERIA, days) for days in (30, 31)]
    response = client.get("/v1/authorities/NE.Defense/queue", headers=actors.member("NE.Defense"))
    assert response.status_code == 200, response.text
    body = response.json()
    _valid(client, "Queue", body)
    assert [i["id"] for i in body["items"]] == waiting
    for item in body["items"]:
        f = item["forecast"]
        assert f["status"] == "forecast"
        assert f["median_seconds"] == 2 * HOUR
        assert f["median_at"] == "2017-11-30T02:00:00Z"
        assert f["before_start_probability"] == 1.0
        assert f["not_enough_history"] == []
        # the same figures as the request's own forecast
        alone = client.get(f"/v1/requests/{item['id']}/forecast", headers=actors.operator())
        assert {k: alone.json()[k] for k in f} == f


def test_a_queue_without_history_says_so_on_each_item(client: TestClient, actors: Actors) -> None:
    _submit(client, actors, INTO_NIGERIA, 3)
    body = client.get(
        "/v1/authorities/NG.Defense/queue", headers=actors.member("NG.Defense")
    ).json()
    (item,) = body["items"]
    assert item["forecast"]["status"] == "not_enough_history"
    assert item["forecast"]["not_enough_history"] == ["NE.Defense", "NG.Defense"]
    assert item["forecast"]["median_seconds"] is None


def test_the_overview_forecasts_pending_requests_and_checks_cleared_ones(
    client: TestClient, workflow: Context, actors: Actors
) -> None:
    cleared = _history(client, workflow, actors)
    set_now(workflow, NOW + timedelta(days=10))
    _submit(client, actors, "01", 40)  # cleared by policy: no person's step
    later_one, sooner = (_submit(client, actors, INTO_NIGERIA, d) for d in (33, 31))
    response = client.get("/v1/overview", headers=actors.operator())
    assert response.status_code == 200, response.text
    body = response.json()
    _valid(client, "OverviewOut", body)
    assert body["by_state"]["cleared"] == 8
    assert body["cleared_automatically"] == 1
    assert body["automatic_share"] == 1 / 8
    forecasts = body["forecasts"]
    assert forecasts["pending"] == 2
    assert [i["request_id"] for i in forecasts["items"]] == [sooner, later_one]
    assert all(i["status"] == "forecast" for i in forecasts["items"])
    assert forecasts["items"][0]["median_seconds"] == 2 * HOUR
    checked = {i["request_id"]: i for i in body["forecast_vs_actual"]["items"]}
    assert set(checked) == set(cleared)  # the automatic one is not compared
    for day, request_id in enumerate(cleared):
        c = checked[request_id]
        assert c["actual_seconds"] == 2 * HOUR
        if day < 5:  # fewer than five decisions before it was submitted
            assert (c["status"], c["inside"]) == ("not_enough_history", None)
        else:
            assert (c["status"], c["median_seconds"], c["inside"]) == ("forecast", 2 * HOUR, True)
    # an official of the chain sees the same forecasts
    member = client.get("/v1/overview", headers=actors.member("NG.Defense")).json()
    assert member["forecasts"] == forecasts
