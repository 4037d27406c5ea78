"""Benchmark: forecasting a whole queue from one fit (issue 15, item 3, on the queue and
the overview). The generated history of bench/time_to_clearance.py (Niger authorities,
every figure illustrative); at its end, the newest ``--queue`` requests, reopened as they
stood when submitted, are forecast the way ``service.forecasts.forecast_chains`` does:
the waits of the ``HISTORY_LIMIT`` newest requests read, every authority fitted ONCE,
then one seeded Monte Carlo per request (``LIST_DRAWS`` draws, as a list forecasts).

Prints, in milliseconds: ``history_ms`` (reading the waits), ``fit_ms`` (the one fit),
``forecast_ms_per_request`` (the draws of one request), and ``queue_ms`` for the whole
queue; ``one_fit_each_ms`` is what one fit per request would have cost instead (the fit
times the queue). JSON on the last line.

    .venv/bin/python bench/queue_forecast.py [--history 2000] [--queue 500] [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import benchkit  # bench/ is on sys.path when a bench runs as a script
import numpy as np
from time_to_clearance import fresh, generate

from clearance.domain.clearance.forecast import Status, Wait, fit, forecast, history
from clearance.domain.clearance.overview import ChainTimes
from clearance.service.forecasts import HISTORY_LIMIT, LIST_DRAWS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--history", type=int, default=2000)
    parser.add_argument("--queue", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    args = benchkit.parse_args(parser, {"history": 300, "queue": 20, "repeats": 1})
    world = generate(args.history + args.queue, 3.0, np.random.default_rng(args.seed))
    fit({"warm-up": [Wait("warm-up", 1.0, True)]})  # lifelines' import, not measured
    past = [g.chain for g in world[: args.history]][-HISTORY_LIMIT:]
    now = world[args.history].chain.created_at
    # the queue: every request submitted at ``now``, starting as far after it as generated
    queue = [
        ChainTimes(c.id, c.state, now, now + (c.time_start - c.created_at), c.approvals)
        for c in (fresh(g.chain) for g in world[args.history :])
    ]
    runs: dict[str, list[float]] = {"history": [], "fit": [], "draws": [], "queue": []}
    statuses: dict[str, int] = {}
    for _ in range(args.repeats):
        began = time.perf_counter()
        waits = history([*past, *queue], now)
        read = time.perf_counter()
        authorities = sorted({a.authority for c in queue for a in c.approvals})
        models = fit({a: waits.get(a, []) for a in authorities})
        fitted = time.perf_counter()
        found = [forecast(c, models, now, draws=LIST_DRAWS) for c in queue]
        done = time.perf_counter()
        runs["history"].append((read - began) * 1000)
        runs["fit"].append((fitted - read) * 1000)
        runs["draws"].append((done - fitted) * 1000)
        runs["queue"].append((done - began) * 1000)
        statuses = {}
        for f in found:
            statuses[f.status.value] = statuses.get(f.status.value, 0) + 1
    fit_ms = statistics.median(runs["fit"])
    figures = {
        "bench": "queue_forecast",
        "small": args.small,
        "history": len(past),
        "queue": len(queue),
        "statuses": statuses,
        "forecast": statuses.get(Status.FORECAST.value, 0),
        "history_ms": round(statistics.median(runs["history"]), 2),
        "fit_ms": round(fit_ms, 2),
        "forecast_ms_per_request": round(statistics.median(runs["draws"]) / len(queue), 3),
        "queue_ms": round(statistics.median(runs["queue"]), 2),
        "one_fit_each_ms": round(fit_ms * len(queue), 1),
    }
    print(
        f"{len(queue)} requests forecast in {figures['queue_ms']} ms "
        f"(fit {figures['fit_ms']} ms once; {figures['forecast_ms_per_request']} ms each)"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
