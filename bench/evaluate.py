"""Benchmark: evaluate a generated mix of requests against the Niger scenario, in process.

Each request is a shipped example with its volumes moved, resized and re-timed at
random, so the mix keeps every outcome. Measures, on one core (one Python thread):

- latency: validate + evaluate one request at a time (p50, p99 ms);
- throughput: the same requests evaluated in batches (requests/s);

each with the policy engine's decision cache on (the product's setting) and off (every
Cedar question asked). Prints its figures as JSON on the last line.

    .venv/bin/python bench/evaluate.py [--requests 10000] [--batch 256] [--seed 7]
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import statistics
import time
from collections import Counter
from pathlib import Path
from typing import Any

import benchkit  # bench/ is on sys.path when a bench runs as a script
import yaml

from clearance.adapters.scenario_loader import load_scenario
from clearance.domain.clearance.evaluation import evaluate, evaluate_many
from clearance.domain.clearance.requests import parse_request
from clearance.domain.clearance.scenario import Scenario

NIGER = Path(__file__).parents[1] / "examples" / "niger"


def generate(n: int, rng: random.Random) -> list[dict[str, Any]]:
    templates = [yaml.safe_load(p.read_text()) for p in sorted((NIGER / "requests").glob("*.yaml"))]
    docs = []
    for _ in range(n):
        doc = copy.deepcopy(rng.choice(templates))
        dlat, dlng = rng.uniform(-0.8, 0.8), rng.uniform(-0.8, 0.8)
        for vol in doc["volumes"]:
            outline = vol["volume"]
            if "outline_circle" in outline:
                c = outline["outline_circle"]
                c["center"]["lat"] += dlat
                c["center"]["lng"] += dlng
                c["radius"]["value"] = rng.uniform(5_000, 60_000)
            else:
                for v in outline["outline_polygon"]["vertices"]:
                    v["lat"] += dlat
                    v["lng"] += dlng
        docs.append(doc)
    return docs


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=1000)[int(q * 1000) - 1]


def latency(docs: list[dict[str, Any]], scenario: Scenario) -> dict[str, float]:
    samples = []
    for doc in docs:
        t = time.perf_counter()
        evaluate(parse_request(doc, scenario), scenario)
        samples.append((time.perf_counter() - t) * 1000)
    return {
        "p50_ms": round(statistics.median(samples), 4),
        "p99_ms": round(percentile(samples, 0.99), 4),
        "requests_per_s_one_at_a_time": round(len(docs) / (sum(samples) / 1000)),
    }


def throughput(docs: list[dict[str, Any]], scenario: Scenario, batch: int) -> float:
    t = time.perf_counter()
    for i in range(0, len(docs), batch):
        chunk = [parse_request(d, scenario) for d in docs[i : i + batch]]
        evaluate_many(chunk, scenario)
    return len(docs) / (time.perf_counter() - t)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=10_000)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--seed", type=int, default=7)
    args = benchkit.parse_args(ap, {"requests": 300, "batch": 64})

    scenario = load_scenario(NIGER)
    docs = generate(args.requests, random.Random(args.seed))
    outcomes = Counter(
        e.outcome.value for e in evaluate_many([parse_request(d, scenario) for d in docs], scenario)
    )
    figures: dict[str, Any] = {
        "requests": len(docs),
        "batch": args.batch,
        "outcomes": dict(outcomes),
    }
    for label, cache_size in (("cache_on", 65536), ("cache_off", 0)):
        scenario.policy.resize_cache(cache_size)
        if cache_size:  # warm the cache as a running service would be
            evaluate_many([parse_request(d, scenario) for d in docs[:1000]], scenario)
        lat = latency(docs, scenario)
        rps = throughput(docs, scenario, args.batch)
        figures[label] = {**lat, "requests_per_s_batched": round(rps)}
        print(f"{label}: {figures[label]}")
    figures["target"] = {"p99_ms": 2.0, "requests_per_s": 5000}
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
