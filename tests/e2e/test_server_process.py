"""The real server in a child process: the Agadez story over HTTP, and SIGKILL under load
losing no acknowledged write, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.serverproc import NIGER, Server, serving

PRINCIPALS = {
    "planner": ("--operator", "US.AFRICOM"),
    "dod": ("--authority", "US.DoD"),
    "state": ("--authority", "US.State"),
    "ne-defense": ("--authority", "NE.Defense"),
    "ne-pm": ("--authority", "NE.PM"),
}


def document(prefix: str) -> dict[str, Any]:
    (path,) = (NIGER / "requests").glob(f"{prefix}-*.yaml")
    data: dict[str, Any] = yaml.safe_load(path.read_text())
    return data


@pytest.fixture
def server(db_url: str, tmp_path: Path) -> Iterator[tuple[Server, dict[str, str]]]:
    with serving(db_url, tmp_path, PRINCIPALS) as started:
        yield started


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_the_agadez_story_runs_end_to_end_over_http(server: tuple[Server, dict[str, str]]) -> None:
    s, tokens = server
    with httpx.Client(base_url=s.base, timeout=30) as http:
        assert http.get("/healthz").json() == {"status": "ok"}
        made = http.post("/v1/requests", json=document("05"), headers=bearer(tokens["planner"]))
        assert made.status_code == 201, made.text
        rid = made.json()["id"]
        assert made.json()["state"] == "pending"
        order = [
            ("dod", "US.DoD"),
            ("state", "US.State"),
            ("ne-defense", "NE.Defense"),
            ("ne-pm", "NE.PM"),
        ]
        for who, authority in order:
            assert (
                authority
                in http.get(f"/v1/requests/{rid}", headers=bearer(tokens[who])).json()["awaiting"]
            )
            decided = http.post(
                f"/v1/requests/{rid}/decisions",
                json={"authority": authority, "decision": "approve", "comment": f"{who} agrees"},
                headers=bearer(tokens[who]),
            )
            assert decided.status_code == 200, decided.text
        final = http.get(f"/v1/requests/{rid}", headers=bearer(tokens["planner"])).json()
        assert final["state"] == "cleared"
        assert [a["by"] for a in final["approvals"]] == ["dod", "state", "ne-defense", "ne-pm"]


def test_sigkill_under_load_loses_no_acknowledged_write(
    server: tuple[Server, dict[str, str]],
) -> None:
    s, tokens = server
    acknowledged: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()
    body = document("05")

    def submit_until_killed() -> None:
        with httpx.Client(base_url=s.base, timeout=10) as http:
            while not stop.is_set():
                try:
                    r = http.post("/v1/requests", json=body, headers=bearer(tokens["planner"]))
                except httpx.HTTPError:
                    return  # the server died mid-request: that one was never acknowledged
                if r.status_code == 201:
                    with lock:
                        acknowledged.append(r.json()["id"])

    workers = [threading.Thread(target=submit_until_killed) for _ in range(6)]
    for w in workers:
        w.start()
    # kill once there is load to lose (at least 2 s, longer on a slow, shared machine)
    time.sleep(2.0)
    deadline = time.monotonic() + 60
    while len(acknowledged) < 20 and time.monotonic() < deadline:
        time.sleep(0.1)
    s.kill()
    stop.set()
    for w in workers:
        w.join(timeout=30)
    assert len(acknowledged) >= 20, "too little load to mean anything"

    s.start()  # same database, new process
    with httpx.Client(base_url=s.base, timeout=30) as http:
        listed = http.get("/v1/requests", params={"limit": 1000}, headers=bearer(tokens["planner"]))
        stored = {r["id"] for r in listed.json()["items"]} if listed.status_code == 200 else set()
        missing = [rid for rid in acknowledged if rid not in stored]
        for rid in missing:  # the list may be capped; ask for each one
            if (
                http.get(f"/v1/requests/{rid}", headers=bearer(tokens["planner"])).status_code
                == 200
            ):
                stored.add(rid)
    assert [rid for rid in acknowledged if rid not in stored] == []


def test_a_grant_revoked_through_one_server_is_honoured_by_another_at_once(
    db_url: str, tmp_path: Path
) -> None:
    """Two server processes on one database: the second reads the revocation the first
    committed for its very next evaluation (it once kept its own copy of the grants)."""
    first = Server(db_url, tmp_path / "first.log")
    tokens = first.prepare({"fr-planner": ("--operator", "FR.Barkhane"), **PRINCIPALS})
    second = Server(db_url, tmp_path / "second.log")
    first.start()
    second.start()
    try:
        with httpx.Client(timeout=30) as http:
            planner = bearer(tokens["fr-planner"])
            covered = http.post(f"{second.base}/v1/requests", json=document("07"), headers=planner)
            assert covered.status_code == 201, covered.text
            grants = {a["grant"] for a in covered.json()["approvals"]}
            assert "ne-fr-isr-armed" in grants  # the second process has used the grant
            revoked = http.post(
                f"{first.base}/v1/grants/ne-fr-isr-armed/revoke",
                headers=bearer(tokens["ne-defense"]),
            )
            assert revoked.status_code == 200, revoked.text
            assert covered.json()["id"] in revoked.json()["returned_to_review"]
            moved = document("07")
            for volume in moved["volumes"]:  # elsewhere in time: no conflict with the first
                for key in ("time_start", "time_end"):
                    volume[key]["value"] = volume[key]["value"].replace("2017-11", "2017-12")
            after = http.post(f"{second.base}/v1/requests", json=moved, headers=planner)
            assert after.status_code == 201, after.text
            ne = next(a for a in after.json()["approvals"] if a["authority"] == "NE.Defense")
            assert ne["grant"] is None
            assert ne["status"] == "needs_review"
    finally:
        first.stop()
        second.stop()
