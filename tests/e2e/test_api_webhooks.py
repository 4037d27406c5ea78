"""``/v1/subscriptions`` and ``/v1/deliveries`` over HTTP: who may subscribe whom, the
secret shown once, problems on bad input, the dead-letter list and redeliver."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from clearance.adapters.clock import wall_now
from clearance.adapters.webhook_sender import HttpSender
from clearance.service.context import Context
from clearance.service.webhooks import DeliveryPolicy, deliver_due
from tests.e2e.conftest import Actors, assert_problem, document
from tests.webhook_receiver import receiving

ONE_TRY = DeliveryPolicy(attempts=1, base=0.0, jitter=0.0)


def _subscribe(client: TestClient, headers: dict[str, str], **body: Any) -> Any:
    return client.post("/v1/subscriptions", json=body, headers=headers)


def test_a_member_subscribes_its_authority_and_sees_the_secret_once(
    client: TestClient, actors: Actors
) -> None:
    dod = actors.member("US.DoD")
    created = _subscribe(
        client,
        dod,
        subscriber={"kind": "authority", "name": "US.DoD"},
        url="https://hooks.example/dod",
        events=["waiting_for_you", "deadline_passed"],
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["secret"].startswith("whsec_")
    assert created.headers["location"] == f"/v1/subscriptions/{body['id']}"
    listed = client.get("/v1/subscriptions", headers=dod).json()["items"]
    assert [s["id"] for s in listed] == [body["id"]]
    assert "secret" not in listed[0]
    # another authority's member sees none of it, and cannot stop it
    ne = actors.member("NE.Defense")
    assert client.get("/v1/subscriptions", headers=ne).json()["items"] == []
    assert_problem(client.delete(f"/v1/subscriptions/{body['id']}", headers=ne), 404)
    assert client.delete(f"/v1/subscriptions/{body['id']}", headers=dod).status_code == 204
    assert client.get("/v1/subscriptions", headers=dod).json()["items"] == []


def test_subscribing_for_someone_else_is_forbidden(client: TestClient, actors: Actors) -> None:
    planner = actors.operator()
    for subscriber in (
        {"kind": "authority", "name": "US.DoD"},
        {"kind": "operator", "name": "FR.Barkhane"},
        {"kind": "principal", "name": "someone-else"},
    ):
        response = _subscribe(
            client, planner, subscriber=subscriber, url="https://h.example/", events=["cleared"]
        )
        assert_problem(response, 403)


def test_bad_subscriptions_are_problems_naming_the_field(
    client: TestClient, actors: Actors
) -> None:
    planner = actors.operator()
    me = {"kind": "operator", "name": "US.AFRICOM"}
    for body, field in (
        ({"subscriber": me, "url": "ftp://h.example/", "events": ["cleared"]}, "url"),
        ({"subscriber": me, "url": "not a url", "events": ["cleared"]}, "url"),
        ({"subscriber": me, "url": "https://h.example/", "events": ["exploded"]}, "events"),
        ({"subscriber": me, "url": "https://h.example/", "events": []}, "events"),
        ({"subscriber": me, "url": "https://h.example/", "events": ["cleared"], "x": 1}, "x"),
        (
            {
                "subscriber": {"kind": "king", "name": "a"},
                "url": "https://h/",
                "events": ["cleared"],
            },
            "subscriber.kind",
        ),
    ):
        response = client.post("/v1/subscriptions", json=body, headers=planner)
        problem = assert_problem(response, 422)
        assert field in str(problem.get("field", "")) + str(problem.get("detail", ""))
    assert client.get("/v1/subscriptions", headers=planner).json()["items"] == []
    assert_problem(client.get("/v1/deliveries?status=lost", headers=planner), 422)


def test_dead_deliveries_are_listed_and_redelivered(
    client: TestClient, actors: Actors, workflow: Context
) -> None:
    planner = actors.operator()
    with receiving(statuses=[500]) as receiver:
        created = _subscribe(
            client,
            planner,
            subscriber={"kind": "operator", "name": "US.AFRICOM"},
            url=receiver.url,
            events=["cleared"],
        )
        assert created.status_code == 201, created.text
        submitted = client.post("/v1/requests", json=document("01"), headers=planner)
        assert submitted.json()["state"] == "cleared"
        assert deliver_due(workflow.uow, HttpSender(allow_private=True), wall_now, ONE_TRY) == (
            0,
            1,
        )
        (dead,) = client.get("/v1/deliveries?status=dead", headers=planner).json()["items"]
        assert dead["event"] == "cleared"
        assert dead["request_id"] == submitted.json()["id"]
        assert "HTTP 500" in dead["last_error"]
        other = actors.member("NE.Defense")
        assert client.get("/v1/deliveries", headers=other).json()["items"] == []
        assert_problem(client.post(f"/v1/deliveries/{dead['id']}/redeliver", headers=other), 404)
        again = client.post(f"/v1/deliveries/{dead['id']}/redeliver", headers=planner)
        assert again.status_code == 202
        assert deliver_due(workflow.uow, HttpSender(allow_private=True), wall_now, ONE_TRY) == (
            1,
            0,
        )
        got = receiver.wait_for(2)
    assert [r.headers["webhook-id"] for r in got] == [dead["id"]] * 2
    (done,) = client.get("/v1/deliveries?status=delivered", headers=planner).json()["items"]
    assert done["id"] == dead["id"]
