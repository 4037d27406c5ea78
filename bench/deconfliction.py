"""Benchmark: strategic deconfliction against many active volumes, in process.

Builds N random F3548 volumes over the Sahel (lat 10..24, lng -12..16): circles of
0.5-20 km radius and small star-shaped polygons (3-6 vertices, 0.5-20 km across),
altitude bands within 0-6,000 m, time windows of 1-12 h starting within 30 days. Indexes
them in bulk with ``VolumeIndex.add_many``, then times ``conflicts`` (exact conflicts,
not just candidates) for 2,000 random query volumes drawn the same way, and 10,000
incremental ``add`` calls after that. A sample of queries is checked against a full
numpy scan followed by ``volumes_conflict``. Query latency is reported as wall time and
as this thread's CPU time (``time.thread_time``), which other processes on a shared
machine cannot inflate. Prints its figures as JSON on the last line.

    .venv/bin/python bench/deconfliction.py [--volumes 100000] [--queries 2000] [--seed 7]
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from datetime import UTC, datetime, timedelta

import benchkit  # bench/ is on sys.path when a bench runs as a script
import numpy as np

from clearance.domain.airspace.geotemporal import volumes_conflict
from clearance.domain.airspace.index import VolumeFacts, VolumeIndex, volume_facts
from clearance.domain.airspace.volumes import Circle, LatLng, Polygon, Volume4D

T0 = datetime(2026, 1, 1, tzinfo=UTC)
METRES_PER_DEGREE = 111_320.0


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def generate(n: int, rng: np.random.Generator) -> list[Volume4D]:
    lat = rng.uniform(10.0, 24.0, n)
    lng = rng.uniform(-12.0, 16.0, n)
    size = rng.uniform(500.0, 20_000.0, n)
    is_circle = rng.random(n) < 0.6
    sides = rng.integers(3, 7, n)
    band = np.sort(rng.uniform(0.0, 6_000.0, (n, 2)), axis=1)
    band[:, 1] = np.maximum(band[:, 1], band[:, 0] + 10.0)
    start_s = rng.uniform(0.0, 30 * 86_400.0, n).round()
    length_s = rng.uniform(3_600.0, 12 * 3_600.0, n).round()
    # Star-shaped polygons: vertices at sorted angles, 50-100 % of the size from the centre.
    angles = np.sort(rng.uniform(0.0, 2 * np.pi, (n, 6)), axis=1)
    reach = rng.uniform(0.5, 1.0, (n, 6)) * size[:, None]
    dlat = reach * np.cos(angles) / METRES_PER_DEGREE
    dlng = reach * np.sin(angles) / (METRES_PER_DEGREE * np.cos(np.radians(lat)))[:, None]
    vlat, vlng = lat[:, None] + dlat, lng[:, None] + dlng
    out = []
    for i in range(n):
        outline: Circle | Polygon
        if is_circle[i]:
            outline = Circle(LatLng(float(lat[i]), float(lng[i])), float(size[i]))
        else:
            k = int(sides[i])
            # k of the 6 sorted angles keep the star shape (every gap under 180 degrees
            # is likely, not guaranteed; the parser would refuse a crossing polygon).
            pick = np.linspace(0, 5, k).round().astype(int)
            outline = Polygon(tuple(LatLng(float(vlat[i, j]), float(vlng[i, j])) for j in pick))
        t = T0 + timedelta(seconds=float(start_s[i]))
        out.append(
            Volume4D(
                outline,
                float(band[i, 0]),
                float(band[i, 1]),
                t,
                t + timedelta(seconds=float(length_s[i])),
            )
        )
    return out


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q))


def scan(volumes: list[Volume4D], facts: VolumeFacts, query: Volume4D) -> list[int]:
    """Every volume checked: a numpy box filter over all of them, then the exact test."""
    box = volume_facts([query]).box[0]
    near = (facts.box[:, 0] <= box[2]) & (box[0] <= facts.box[:, 2])
    near &= (facts.box[:, 1] <= box[3]) & (box[1] <= facts.box[:, 3])
    return [int(i) for i in np.flatnonzero(near) if volumes_conflict(query, volumes[i])]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--volumes", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=7)
    args = benchkit.parse_args(parser, {"volumes": 2_000, "queries": 100})
    rng = np.random.default_rng(args.seed)

    rss_start = rss_mb()
    t = time.perf_counter()
    volumes = generate(args.volumes, rng)
    generate_s = time.perf_counter() - t
    rss_volumes = rss_mb()

    index = VolumeIndex()
    t = time.perf_counter()
    index.add_many(((f"r{i // 2}", i % 2), v) for i, v in enumerate(volumes))
    build_s = time.perf_counter() - t
    rss_index = rss_mb()

    queries = generate(args.queries, np.random.default_rng(args.seed + 1))
    latencies, cpu, found, candidates = [], [], [], []
    for q in queries:
        c = time.thread_time()
        t = time.perf_counter()
        hits = index.conflicts(q)
        latencies.append((time.perf_counter() - t) * 1e3)
        cpu.append((time.thread_time() - c) * 1e3)
        found.append(len(hits))
    for q in queries[:200]:
        candidates.append(len(index.candidates(q)))

    # Correctness sample: the index against a full scan.
    all_facts = volume_facts(volumes)
    checked = 0
    for q in queries[:20]:
        expected = {(f"r{i // 2}", i % 2) for i in scan(volumes, all_facts, q)}
        got = set(index.conflicts(q))
        if got != expected:
            raise SystemExit(f"index disagrees with the scan: {sorted(got ^ expected)[:5]}")
        checked += 1

    extra = generate(10_000, np.random.default_rng(args.seed + 2))
    t = time.perf_counter()
    for i, v in enumerate(extra):
        index.add((f"x{i}", 0), v)
    add_us = (time.perf_counter() - t) / len(extra) * 1e6
    after_adds, after_adds_cpu = [], []
    for q in queries:
        c = time.thread_time()
        t = time.perf_counter()
        index.conflicts(q)
        after_adds.append((time.perf_counter() - t) * 1e3)
        after_adds_cpu.append((time.thread_time() - c) * 1e3)

    figures = {
        "volumes": args.volumes,
        "generate_s": round(generate_s, 2),
        "index_build_s": round(build_s, 3),
        "rss_mb": round(rss_mb(), 1),
        "maxrss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1),
        "volumes_mb": round(rss_volumes - rss_start, 1),
        "index_mb": round(rss_index - rss_volumes, 1),
        "queries": len(queries),
        "query_p50_ms": round(percentile(latencies, 50), 3),
        "query_p99_ms": round(percentile(latencies, 99), 3),
        "query_max_ms": round(max(latencies), 3),
        "query_cpu_p50_ms": round(percentile(cpu, 50), 3),
        "query_cpu_p99_ms": round(percentile(cpu, 99), 3),
        "conflicts_mean": round(float(np.mean(found)), 2),
        "candidates_mean": round(float(np.mean(candidates)), 2),
        "checked_against_scan": checked,
        "incremental_add_us_mean": round(add_us, 1),
        "query_p99_ms_after_adds": round(percentile(after_adds, 99), 3),
        "query_cpu_p99_ms_after_adds": round(percentile(after_adds_cpu, 99), 3),
    }
    print(
        f"built {args.volumes} volumes in {build_s:.2f} s; queries p99 {figures['query_p99_ms']} ms"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
