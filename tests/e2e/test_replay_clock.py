"""A scenario's replayed clock is the one clock of the service: the records, the queue,
the overview and ``/v1/me`` (which the page runs forward at ``clock_rate``) all read it,
so waits grow as the replay runs. Driven by a fake monotonic source: no sleeps."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from clearance.adapters.clock import ReplayClock
from clearance.service.context import Context
from tests.e2e.conftest import NOW, Actors, document

HOUR = "2017-11-20T01:00:00Z"


class FakeMonotonic:
    seconds = 500.0

    def __call__(self) -> float:
        return self.seconds


def dod_waits(overview: dict[str, Any]) -> dict[str, Any]:
    (row,) = (a for a in overview["authorities"] if a["authority"] == "US.DoD")
    return row


def test_records_queue_overview_and_me_read_one_replayed_clock(
    client: TestClient, actors: Actors, workflow: Context
) -> None:
    ticks = FakeMonotonic()
    workflow.clock = ReplayClock(NOW, 60, monotonic=ticks)  # a minute is an hour
    planner, dod = actors.operator(), actors.member("US.DoD")

    me = client.get("/v1/me", headers=planner).json()
    assert (me["now"], me["clock_rate"]) == ("2017-11-20T00:00:00Z", 60)
    submitted = client.post("/v1/requests", json=document("05"), headers=planner)
    assert submitted.status_code == 201, submitted.text
    rid = submitted.json()["id"]
    assert submitted.json()["waiting_since"] == {"US.DoD": "2017-11-20T00:00:00Z"}

    ticks.seconds += 60  # one real minute later
    assert client.get("/v1/me", headers=dod).json()["now"] == HOUR
    (item,) = client.get("/v1/authorities/US.DoD/queue", headers=dod).json()["items"]
    assert item["id"] == rid
    assert item["age_seconds"] == 3600
    assert dod_waits(client.get("/v1/overview", headers=dod).json())["oldest_waiting_seconds"] == (
        3600
    )

    decided = client.post(
        f"/v1/requests/{rid}/decisions",
        json={"authority": "US.DoD", "decision": "approve", "comment": "ok"},
        headers=dod,
    )
    assert decided.status_code == 200, decided.text
    body = decided.json()
    assert body["approvals"][0]["at"] == HOUR
    assert body["updated_at"] == HOUR
    assert dod_waits(client.get("/v1/overview", headers=dod).json())["median_wait_seconds"] == 3600


def test_me_says_a_pinned_clock_stands_still(client: TestClient, actors: Actors) -> None:
    me = client.get("/v1/me", headers=actors.operator()).json()
    assert (me["now"], me["clock_rate"]) == ("2017-11-20T00:00:00Z", 0)
