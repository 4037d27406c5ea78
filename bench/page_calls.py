"""Benchmark: how quickly the page's own calls answer one person, against a real server.

Starts `clearance serve` on a fresh SQLite database, stores --requests submissions of the
Agadez request (non-conflicting copies, so each waits for US.DoD) and has US.DoD decide a
tenth of them, then times, one call after another as a browser would make them:

- ``POST /v1/evaluations``: the evaluation shown while an operator composes (policies,
  grants and deconfliction against every stored request; nothing stored);
- ``POST /v1/evaluations?suggest=true``: the same with what would clear it, as the page
  asks while composing; ``GET /v1/requests/{id}/alternatives``: the same for a stored
  request, as the request view asks;
- ``GET /v1/overview``: requests by state and waiting times per authority, as a member
  of US.DoD (every request is in its chain), with the forecasts of the pending requests
  that start soonest;
- ``GET /v1/authorities/US.DoD/queue``: the nine tenths US.DoD has not decided, each with
  its forecast (one read of the history and one fit per call);
- ``GET /v1/requests/{id}/audit``: a request's audit entries with inclusion proofs.

Prints p50 and p99 in milliseconds per call as JSON on its last line. There is no target
in the issue; an edit should be evaluated well within the 350 ms the page waits after the
last keystroke.

    .venv/bin/python bench/page_calls.py [--requests 2000] [--calls 200]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import benchkit  # bench/ is on sys.path when a bench runs as a script
import httpx

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT))  # the tests' server helper
sys.path.insert(0, str(ROOT / "bench"))

from api_load import bodies  # noqa: E402

from tests.serverproc import Server  # noqa: E402


def timed(call: Callable[[], httpx.Response], count: int) -> dict[str, float]:
    for _ in range(5):  # warm up
        call().raise_for_status()
    times = []
    for _ in range(count):
        t = time.perf_counter()
        response = call()
        times.append((time.perf_counter() - t) * 1000)
        response.raise_for_status()
    return {
        "p50_ms": round(statistics.median(times), 2),
        "p99_ms": round(statistics.quantiles(times, n=100)[98], 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=2000, help="requests stored first")
    ap.add_argument("--calls", type=int, default=200, help="timed calls per endpoint")
    args = benchkit.parse_args(ap, {"requests": 40, "calls": 10})
    workdir = Path(tempfile.mkdtemp(prefix="clearance-bench-page-"))
    server = Server(f"sqlite:///{workdir / 'bench.db'}", workdir / "server.log")
    tokens = server.prepare(
        {"planner": ("--operator", "US.AFRICOM"), "dod": ("--authority", "US.DoD")}
    )
    server.start()
    figures: dict[str, Any] = {"requests": args.requests, "calls": args.calls}
    try:
        base = server.base
        operator = {"Authorization": f"Bearer {tokens['planner']}"}
        member = {"Authorization": f"Bearer {tokens['dod']}"}
        docs = bodies(args.requests + 1)
        with httpx.Client(base_url=base, timeout=60) as http:
            ids = []
            for body in docs[:-1]:
                made = http.post("/v1/requests", content=body, headers=operator | {
                    "Content-Type": "application/json"})  # fmt: skip
                made.raise_for_status()
                ids.append(made.json()["id"])
            for rid in ids[::10]:
                http.post(
                    f"/v1/requests/{rid}/decisions",
                    json={"authority": "US.DoD", "decision": "approve"},
                    headers=member,
                ).raise_for_status()
            fresh = docs[-1]
            json_headers = operator | {"Content-Type": "application/json"}
            figures["evaluation"] = timed(
                lambda: http.post("/v1/evaluations", content=fresh, headers=json_headers),
                args.calls,
            )
            figures["evaluation_suggest"] = timed(
                lambda: http.post(
                    "/v1/evaluations?suggest=true", content=fresh, headers=json_headers
                ),
                args.calls,
            )
            figures["alternatives"] = timed(
                lambda: http.get(f"/v1/requests/{ids[1]}/alternatives", headers=operator),
                args.calls,
            )
            figures["overview"] = timed(
                lambda: http.get("/v1/overview", headers=member), max(20, args.calls // 10)
            )
            figures["queue"] = timed(
                lambda: http.get("/v1/authorities/US.DoD/queue", headers=member),
                max(20, args.calls // 10),
            )
            figures["request_audit"] = timed(
                lambda: http.get(f"/v1/requests/{ids[0]}/audit", headers=operator), args.calls
            )
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    names = ("evaluation", "evaluation_suggest", "alternatives", "overview", "queue")
    for name in (*names, "request_audit"):
        print(f"{name}: {figures[name]}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
