"""Benchmark: what would clear it (issue 15, item 1), per Niger example, through the
service a ``GET /v1/requests/{id}/alternatives`` calls.

The 13 example requests are stored in a fresh SQLite database (as ``./run`` does, at the
scenario's 2017 clock); then, for each, its suggestions are found ``--repeats`` times
(after one warm-up pass: the policy engine's cache warm, as in a running service), each
run reading the request, deconflicting every candidate against the others and
evaluating them, nothing stored. Prints p50 and p95 per example (ms), the worst p95 and
the number of suggestions, one core, and the figures as JSON on the last line. Target:
p95 <= 100 ms for each example.

    .venv/bin/python bench/alternatives.py [--repeats 30]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import benchkit  # bench/ is on sys.path when a bench runs as a script
import yaml

from clearance.adapters.scenario_loader import load_scenario
from clearance.adapters.sql import make_engine, uow_factory, upgrade
from clearance.domain.clearance.model import Principal
from clearance.service import alternatives, handlers, queries
from clearance.service.context import Context
from clearance.service.ports import PinnedClock

NIGER = Path(__file__).parents[1] / "examples" / "niger"
NOW = datetime(2017, 11, 20, tzinfo=UTC)
TARGET_P95_MS = 100.0


def percentile(values: list[float], q: float) -> float:
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q * 100) - 1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=30)
    args = benchkit.parse_args(ap, {"repeats": 2})

    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/bench.db")
        upgrade(engine)
        flow = Context(uow_factory(engine), load_scenario(NIGER), PinnedClock(NOW))
        planners: dict[str, Principal] = {}
        stored: list[tuple[str, str, Principal]] = []
        for path in sorted((NIGER / "requests").glob("*.yaml")):
            doc: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
            operator = doc["operator"]
            if operator not in planners:
                handlers.add_principal(flow, f"{operator}-planner", operator=operator)
                planners[operator] = queries.principal(flow, f"{operator}-planner")
            record = handlers.submit(flow, planners[operator], doc).record
            stored.append((path.stem, record.id, planners[operator]))
        scenario = flow.current_scenario()

        def run(request_id: str, who: Principal) -> alternatives.Suggested:
            return alternatives.for_request(
                flow.uow, scenario, flow.clock, flow.airspace, who, request_id
            )

        for _, request_id, who in stored:  # warm-up: caches as a running service has them
            run(request_id, who)
        examples: dict[str, Any] = {}
        for name, request_id, who in stored:
            samples = []
            for _ in range(args.repeats):
                t = time.perf_counter()
                found = run(request_id, who)
                samples.append((time.perf_counter() - t) * 1000)
            examples[name] = {
                "outcome": found.alternatives.evaluation.outcome.value,
                "suggestions": len(found.alternatives.suggestions),
                "p50_ms": round(statistics.median(samples), 2),
                "p95_ms": round(percentile(samples, 0.95), 2),
            }
            print(f"{name}: {examples[name]}")
        engine.dispose()
    worst = max(e["p95_ms"] for e in examples.values())
    figures = {
        "repeats": args.repeats,
        "examples": examples,
        "worst_p95_ms": worst,
        "target": {"p95_ms_each": TARGET_P95_MS},
        "met": worst <= TARGET_P95_MS,
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
