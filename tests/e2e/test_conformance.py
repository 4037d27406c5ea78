"""What was flown against what was cleared, over the API and the service."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from clearance.api import problems
from clearance.domain.airspace import telemetry
from clearance.domain.airspace.volumes import LatLng
from clearance.service.context import Context
from clearance.service.monitoring import simulated_track_csv
from tests.e2e.conftest import Actors, assert_problem, document

CSV = {"Content-Type": "text/csv"}


def cleared_isr(client: TestClient, actors: Actors) -> str:
    made = client.post("/v1/requests", json=document("01"), headers=actors.operator())
    assert made.json()["state"] == "cleared"
    rid: str = made.json()["id"]
    return rid


def test_a_track_inside_the_cleared_volume_conforms_and_is_recorded(
    client: TestClient, actors: Actors, workflow: Context
) -> None:
    rid = cleared_isr(client, actors)
    track = simulated_track_csv(workflow, rid, None)
    checked = client.post(
        f"/v1/requests/{rid}/telemetry", content=track, headers=actors.operator() | CSV
    )
    assert checked.status_code == 200, checked.text
    body = checked.json()
    assert body["conforming"] is True
    assert body["conformance_percent"] >= 95
    assert body["excursions"] == []
    events = client.get(f"/v1/requests/{rid}", headers=actors.operator()).json()["events"]
    assert events[-1]["kind"] == "conformance"
    assert events[-1]["detail"]["conforming"] is True
    # what was flown is kept beside the result (sampled), for the page to draw
    path = events[-1]["detail"]["path"]
    rows = track.strip().splitlines()[1:]
    assert 2 <= len(path) <= min(500, len(rows))
    first = rows[0].split(",")
    assert path[0] == [round(float(first[1]), 6), round(float(first[2]), 6)], (rows[0], path[0])


def test_a_track_drifting_towards_mali_is_not_conforming_and_names_mali(
    client: TestClient, actors: Actors, workflow: Context
) -> None:
    rid = cleared_isr(client, actors)  # a 25 km circle around Ouallam, Niger
    track = simulated_track_csv(workflow, rid, LatLng(15.3, -0.5))  # deep into Mali
    body = client.post(
        f"/v1/requests/{rid}/telemetry", content=track, headers=actors.operator() | CSV
    ).json()
    assert body["conforming"] is False
    parties = {x["party"] for x in body["excursions"]}
    assert "ML" in parties
    mali = next(x for x in body["excursions"] if x["party"] == "ML")
    assert mali["seconds"] > 10
    assert mali["flagged"] is True
    shown = client.get(f"/v1/requests/{rid}", headers=actors.operator()).json()
    assert shown["events"][-1]["detail"]["conforming"] is False


def test_malformed_telemetry_is_a_422_naming_the_line(client: TestClient, actors: Actors) -> None:
    rid = cleared_isr(client, actors)
    bad = (
        "time,lat,lng,alt_m\n2017-11-21T06:00:00Z,14.3,2.1,500\n2017-11-21T05:00:00Z,14.3,2.1,500\n"
    )
    response = client.post(
        f"/v1/requests/{rid}/telemetry", content=bad, headers=actors.operator() | CSV
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "line 3" in response.json()["detail"]


def test_telemetry_needs_a_known_media_type(client: TestClient, actors: Actors) -> None:
    rid = cleared_isr(client, actors)
    response = client.post(
        f"/v1/requests/{rid}/telemetry",
        content="x",
        headers=actors.operator() | {"Content-Type": "image/png"},
    )
    assert response.status_code == 415


def test_telemetry_for_a_request_the_caller_cannot_see_is_404(
    client: TestClient, actors: Actors
) -> None:
    rid = cleared_isr(client, actors)
    response = client.post(
        f"/v1/requests/{rid}/telemetry",
        content="time,lat,lng,alt_m\n2017-11-21T06:00:00Z,14.3,2.1,500\n",
        headers=actors.operator("FR.Barkhane") | CSV,
    )
    assert response.status_code == 404


def test_only_the_operator_records_telemetry_members_of_the_chain_get_403(
    client: TestClient, actors: Actors, workflow: Context
) -> None:
    rid = cleared_isr(client, actors)
    track = simulated_track_csv(workflow, rid, None)
    before = client.get(f"/v1/requests/{rid}", headers=actors.operator()).json()
    chain = {a["authority"] for a in before["approvals"]}
    assert {"US.DoD", "NE.Defense"} <= chain
    for authority in ("NE.Defense", "US.DoD"):
        member = actors.member(authority)
        assert client.get(f"/v1/requests/{rid}", headers=member).status_code == 200  # may read
        response = client.post(f"/v1/requests/{rid}/telemetry", content=track, headers=member | CSV)
        assert_problem(response, 403)
        assert "only the request's operator records telemetry" in response.json()["detail"]
    after = client.get(f"/v1/requests/{rid}", headers=actors.operator()).json()
    assert after["version"] == before["version"]  # nothing recorded
    assert len(after["events"]) == len(before["events"])
    mine = client.post(
        f"/v1/requests/{rid}/telemetry", content=track, headers=actors.operator() | CSV
    )
    assert mine.status_code == 200, mine.text


def test_telemetry_over_its_size_limit_is_413_while_it_streams(
    client: TestClient, actors: Actors, workflow: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(problems, "TELEMETRY_MAX_BYTES", 100_000)
    rid = cleared_isr(client, actors)
    track = simulated_track_csv(workflow, rid, None).encode()
    assert len(track) > 100_000

    def pieces() -> Iterator[bytes]:  # no Content-Length: refused as it arrives
        for at in range(0, len(track), 10_000):
            yield track[at : at + 10_000]

    response = client.post(
        f"/v1/requests/{rid}/telemetry", content=pieces(), headers=actors.operator() | CSV
    )
    assert_problem(response, 413)
    events = client.get(f"/v1/requests/{rid}", headers=actors.operator()).json()["events"]
    assert not any(e["kind"] == "conformance" for e in events)


def test_telemetry_over_the_point_limit_is_422_naming_the_line(
    client: TestClient, actors: Actors, workflow: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(telemetry, "MAX_POINTS", 1000)
    rid = cleared_isr(client, actors)
    track = simulated_track_csv(workflow, rid, None)
    response = client.post(
        f"/v1/requests/{rid}/telemetry", content=track, headers=actors.operator() | CSV
    )
    body = assert_problem(response, 422, field="line 1002")
    assert "at most 1,000 points" in body["detail"]
