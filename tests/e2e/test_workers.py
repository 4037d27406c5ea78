"""`clearance serve --workers N`: one port, N worker processes, on SQLite and PostgreSQL.

SIGKILL of one of two workers under load loses no acknowledged submission or decision,
the other keeps serving meanwhile, and the supervisor starts a new worker in its place."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import document
from tests.e2e.test_two_processes import shifted
from tests.serverproc import CLEARANCE, Server, free_port

PRINCIPALS = {
    "planner": ("--operator", "US.AFRICOM"),
    "dod": ("--authority", "US.DoD"),
}


@pytest.fixture
def two_workers(db_url: str, tmp_path: Path) -> Iterator[tuple[Server, dict[str, str]]]:
    server = Server(db_url, tmp_path / "server.log", workers=2)
    tokens = server.prepare(PRINCIPALS)
    server.start()
    try:
        _wait_for(lambda: len(server.worker_pids()) == 2, "two workers")
        yield server, tokens
    finally:
        server.stop()


def _wait_for(condition: object, what: str, seconds: float = 60) -> None:
    assert callable(condition)
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"no {what} after {seconds} s"
        time.sleep(0.1)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_sigkill_of_one_of_two_workers_under_load_loses_nothing_acknowledged(
    two_workers: tuple[Server, dict[str, str]],
) -> None:
    server, tokens = two_workers
    submitted: list[tuple[float, str]] = []  # (when acknowledged, request id)
    decided: list[str] = []  # request ids whose US.DoD approval was acknowledged
    lock = threading.Lock()
    stop = threading.Event()
    counter = iter(range(1_000_000))
    base = document("05")

    def load(decide: bool) -> None:
        # A new connection after a failure: the kernel gives it to a live worker.
        http = httpx.Client(base_url=server.base, timeout=30)
        try:
            while not stop.is_set():
                with lock:
                    i = next(counter)
                try:
                    made = http.post(
                        "/v1/requests",
                        json=shifted(base, 13 * i),
                        headers=bearer(tokens["planner"]),
                    )
                    if made.status_code != 201:
                        continue
                    rid = made.json()["id"]
                    with lock:
                        submitted.append((time.monotonic(), rid))
                    if not decide:
                        continue
                    approved = http.post(
                        f"/v1/requests/{rid}/decisions",
                        json={"authority": "US.DoD", "decision": "approve"},
                        headers=bearer(tokens["dod"]),
                    )
                    if approved.status_code == 200:
                        with lock:
                            decided.append(rid)
                except httpx.HTTPError:  # the killed worker's connection: never acknowledged
                    http.close()
                    http = httpx.Client(base_url=server.base, timeout=30)
        finally:
            http.close()

    threads = [threading.Thread(target=load, args=(n % 2 == 0,)) for n in range(6)]
    for t in threads:
        t.start()
    try:
        # counts, not times: this machine may be slow (2 cores shared with other work)
        _wait_for(lambda: len(submitted) >= 10 and decided, "load", seconds=180)
        first, second = server.worker_pids()
        os.kill(first, signal.SIGKILL)
        killed_at = time.monotonic()
        _wait_for(
            lambda: sum(1 for at, _ in submitted if at > killed_at) >= 20, "serving", seconds=180
        )
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)

    # the supervisor replaced the killed worker; the other one is the same process
    _wait_for(lambda: len(server.worker_pids()) == 2, "replacement worker")
    pids = server.worker_pids()
    assert second in pids
    assert first not in pids
    assert "ended (signal SIGKILL); starting another" in server.log.read_text()

    with httpx.Client(base_url=server.base, timeout=30) as http:
        lost = []
        for _, rid in submitted:
            seen = http.get(f"/v1/requests/{rid}", headers=bearer(tokens["planner"]))
            if seen.status_code != 200:
                lost.append(rid)
            elif rid in decided:
                by = [a["by"] for a in seen.json()["approvals"] if a["authority"] == "US.DoD"]
                if by != ["dod"]:
                    lost.append(rid)
    assert lost == []


def test_sigterm_to_the_supervisor_stops_every_worker(
    two_workers: tuple[Server, dict[str, str]],
) -> None:
    server, _ = two_workers
    assert server.process is not None
    pids = server.worker_pids()
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(timeout=60) == 0
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_serve_with_workers_refuses_a_database_never_upgraded_before_forking(
    tmp_path: Path,
) -> None:
    done = subprocess.run(
        [*CLEARANCE, "serve", "--workers", "2", "--port", str(free_port())],
        env={**os.environ, "CLEARANCE_DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 3, done.stderr
    assert "clearance db upgrade" in done.stderr
    assert "started (pid" not in done.stderr  # no worker was forked


@pytest.mark.parametrize("workers", ["0", "65", "two"])
def test_serve_refuses_a_worker_count_out_of_range_naming_the_option(
    workers: str, tmp_path: Path
) -> None:
    done = subprocess.run(
        [*CLEARANCE, "serve", "--workers", workers, "--port", str(free_port())],
        env={**os.environ, "CLEARANCE_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert "--workers" in done.stderr
    assert "Traceback" not in done.stderr
