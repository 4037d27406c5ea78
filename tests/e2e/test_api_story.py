"""The whole story over HTTP: US.AFRICOM asks to fly armed overwatch from Agadez in 2020,
and four authorities clear it stage by stage, each seeing it only when its turn comes."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from fastapi.testclient import TestClient

from clearance.adapters.sql import make_engine
from clearance.api import create_app
from clearance.service import handlers, queries
from tests.e2e.conftest import Actors, document, make_workflow, set_now

CHAIN = [
    # (who decides, awaiting after that decision)
    ("US.DoD", ["US.State"]),
    ("US.State", ["NE.Defense", "NE.PM"]),
    ("NE.Defense", ["NE.PM"]),
    ("NE.PM", []),
]


def test_an_armed_request_is_cleared_by_four_authorities_in_stage_order(
    client: TestClient, actors: Actors
) -> None:
    planner = actors.operator("US.AFRICOM")
    submitted = client.post("/v1/requests", json=document("05"), headers=planner)
    assert submitted.status_code == 201
    request_id = submitted.json()["id"]
    location = submitted.headers["location"]
    assert submitted.json()["state"] == "pending"
    assert client.get(location, headers=planner).json()["awaiting"] == ["US.DoD"]

    for version, (authority, awaiting_after) in enumerate(CHAIN, start=2):
        member = actors.member(authority)
        queue = client.get(f"/v1/authorities/{authority}/queue", headers=member).json()
        assert [item["id"] for item in queue["items"]] == [request_id]

        decided = client.post(
            f"/v1/requests/{request_id}/decisions",
            json={"authority": authority, "decision": "approve", "comment": f"{authority} agrees"},
            headers=member,
        )
        assert decided.status_code == 200, decided.text
        assert decided.headers["etag"] == f'"{version}"'

        seen = client.get(location, headers=planner).json()
        assert seen["version"] == version
        assert seen["awaiting"] == awaiting_after
        assert seen["state"] == ("cleared" if not awaiting_after else "pending")
        step = next(a for a in seen["approvals"] if a["authority"] == authority)
        assert (step["status"], step["by"], step["comment"]) == (
            "approved",
            f"{authority}-member",
            f"{authority} agrees",
        )
        assert client.get(f"/v1/authorities/{authority}/queue", headers=member).json() == {
            "authority": authority,
            "items": [],
        }

    final = client.get(location, headers=planner).json()
    assert final["state"] == "cleared"
    # the evaluation's answer when it was submitted, apart from the live state
    assert final["evaluation"]["outcome"] == "pending"
    assert "outcome" not in final
    assert [e["kind"] for e in final["events"]] == ["submitted"] + ["decided"] * 4
    assert [e["detail"]["authority"] for e in final["events"][1:]] == [a for a, _ in CHAIN]
    cleared = client.get("/v1/requests?state=cleared", headers=planner).json()["items"]
    assert [r["id"] for r in cleared] == [request_id]


def test_the_server_stores_expiries_in_the_background(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        workflow = make_workflow(engine)
        token = handlers.add_principal(workflow, "planner", operator="US.AFRICOM")
        planner = queries.authenticate(workflow, token)
        rid = handlers.submit(workflow, planner, document("05")).record.id
        set_now(workflow, datetime(2020, 3, 2, 5, tzinfo=UTC))  # after its first start
        with TestClient(create_app(workflow, sweep_seconds=0.05)):
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                with workflow.uow() as uow:
                    stored = uow.requests.get(rid)
                if stored is not None and stored.state.value == "expired":
                    break
                time.sleep(0.05)
        assert stored is not None
        assert stored.state.value == "expired"
        with workflow.uow() as uow:
            assert [e.kind for e in uow.requests.events(rid)] == ["submitted", "expired"]
    finally:
        engine.dispose()
