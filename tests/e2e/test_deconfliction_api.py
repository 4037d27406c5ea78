"""Deconfliction over the API: the same airspace and time is not cleared twice."""

from __future__ import annotations

import copy

from fastapi.testclient import TestClient

from tests.e2e.conftest import Actors, document, later


def submit(
    client: TestClient, actors: Actors, body: dict[str, object], operator: str = "US.AFRICOM"
) -> dict[str, object]:
    made = client.post("/v1/requests", json=body, headers=actors.operator(operator))
    assert made.status_code == 201, made.text
    result: dict[str, object] = made.json()
    return result


def test_a_second_operation_in_the_same_airspace_and_time_is_not_cleared_and_names_the_first(
    client: TestClient, actors: Actors
) -> None:
    first = submit(client, actors, document("01"))
    assert first["state"] == "cleared"
    same_day = later(document("06"), -3)  # French overwatch over Ouallam on the same day
    second = submit(client, actors, same_day, operator="FR.Barkhane")
    assert second["state"] == "infeasible"
    (violation,) = second["evaluation"]["violations"]  # type: ignore[index]
    assert violation["code"] == "conflict"
    assert first["id"] in violation["message"]


def test_altitude_or_time_separated_operations_are_cleared(
    client: TestClient, actors: Actors
) -> None:
    submit(client, actors, document("01"))  # 300..4500 m, 2017-11-21 06:00-14:00
    above = copy.deepcopy(document("01"))
    volume = above["volumes"][0]["volume"]
    volume["altitude_lower"]["value"] = 5000
    volume["altitude_upper"]["value"] = 6000
    assert submit(client, actors, above)["state"] == "cleared"
    assert submit(client, actors, later(document("01"), 1))["state"] == "cleared"


def test_a_withdrawn_operation_frees_its_airspace(client: TestClient, actors: Actors) -> None:
    first = submit(client, actors, document("01"))
    client.post(f"/v1/requests/{first['id']}/withdraw", headers=actors.operator())
    assert submit(client, actors, document("01"))["state"] == "cleared"
