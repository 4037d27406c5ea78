"""Benchmark: submissions over HTTP against a real server on loopback.

Starts `clearance serve` on a fresh SQLite database (and, with --postgres URL, on that
database too), loads the Niger scenario, creates an operator principal, then drives
--connections keep-alive clients that POST /v1/requests for --seconds and measures
each response: first against one worker process, then against `serve --workers N` on the
same database (SQLite: N = --workers; PostgreSQL: 2), each with new, non-conflicting
copies. The load generator is a minimal asyncio HTTP/1.1 client on one core (no HTTP
library in the loop), so it takes a core of the machine's own. Prints submissions/s,
p50/p99 latency and the server's CPU time per submission (user + system, every process
and thread; it moves less with the machine's other load than the rate does) for each, and
the ratio of 2 (N) workers over 1 measured in the same run, as JSON on its last line.

    .venv/bin/python bench/api_load.py [--seconds 10] [--connections 16] [--workers 2]
        [--postgres URL|auto]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import benchkit  # bench/ is on sys.path when a bench runs as a script
import yaml

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT))  # the tests' helpers for a server and a PostgreSQL

from tests.serverproc import Server  # noqa: E402

DOCUMENT = ROOT / "examples" / "niger" / "requests" / "05-us-armed-overwatch-agadez-2020.yaml"


MINIMUM = 20  # responses a measured run waits for, however long it takes


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
    # past ``until`` too, until MINIMUM responses are in: a loaded machine may answer few
    # in a short run, and percentiles need some
    while time.perf_counter() < until or len(latencies) < MINIMUM:
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


def cpu_seconds(pids: list[int]) -> float | None:
    """User + system CPU time of these processes, all their threads (Linux's /proc), or
    None."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


async def drive(
    port: int,
    token: str,
    seconds: float,
    connections: int,
    source: Iterator[bytes],
    pids: list[int],
    database_pids: Callable[[], list[int]] = list,
) -> dict[str, Any]:
    latencies: list[float] = []
    errors: list[int] = []
    # Warm up (imports, caches, first connections), then measure.
    warm: list[float] = []
    await asyncio.gather(
        *(
            client(port, source, token, time.perf_counter() + 1.0, warm, [])
            for _ in range(connections)
        )
    )
    cpu_before = cpu_seconds(pids)
    database_before = {pid: cpu_seconds([pid]) or 0.0 for pid in database_pids()}
    start = time.perf_counter()
    until = start + seconds
    await asyncio.gather(
        *(client(port, source, token, until, latencies, errors) for _ in range(connections))
    )
    elapsed = time.perf_counter() - start
    cpu_after = cpu_seconds(pids)
    database_after = {pid: cpu_seconds([pid]) or 0.0 for pid in database_pids()}
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
    if database_after:  # PostgreSQL on this machine: its server processes' CPU as well
        used = sum(t - database_before.get(pid, 0.0) for pid, t in database_after.items())
        figures["database_cpu_ms_per_submission"] = round(used * 1000 / len(latencies), 2)
    return figures


def run_against(
    new_url: Callable[[], str],
    workdir: Path,
    seconds: float,
    connections: int,
    workers: int,
    wrk: bool = False,
) -> dict[str, Any]:
    """One worker, then ``workers``, each on a fresh database (``new_url()``); with
    ``wrk``, the same server is then measured by wrk as well (bench/wrk_submit.lua)."""
    figures: dict[str, Any] = {}
    sources: dict[str, Iterator[bytes]] = {}
    for count in (1, workers):
        url = new_url()
        server = Server(url, workdir / f"server-{url.split(':')[0]}-{count}.log", workers=count)
        name = f"bench-planner-{count}"
        token = server.prepare({name: ("--operator", "US.AFRICOM")})[name]
        # a database given twice (--postgres URL) continues its copies: no conflicts
        source = sources.setdefault(url, iter(bodies(int(seconds * 6000) + 20000)))
        server.start()
        try:
            assert server.process is not None
            pids = [server.process.pid]
            if count > 1:
                deadline = time.monotonic() + 60
                while len(server.worker_pids()) < count and time.monotonic() < deadline:
                    time.sleep(0.1)
                pids += server.worker_pids()
            run = asyncio.run(
                drive(
                    server.port,
                    token,
                    seconds,
                    connections,
                    source,
                    pids,
                    partial(local_postgres, url),
                )
            )
            if wrk:
                run["wrk"] = wrk_run(server.port, token, seconds, connections, source, workdir)
            figures[f"workers_{count}"] = run
        finally:
            server.stop()
    one, many = figures["workers_1"], figures[f"workers_{workers}"]
    figures[f"ratio_{workers}_over_1"] = round(
        many["submissions_per_s"] / one["submissions_per_s"], 2
    )
    return figures


def local_postgres(url: str) -> list[int]:
    """The processes of the PostgreSQL server at ``url`` when it runs on this machine and
    lets us read its data directory (the throwaway one), else none."""
    if not url.startswith("postgresql"):
        return []
    import psycopg

    plain = url.replace("postgresql+psycopg://", "postgresql://", 1)
    try:
        with psycopg.connect(plain) as connection:
            row = connection.execute("SHOW data_directory").fetchone()
        postmaster = int((Path(row[0]) / "postmaster.pid").read_text().split()[0])
        children = Path(f"/proc/{postmaster}/task/{postmaster}/children").read_text().split()
    except (psycopg.Error, OSError, TypeError, ValueError, IndexError):
        return []
    return [postmaster, *(int(c) for c in children)]


def wrk_run(
    port: int, token: str, seconds: float, connections: int, source: Iterator[bytes], workdir: Path
) -> dict[str, Any]:
    """wrk (scripts/ensure-wrk.sh) against the running server: 2 threads, ``connections``
    connections, each request the next of ``source``'s copies (one per line of a file the
    Lua script reads). Its requests/s and latency percentiles, as it prints them."""
    if shutil.which("wrk") is None:
        raise SystemExit("--wrk needs wrk: run scripts/ensure-wrk.sh")
    lines = workdir / "wrk-bodies.jsonl"
    lines.write_bytes(b"\n".join(itertools.islice(source, int(seconds * 2000) + 2000)) + b"\n")
    done = subprocess.run(
        [
            "wrk",
            "--threads",
            "2",
            "--connections",
            str(connections),
            "--duration",
            f"{max(1, round(seconds))}s",
            "--latency",
            "--script",
            str(Path(__file__).with_name("wrk_submit.lua")),
            f"http://127.0.0.1:{port}",
        ],
        env={**os.environ, "WRK_BODIES": str(lines), "WRK_TOKEN": token, "WRK_THREADS": "2"},
        capture_output=True,
        text=True,
        check=True,
    )
    out = done.stdout
    found: dict[str, Any] = {
        "requests_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])
    }  # type: ignore[index]
    for name, key in (("50%", "p50_ms"), ("99%", "p99_ms")):
        value, unit = re.search(rf"{name}\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
        found[key] = round(float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit], 2)
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    found["non_2xx"] = int(non_2xx[1]) if non_2xx else 0
    return found


@contextlib.contextmanager
def throwaway_postgres() -> Iterator[str]:
    """An empty database on a throwaway PostgreSQL server (bench/cells.py uses it too)."""
    with throwaway_postgres_databases() as new_database:
        yield new_database()


@contextlib.contextmanager
def throwaway_postgres_databases() -> Iterator[Callable[[], str]]:
    """A throwaway PostgreSQL server on loopback, as a maker of new empty databases."""
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
        yield server.create_database
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument(
        "--workers", type=int, default=2, help="worker processes of the SQLite run's second part"
    )
    ap.add_argument(
        "--postgres",
        help="a PostgreSQL URL to measure as well (an empty database), or 'auto' to start a "
        "throwaway server on loopback (Debian's postgresql binaries)",
    )
    ap.add_argument(
        "--wrk",
        action="store_true",
        help="measure each server with wrk too, right after (scripts/ensure-wrk.sh installs it)",
    )
    args = benchkit.parse_args(ap, {"seconds": 1.0, "connections": 4, "wrk": False})
    workdir = Path(tempfile.mkdtemp(prefix="clearance-bench-"))
    figures: dict[str, Any] = {"seconds": args.seconds, "connections": args.connections}
    try:
        # --small: one database for both runs (fewer CLI starts; its figures mean nothing)
        databases = (
            f"sqlite:///{workdir / f'bench-{0 if args.small else n}.db'}" for n in itertools.count()
        )
        figures["sqlite"] = run_against(
            partial(next, databases),
            workdir,
            args.seconds,
            args.connections,
            args.workers,
            args.wrk,
        )
        print(f"sqlite: {figures['sqlite']}")
        if args.postgres == "auto":
            with throwaway_postgres_databases() as new_database:
                figures["postgresql"] = run_against(
                    itertools.repeat(new_database()).__next__ if args.small else new_database,
                    workdir,
                    args.seconds,
                    args.connections,
                    2,
                    args.wrk,
                )
        elif args.postgres:
            given: str = args.postgres
            figures["postgresql"] = run_against(
                lambda: given, workdir, args.seconds, args.connections, 2, args.wrk
            )
        if "postgresql" in figures:
            print(f"postgresql: {figures['postgresql']}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    figures["target_sqlite"] = {"submissions_per_s": 800, "p99_ms": 50}
    figures["summary"] = {
        database: {
            **{
                key: [run[key]["submissions_per_s"], run[key]["p50_ms"], run[key]["p99_ms"]]
                for key in run
                if key.startswith("workers_")
            },
            "ratio": next(v for k, v in run.items() if k.startswith("ratio_")),
        }
        for database, run in figures.items()
        if database in ("sqlite", "postgresql")
    }  # [submissions/s, p50 ms, p99 ms] per worker count
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
