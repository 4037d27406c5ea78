"""Benchmark: the server's memory and liveness under heavy requests.

Starts `clearance serve` on a fresh SQLite database with the Niger scenario and a cleared
request (example 01), then

1. uploads one track of ``--points`` points (CSV, ~60 bytes a line; inside the volume,
   or with ``--drift`` drifting out of it into Mali) and reads the server
   process's peak resident memory (``VmHWM`` in ``/proc/PID/status``, reset just before
   the upload through ``clear_refs``), with its memory before the upload;
2. runs ``--uploads`` such uploads and ``--evaluations`` evaluations of a request of 100
   volumes (the default limit) at once, while another client asks ``/healthz`` every
   20 ms: prints the median and the largest ``/healthz`` time.

Prints JSON on its last line. ``--small`` runs in seconds (10^4 points), for CI.

    .venv/bin/python bench/heavy_load.py             # 10^6 points
    .venv/bin/python bench/heavy_load.py --small
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the tests' helper for a real server

from tests.serverproc import Server  # noqa: E402

REQUEST = ROOT / "examples" / "niger" / "requests" / "01-us-isr-ouallam.yaml"
START_US = 1_511_244_000_000_000  # 2017-11-21T06:00:00Z, the start of 01's window
WINDOW_US = 8 * 3600 * 1_000_000


def track_csv(points: int, seed: int = 0, *, drift: bool = False) -> bytes:
    """``points`` points evenly spread over 01's window, within 20 km of its centre; with
    ``drift``, drifting away from it into Mali (most points outside: the costlier check)."""
    rng = np.random.default_rng(seed)
    us = START_US + np.linspace(0, WINDOW_US, points, endpoint=False).astype(np.int64)
    times = np.datetime_as_string(us.astype("datetime64[us]"), unit="us", timezone="UTC")
    away = np.linspace(0.0, 1.0, points) if drift else np.zeros(points)
    spread = 0.001 if drift else 0.15  # a drifting aircraft flies a line (100 m of noise)
    lat = 14.32 + rng.uniform(-spread, spread, points) + 2.0 * away
    lng = 2.09 + rng.uniform(-spread, spread, points) - 3.0 * away
    alt = rng.uniform(400, 4000, points)
    rows = "\n".join(
        f"{t},{a:.7f},{b:.7f},{c:.2f}"
        for t, a, b, c in zip(times.tolist(), lat.tolist(), lng.tolist(), alt.tolist(), strict=True)
    )
    return ("time,lat,lng,alt_m\n" + rows + "\n").encode()


def large_document(volumes: int = 100) -> dict[str, Any]:
    """Example 01 with ``volumes`` volumes, 6 h each, one after another (25 days)."""
    doc = yaml.safe_load(REQUEST.read_text(encoding="utf-8"))
    one = doc["volumes"][0]
    doc["volumes"] = []
    for i in range(volumes):
        v = copy.deepcopy(one)
        start = START_US // 1_000_000 + i * 6 * 3600
        for key, at in (("time_start", start), ("time_end", start + 6 * 3600)):
            v[key]["value"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))
        doc["volumes"].append(v)
    return doc


def status_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


def upload(client: httpx.Client, rid: str, token: str, body: bytes) -> float:
    started = time.perf_counter()
    response = client.post(
        f"/v1/requests/{rid}/telemetry",
        content=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "text/csv"},
        timeout=600,
    )
    response.raise_for_status()
    return time.perf_counter() - started


def evaluate(client: httpx.Client, token: str, doc: dict[str, Any]) -> float:
    started = time.perf_counter()
    response = client.post(
        "/v1/evaluations", json=doc, headers={"Authorization": f"Bearer {token}"}, timeout=600
    )
    response.raise_for_status()
    return time.perf_counter() - started


def poll_health(base: str, stop: threading.Event, out: list[float]) -> None:
    with httpx.Client(base_url=base) as client:
        while not stop.is_set():
            started = time.perf_counter()
            client.get("/healthz", timeout=30).raise_for_status()
            out.append(time.perf_counter() - started)
            time.sleep(0.02)


def under_load(
    base: str, rids: list[str], token: str, body: bytes, evaluations: int
) -> dict[str, Any]:
    """Uploads (one per request: two to one request would race for its version) and
    evaluations at once while /healthz is polled; the figures."""
    doc = large_document()
    health: list[float] = []
    stop = threading.Event()
    poller = threading.Thread(target=poll_health, args=(base, stop, health))
    work_times: dict[str, list[float]] = {"upload": [], "evaluation": []}

    def run(kind: str, rid: str = "") -> None:
        with httpx.Client(base_url=base) as client:
            if kind == "upload":
                work_times[kind].append(upload(client, rid, token, body))
            else:
                work_times[kind].append(evaluate(client, token, doc))

    workers = [threading.Thread(target=run, args=("upload", rid)) for rid in rids]
    workers += [threading.Thread(target=run, args=("evaluation",)) for _ in range(evaluations)]
    poller.start()
    time.sleep(0.2)
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    stop.set()
    poller.join()
    if len(work_times["upload"]) != len(rids) or len(work_times["evaluation"]) != evaluations:
        raise RuntimeError("a request failed (see the server log)")
    return {
        "healthz_polls": len(health),
        "healthz_median_ms": round(statistics.median(health) * 1000, 2),
        "healthz_max_ms": round(max(health) * 1000, 2),
        "upload_s_max": round(max(work_times["upload"], default=0.0), 2),
        "evaluation_s_max": round(max(work_times["evaluation"], default=0.0), 2),
    }


def start_server(workdir: Path, requests: int) -> tuple[Server, list[str], str]:
    """A server with ``requests`` copies of example 01 stored (the first cleared, the
    others in conflict with it); (server, their ids, the operator's token)."""
    server = Server(f"sqlite:///{workdir / 'bench.db'}", workdir / "server.log")
    token = server.prepare({"planner": ("--operator", "US.AFRICOM")})["planner"]
    server.start()
    doc = yaml.safe_load(REQUEST.read_text(encoding="utf-8"))
    ids = []
    for _ in range(requests):
        made = httpx.post(
            f"{server.base}/v1/requests", json=doc, headers={"Authorization": f"Bearer {token}"}
        )
        made.raise_for_status()
        ids.append(made.json()["id"])
    return server, ids, token


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--uploads", type=int, default=4)
    parser.add_argument("--evaluations", type=int, default=4)
    parser.add_argument("--drift", action="store_true", help="tracks drifting into Mali")
    parser.add_argument("--small", action="store_true", help="10^4 points: seconds, for CI")
    args = parser.parse_args()
    points = 10_000 if args.small else args.points
    body = track_csv(points, drift=args.drift)
    with tempfile.TemporaryDirectory(prefix="clearance-bench-") as tmp:
        server, rids, token = start_server(Path(tmp), max(1, args.uploads))
        try:
            assert server.process is not None
            pid = server.process.pid
            with httpx.Client(base_url=server.base) as client:
                upload(client, rids[0], token, track_csv(1_000, seed=1))  # warm up
                before_kb = status_kb(pid, "VmRSS")
                Path(f"/proc/{pid}/clear_refs").write_text("5")  # VmHWM := VmRSS
                seconds = upload(client, rids[0], token, body)
                peak_kb = status_kb(pid, "VmHWM")
            loaded = under_load(server.base, rids[: args.uploads], token, body, args.evaluations)
            after_kb = status_kb(pid, "VmHWM")
        finally:
            server.stop()
    print(
        json.dumps(
            {
                "bench": "heavy_load",
                "points": points,
                "drift": args.drift,
                "body_mb": round(len(body) / 1e6, 1),
                "rss_before_mb": round(before_kb / 1024, 1),
                "peak_rss_mb": round(peak_kb / 1024, 1),
                "upload_s": round(seconds, 2),
                "concurrent_uploads": args.uploads,
                "concurrent_evaluations": args.evaluations,
                "peak_rss_under_load_mb": round(after_kb / 1024, 1),
                **loaded,
            }
        )
    )


if __name__ == "__main__":
    main()
