"""Benchmark: submissions over HTTP against a real server on loopback.

Starts `clearance serve` on a fresh SQLite database (and, with --postgres URL, on that
database too), loads the Niger scenario, creates an operator principal, then drives
--connections keep-alive clients that POST /v1/requests for --seconds and measures
each response. The load generator is a minimal asyncio HTTP/1.1 client on one core
(no HTTP library in the loop), so most of the machine's second core is left to the
server. Prints submissions/s, p50/p99 latency and the server's CPU time per submission
(user + system, all its threads; it moves less with the machine's other load than the
rate does) as JSON on its last line.

    .venv/bin/python bench/api_load.py [--seconds 10] [--connections 16] [--postgres URL]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import benchkit  # bench/ is on sys.path when a bench runs as a script
import yaml

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT))  # the tests' helpers for a server and a PostgreSQL

from tests.serverproc import Server  # noqa: E402

DOCUMENT = ROOT / "examples" / "niger" / "requests" / "05-us-armed-overwatch-agadez-2020.yaml"


def bodies(count: int) -> list[bytes]:
    """The Agadez request, each copy 13 hours after the previous one, so that they do not
    conflict (each is evaluated, deconflicted and stored as pending)."""
    doc = yaml.safe_load(DOCUMENT.read_text())
    out = []
    for i in range(count):
        moved = json.loads(json.dumps(doc))
        for volume in moved["volumes"]:
            for key in ("time_start", "time_end"):
                at = datetime.fromisoformat(volume[key]["value"]) + timedelta(hours=13 * i)
                volume[key]["value"] = at.isoformat().replace("+00:00", "Z")
        out.append(json.dumps(moved).encode())
    return out


async def client(
    port: int,
    source: Iterator[bytes],
    token: str,
    until: float,
    latencies: list[float],
    errors: list[int],
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    while time.perf_counter() < until:
        body = next(source)
        head = (
            f"POST /v1/requests HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        t = time.perf_counter()
        writer.write(head + body)
        status_line = await reader.readline()
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        await reader.readexactly(length)
        latencies.append((time.perf_counter() - t) * 1000)
        status = int(status_line.split()[1])
        if status != 201:
            errors.append(status)
    writer.close()


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process, all its threads (Linux's /proc), or None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def drive(
    port: int, token: str, seconds: float, connections: int, pid: int | None = None
) -> dict[str, Any]:
    source = iter(bodies(int(seconds * 3000) + 10000))
    latencies: list[float] = []
    errors: list[int] = []
    # Warm up (imports, caches, first connections), then measure.
    await asyncio.gather(
        *(
            client(port, source, token, time.perf_counter() + 1.0, [], [])
            for _ in range(connections)
        )
    )
    cpu_before = cpu_seconds(pid) if pid else None
    start = time.perf_counter()
    until = start + seconds
    await asyncio.gather(
        *(client(port, source, token, until, latencies, errors) for _ in range(connections))
    )
    elapsed = time.perf_counter() - start
    cpu_after = cpu_seconds(pid) if pid else None
    figures = {
        "submissions": len(latencies),
        "submissions_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies), 2),
        "p99_ms": round(statistics.quantiles(latencies, n=100)[98], 2),
        "non_201": len(errors),
    }
    if cpu_before is not None and cpu_after is not None:
        figures["server_cpu_ms_per_submission"] = round(
            (cpu_after - cpu_before) * 1000 / len(latencies), 2
        )
    return figures


def run_against(url: str, workdir: Path, seconds: float, connections: int) -> dict[str, Any]:
    server = Server(url, workdir / f"server-{url.split(':')[0]}.log")
    token = server.prepare({"bench-planner": ("--operator", "US.AFRICOM")})["bench-planner"]
    server.start()
    try:
        assert server.process is not None
        return asyncio.run(drive(server.port, token, seconds, connections, server.process.pid))
    finally:
        server.stop()


@contextlib.contextmanager
def throwaway_postgres() -> Iterator[str]:
    from tests.pgserver import PostgresServer, find_bin_dir
    from tests.pgserver import free_port as pg_port

    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise SystemExit("no PostgreSQL binaries: run scripts/ensure-postgres.sh")
    root = Path(tempfile.mkdtemp(prefix="clearance-bench-pg-"))
    as_postgres = os.geteuid() == 0
    if as_postgres:
        shutil.chown(root, user="postgres")
    server = PostgresServer(bin_dir, root, pg_port(), as_postgres, itertools.count(1))
    server.start()
    try:
        yield server.create_database()
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument(
        "--postgres",
        help="a PostgreSQL URL to measure as well (an empty database), or 'auto' to start a "
        "throwaway server on loopback (Debian's postgresql binaries)",
    )
    args = benchkit.parse_args(ap, {"seconds": 1.0, "connections": 4})
    workdir = Path(tempfile.mkdtemp(prefix="clearance-bench-"))
    figures: dict[str, Any] = {"seconds": args.seconds, "connections": args.connections}
    try:
        figures["sqlite"] = run_against(
            f"sqlite:///{workdir / 'bench.db'}", workdir, args.seconds, args.connections
        )
        print(f"sqlite: {figures['sqlite']}")
        if args.postgres == "auto":
            with throwaway_postgres() as url:
                figures["postgresql"] = run_against(url, workdir, args.seconds, args.connections)
        elif args.postgres:
            figures["postgresql"] = run_against(
                args.postgres, workdir, args.seconds, args.connections
            )
        if "postgresql" in figures:
            print(f"postgresql: {figures['postgresql']}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    figures["target_sqlite"] = {"submissions_per_s": 800, "p99_ms": 50}
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
