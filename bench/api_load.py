"""Benchmark: submissions over HTTP against a real server on loopback.

Starts `clearance serve` on a fresh SQLite database (and, with --postgres URL, on that
database too), loads the Niger scenario, creates an operator principal, then drives
--connections keep-alive clients that POST /v1/requests for --seconds and measures
each response. The load generator is a minimal asyncio HTTP/1.1 client on one core
(no HTTP library in the loop), so most of the machine's second core is left to the
server. Prints submissions/s and p50/p99 latency as JSON on its last line.

    .venv/bin/python bench/api_load.py [--seconds 10] [--connections 16] [--postgres URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).parents[1]
CLEARANCE = [sys.executable, "-m", "clearance.cli"]
DOCUMENT = ROOT / "examples" / "niger" / "requests" / "05-us-armed-overwatch-agadez-2020.yaml"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(url: str, workdir: Path) -> tuple[subprocess.Popen[bytes], int, str]:
    env = {**os.environ, "CLEARANCE_DATABASE_URL": url}
    subprocess.run(
        [*CLEARANCE, "scenario", "load", str(ROOT / "examples" / "niger")],
        env=env,
        check=True,
        capture_output=True,
    )
    out = subprocess.run(
        [*CLEARANCE, "principal", "add", "bench-planner", "--operator", "US.AFRICOM"],
        env=env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    token = out.stdout.strip().splitlines()[-1]
    port = free_port()
    log = (workdir / "server.log").open("wb")
    server = subprocess.Popen(
        [*CLEARANCE, "serve", "--port", str(port)], env=env, stdout=log, stderr=log
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return server, port, token
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit(f"server did not start; see {workdir / 'server.log'}")


async def client(
    port: int, body: bytes, token: str, until: float, latencies: list[float], errors: list[int]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = (
        f"POST /v1/requests HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    while time.perf_counter() < until:
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


async def drive(port: int, token: str, seconds: float, connections: int) -> dict[str, Any]:
    body = json.dumps(yaml.safe_load(DOCUMENT.read_text())).encode()
    latencies: list[float] = []
    errors: list[int] = []
    # Warm up (imports, caches, first connections), then measure.
    await asyncio.gather(
        *(client(port, body, token, time.perf_counter() + 1.0, [], []) for _ in range(connections))
    )
    start = time.perf_counter()
    until = start + seconds
    await asyncio.gather(
        *(client(port, body, token, until, latencies, errors) for _ in range(connections))
    )
    elapsed = time.perf_counter() - start
    return {
        "submissions": len(latencies),
        "submissions_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies), 2),
        "p99_ms": round(statistics.quantiles(latencies, n=100)[98], 2),
        "non_201": len(errors),
    }


def run_against(url: str, workdir: Path, seconds: float, connections: int) -> dict[str, Any]:
    server, port, token = start_server(url, workdir)
    try:
        return asyncio.run(drive(port, token, seconds, connections))
    finally:
        server.terminate()
        server.wait(timeout=10)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--postgres", help="a PostgreSQL URL to measure as well (an empty database)")
    args = ap.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="clearance-bench-"))
    figures: dict[str, Any] = {"seconds": args.seconds, "connections": args.connections}
    try:
        figures["sqlite"] = run_against(
            f"sqlite:///{workdir / 'bench.db'}", workdir, args.seconds, args.connections
        )
        print(f"sqlite: {figures['sqlite']}")
        if args.postgres:
            figures["postgresql"] = run_against(
                args.postgres, workdir, args.seconds, args.connections
            )
            print(f"postgresql: {figures['postgresql']}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    figures["target_sqlite"] = {"submissions_per_s": 800, "p99_ms": 50}
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
