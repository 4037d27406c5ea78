"""What the page lists and draws, over HTTP on SQLite and PostgreSQL: a request's title,
and the other side of a conflict, in full only for a viewer who may see the other request
(another operator's operation shows only its extent and time window)."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from tests.e2e.conftest import Actors, document


def moved_to(doc: dict[str, object], start: str, end: str) -> dict[str, object]:
    for volume in doc["volumes"]:  # type: ignore[attr-defined]
        volume["time_start"]["value"], volume["time_end"]["value"] = start, end
    return doc


def test_requests_are_listed_with_a_title_naming_purpose_operator_place_and_date(
    client: TestClient, actors: Actors
) -> None:
    made = client.post("/v1/requests", json=document("01"), headers=actors.operator())
    assert made.json()["title"] == (
        "isr (unarmed) · US.AFRICOM · Tillabéri region near the Mali border (illustrative)"
        " · 2017-11-21 06:00Z"
    )
    client.post("/v1/requests", json=document("02"), headers=actors.operator())
    (second, first) = client.get("/v1/requests", headers=actors.operator()).json()["items"]
    assert first["title"] == made.json()["title"]
    # outside every named area: where it flies from
    assert (
        second["title"]
        == "isr (unarmed) · US.AFRICOM · from Niamey Air Base 101 · 2017-11-22 05:00Z"
    )
    queued = client.post("/v1/requests", json=document("05"), headers=actors.operator()).json()
    queue = client.get("/v1/authorities/US.DoD/queue", headers=actors.member("US.DoD")).json()
    assert [i["title"] for i in queue["items"]] == [queued["title"]]
    assert queued["title"].startswith("armed-overwatch (armed) · US.AFRICOM · ")


def test_a_conflict_with_the_viewers_own_request_carries_its_volume(
    client: TestClient, actors: Actors
) -> None:
    first = client.post("/v1/requests", json=document("01"), headers=actors.operator()).json()
    doc = document("01")
    doc["aircraft"] = "US-MQ9-1"
    second = client.post("/v1/requests", json=doc, headers=actors.operator()).json()
    assert second["state"] == "infeasible"
    shown = client.get(f"/v1/requests/{second['id']}", headers=actors.operator()).json()
    (conflict,) = shown["conflicts"]
    assert conflict["request"] == first["id"]
    assert (conflict["volume"], conflict["other_volume"]) == (0, 0)
    assert conflict["visible"] is True
    assert conflict["other"] == document("01")["volumes"][0]
    assert conflict["time_start"] == "2017-11-21T06:00:00Z"
    assert conflict["time_end"] == "2017-11-21T14:00:00Z"
    extent = conflict["extent"]
    assert extent["south"] < 14.32 < extent["north"]
    assert extent["west"] < 2.09 < extent["east"]
    # a request without conflicts has none
    assert (
        client.get(f"/v1/requests/{first['id']}", headers=actors.operator()).json()["conflicts"]
        == []
    )
    # while composing, the evaluation carries the same
    evaluation = client.post("/v1/evaluations", json=doc, headers=actors.operator()).json()
    assert [c["request"] for c in evaluation["conflicts"]] == [first["id"]]
    assert evaluation["conflicts"][0]["other"] == document("01")["volumes"][0]


def test_another_operators_operation_in_a_conflict_shows_only_its_extent_and_window(
    client: TestClient, actors: Actors
) -> None:
    french = client.post(
        "/v1/requests", json=document("06"), headers=actors.operator("FR.Barkhane")
    ).json()  # armed overwatch near Ouallam, 2017-11-24 04:00 to 16:00
    assert french["state"] == "cleared"
    ours = moved_to(document("01"), "2017-11-24T06:00:00Z", "2017-11-24T10:00:00Z")
    made = client.post("/v1/requests", json=ours, headers=actors.operator()).json()
    assert made["state"] == "infeasible"
    response = client.get(f"/v1/requests/{made['id']}", headers=actors.operator())
    (conflict,) = response.json()["conflicts"]
    assert conflict["request"] == french["id"]
    assert conflict["visible"] is False
    assert conflict["other"] is None
    assert conflict["time_start"] == "2017-11-24T04:00:00Z"
    assert conflict["time_end"] == "2017-11-24T16:00:00Z"
    assert set(conflict["extent"]) == {
        "west", "south", "east", "north", "altitude_lower_m", "altitude_upper_m",
    }  # fmt: skip
    # nothing of the French document is revealed: not its operator, aircraft, payload,
    # purpose, justification or outline
    text = response.text
    for secret in ("FR.Barkhane", "FR-MQ9-1", "armed-overwatch", "French-Nigerien"):
        assert secret not in text, secret
    (violation,) = response.json()["evaluation"]["violations"]  # nor its priority (its purpose's)
    assert "20" not in violation["message"].replace(french["id"], "")
    assert json.dumps(document("06")["volumes"][0]) not in text
    assert "30000" not in json.dumps(conflict)
    # the evaluation while composing is held to the same
    evaluation = client.post("/v1/evaluations", json=ours, headers=actors.operator())
    assert "FR-MQ9-1" not in evaluation.text
    assert "FR.Barkhane" not in evaluation.text
    assert evaluation.json()["conflicts"][0]["other"] is None
    # a member of an authority in both chains may see both requests, so both volumes
    member = client.get(f"/v1/requests/{made['id']}", headers=actors.member("NE.Defense"))
    (seen,) = member.json()["conflicts"]
    assert seen["visible"] is True
    assert seen["other"] == document("06")["volumes"][0]
