"""High availability on PostgreSQL's own machinery: a synchronous streaming replica is
promoted while the server is under load, and nothing the server acknowledged is lost.

The server is given both hosts in one URL (libpq's multi-host form with
``target_session_attrs=read-write``), so once the primary is gone its next connection
lands on whichever server accepts writes: the promoted replica. While neither does, the
server answers 503 (a problem, with Retry-After), never 500."""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.test_server_process import PRINCIPALS, bearer, document
from tests.pgserver import PostgresServer, find_bin_dir, free_port
from tests.serverproc import Server


@pytest.fixture
def primary_and_replica() -> Iterator[tuple[PostgresServer, PostgresServer]]:
    bin_dir = find_bin_dir()
    if bin_dir is None:
        pytest.fail("PostgreSQL binaries not found; run scripts/ensure-postgres.sh")
    as_postgres = os.geteuid() == 0  # PostgreSQL refuses to run as root
    roots = [Path(tempfile.mkdtemp(prefix=f"clearance-ha-{n}-")) for n in ("primary", "replica")]
    for root in roots:
        if as_postgres:
            shutil.chown(root, user="postgres")
    counter = itertools.count(1)
    primary = PostgresServer(bin_dir, roots[0], free_port(), as_postgres, counter)
    servers = [primary]
    try:
        primary.start()
        replica = primary.start_replica(roots[1], free_port(), "standby1")
        servers.append(replica)
        yield primary, replica
    finally:
        for server in servers:
            server.stop()
        for root in roots:
            shutil.rmtree(root, ignore_errors=True)


def test_promoting_the_replica_under_load_loses_no_acknowledged_submission(
    primary_and_replica: tuple[PostgresServer, PostgresServer], tmp_path: Path
) -> None:
    primary, replica = primary_and_replica
    database = primary.create_database().rsplit("/", 1)[1]
    url = (
        f"postgresql+psycopg://postgres@/{database}?host=127.0.0.1:{primary.port}"
        f"&host=127.0.0.1:{replica.port}&target_session_attrs=read-write"
    )
    server = Server(url, tmp_path / "server.log")
    tokens = server.prepare(PRINCIPALS)
    server.start()
    acknowledged: list[str] = []
    statuses: list[int] = []
    lock = threading.Lock()
    stop = threading.Event()
    body = document("05")

    def submit() -> None:
        with httpx.Client(base_url=server.base, timeout=30) as http:
            while not stop.is_set():
                r = http.post("/v1/requests", json=body, headers=bearer(tokens["planner"]))
                with lock:
                    statuses.append(r.status_code)
                    if r.status_code == 201:
                        acknowledged.append(r.json()["id"])
                if r.status_code != 201:
                    time.sleep(0.05)

    def acknowledged_count() -> int:
        with lock:
            return len(acknowledged)

    threads = [threading.Thread(target=submit) for _ in range(4)]
    try:
        for t in threads:
            t.start()
        wait_until(
            lambda: acknowledged_count() >= 20,
            f"submissions before the failover (answers so far: {statuses})",
        )
        primary.crash()
        before_promotion = acknowledged_count()
        time.sleep(0.5)  # a moment with no server that accepts writes
        replica.promote()
        wait_until(
            lambda: acknowledged_count() >= before_promotion + 20,
            "submissions acknowledged by the promoted replica",
        )
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
        server.stop()

    stored = {row[0] for row in replica.sql("SELECT id FROM requests", database)}
    assert [rid for rid in acknowledged if rid not in stored] == []
    assert set(statuses) <= {201, 503}, f"answers while failing over: {sorted(set(statuses))}"


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")
