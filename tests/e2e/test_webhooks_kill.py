"""SIGKILL of a `clearance serve` while it delivers loses no webhook: after a restart
every event arrives, signed, with the webhook-id it had (duplicates allowed: at least
once). SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import httpx
import yaml
from standardwebhooks import Webhook

from tests.serverproc import NIGER, Server
from tests.webhook_receiver import receiving

SUBSCRIPTIONS = 3
EVENTS = ("waiting_for_you", "decided", "denied")  # what a denial by US.DoD tells US.DoD


def test_a_server_killed_while_delivering_loses_no_event(db_url: str, tmp_path: Path) -> None:
    server = Server(db_url, tmp_path / "server.log")
    # a lease short enough for the test: the killed process's claim ends after 2 s
    server.extra_env = {
        "CLEARANCE_WEBHOOK_LEASE": "2",
        "CLEARANCE_WEBHOOK_BACKOFF": "0.2",
        "CLEARANCE_WEBHOOK_PRIVATE": "1",  # the receiver is on loopback
    }
    tokens = server.prepare(
        {"planner": ("--operator", "US.AFRICOM"), "dod": ("--authority", "US.DoD")}
    )
    with receiving(hold_first=5.0) as receiver:
        server.start()
        try:
            planner = {"Authorization": f"Bearer {tokens['planner']}"}
            dod = {"Authorization": f"Bearer {tokens['dod']}"}
            secrets = {}
            for _ in range(SUBSCRIPTIONS):
                body = {
                    "subscriber": {"kind": "authority", "name": "US.DoD"},
                    "url": receiver.url,
                    "events": list(EVENTS),
                }
                made = httpx.post(
                    f"{server.base}/v1/subscriptions", json=body, headers=dod, timeout=30
                )
                assert made.status_code == 201, made.text
                secrets[made.json()["id"]] = made.json()["secret"]
            doc = yaml.safe_load(
                (NIGER / "requests" / "05-us-armed-overwatch-agadez-2020.yaml").read_text()
            )
            created = httpx.post(
                f"{server.base}/v1/requests", json=doc, headers=planner, timeout=30
            )
            assert created.status_code == 201, created.text
            rid = created.json()["id"]
            decided = httpx.post(
                f"{server.base}/v1/requests/{rid}/decisions",
                json={"authority": "US.DoD", "decision": "deny", "comment": "no"},
                headers=dod,
                timeout=30,
            )
            assert decided.status_code == 200, decided.text
            assert len(receiver.wait_for(1, timeout=30)) >= 1  # one is in flight, held
            server.kill()
            in_flight = len(receiver.got)
            assert in_flight == 1  # the worker was stuck on the first: the rest unsent
            server.start()
            expected = SUBSCRIPTIONS * len(EVENTS)
            deadline_ids: set[str] = set()
            for _ in range(120):
                got = receiver.wait_for(expected + 1, timeout=0.5)
                deadline_ids = {r.headers["webhook-id"] for r in got}
                if len(deadline_ids) >= expected:
                    break
            listed = httpx.get(f"{server.base}/v1/deliveries", headers=dod, timeout=30).json()[
                "items"
            ]
        finally:
            server.stop()
        got = list(receiver.got)
    assert len(deadline_ids) == expected, server.log.read_text()
    by_id = {d["id"]: d for d in listed}
    assert set(by_id) == deadline_ids
    assert all(d["status"] == "delivered" for d in listed)
    told = set()
    for r in got:
        delivery = by_id[r.headers["webhook-id"]]
        payload = Webhook(secrets[delivery["subscription_id"]]).verify(r.body, r.headers)
        assert payload["data"]["request_id"] == rid
        told.add((delivery["subscription_id"], payload["type"]))
    assert told == {(s, e) for s in secrets for e in EVENTS}
    # the one in flight at the kill came again, with its webhook-id
    assert [r.headers["webhook-id"] for r in got].count(got[0].headers["webhook-id"]) == 2
