"""Benchmark: deconfliction in the database, against many active volumes.

Stores N random active volumes (one per request; the same Sahel volumes as
bench/deconfliction.py: circles and small polygons of 0.5-20 km, 1-12 h windows within 30
days) with their H3 cells on a fresh SQLite file (and, with --postgres, on PostgreSQL),
then times what a submission adds for deconfliction, for --queries random volumes, each
in its own unit of work, rolled back: lock the query's cells (``SELECT ... FOR UPDATE``),
read the candidates and run the exact check against them (``Airspace.check`` without the
evaluation). Also prints how many cells a volume covers, at the chosen resolution, for
the Niger volume sizes (1, 10, 30 and 90 km circles) and for the random ones. JSON on
its last line.

    .venv/bin/python bench/cells.py [--volumes 20000] [--queries 1000] [--postgres auto]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import benchkit  # bench/ is on sys.path when a bench runs as a script
import numpy as np
import sqlalchemy as sa
from deconfliction import T0, generate, percentile

from clearance.adapters import sql_tables as t
from clearance.adapters.sql import make_engine, uow_factory, upgrade
from clearance.domain.airspace.cells import RESOLUTION, volume_cells
from clearance.domain.airspace.volumes import Circle, LatLng, Volume4D
from clearance.domain.clearance.requests import stored_airspace
from clearance.domain.documents import instant
from clearance.domain.errors import InputError
from clearance.service.airspace import Airspace
from clearance.service.ports import cells_of

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT))  # the tests' throwaway PostgreSQL, as bench/api_load.py


def volume_json(v: Volume4D) -> dict[str, Any]:
    if isinstance(v.outline, Circle):
        c = v.outline.center
        radius = {"value": v.outline.radius_m, "units": "M"}
        outline: dict[str, Any] = {
            "outline_circle": {"center": {"lat": c.lat, "lng": c.lng}, "radius": radius}
        }
    else:
        vertices = [{"lat": p.lat, "lng": p.lng} for p in v.outline.vertices]
        outline = {"outline_polygon": {"vertices": vertices}}
    altitude = {"reference": "W84", "units": "M"}
    return {
        "volume": {
            **outline,
            "altitude_lower": {"value": v.altitude_lower_m, **altitude},
            "altitude_upper": {"value": v.altitude_upper_m, **altitude},
        },
        "time_start": {"value": instant(v.time_start), "format": "RFC3339"},
        "time_end": {"value": instant(v.time_end), "format": "RFC3339"},
    }


def readable(v: Volume4D) -> bool:
    """Whether the service would store it (a random polygon may cross itself)."""
    try:
        stored_airspace({"purpose": "isr", "volumes": [volume_json(v)]})
    except InputError:
        return False
    return True


def fill(url: str, volumes: list[Volume4D]) -> float:
    """Store one pending request per volume, with its cells; returns the seconds taken."""
    engine = make_engine(url)
    upgrade(engine)
    started = time.perf_counter()
    touched: set[int] = set()
    try:
        for first in range(0, len(volumes), 1000):
            with uow_factory(engine)() as uow:
                rows, cells = [], []
                for i, v in enumerate(volumes[first : first + 1000], start=first):
                    rid = f"req-{i:08x}"
                    document = {"purpose": "isr", "volumes": [volume_json(v)]}
                    rows.append({
                        "id": rid, "version": 1, "operator": "X", "submitted_by": "x",
                        "document": document, "state": "pending", "outcome": "pending",
                        "violations": [], "time_start": v.time_start, "time_end": v.time_end,
                        "created_at": T0, "updated_at": T0, "evaluated_at": T0,
                    })  # fmt: skip
                    for cell in cells_of([v])[0].cells:
                        cells.append({
                            "cell": cell, "request_id": rid, "volume_index": 0,
                            "time_start": v.time_start, "time_end": v.time_end,
                        })  # fmt: skip
                uow.execute(sa.insert(t.requests), rows, write=True)
                uow.execute(sa.insert(t.airspace_cells), cells, write=True)
                uow.commit()
                touched.update(c["cell"] for c in cells)
        with uow_factory(engine)() as uow:  # the lock rows the submissions made
            uow.execute(sa.insert(t.airspace_locks), [{"cell": c} for c in touched], write=True)
            uow.commit()
    finally:
        engine.dispose()
    return time.perf_counter() - started


def measure(url: str, queries: list[Volume4D]) -> dict[str, Any]:
    engine = make_engine(url)
    airspace = Airspace()
    latencies, conflicts, candidates = [], 0, 0
    try:
        for q in queries:
            started = time.perf_counter()
            with uow_factory(engine)() as uow:
                touched = sorted(volume_cells(q))
                uow.airspace.lock(touched)
                index, _ = airspace.nearby(uow, [q], touched)
                conflicts += len(index.conflicts(q))
                uow.rollback()
            latencies.append((time.perf_counter() - started) * 1000)
            candidates += len(index)
    finally:
        engine.dispose()
    return {
        "query_p50_ms": round(percentile(latencies, 50), 3),
        "query_p99_ms": round(percentile(latencies, 99), 3),
        "candidate_volumes_per_query": round(candidates / len(queries), 2),
        "conflicts_per_query": round(conflicts / len(queries), 3),
    }


def cover_sizes(volumes: list[Volume4D]) -> dict[str, Any]:
    at = T0, T0 + timedelta(hours=1)
    niger = {
        f"circle_{r // 1000}km": len(volume_cells(Volume4D(Circle(LatLng(14.6, 1.45), r), 0, 1, *at)))
        for r in (1_000, 10_000, 30_000, 90_000)
    }  # fmt: skip
    counts = [len(volume_cells(v)) for v in volumes]
    return {
        "resolution": RESOLUTION,
        **niger,
        "random_mean": round(float(np.mean(counts)), 2),
        "random_max": max(counts),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--volumes", type=int, default=20_000)
    ap.add_argument("--queries", type=int, default=1_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--postgres", help="a PostgreSQL URL (an empty database), or 'auto'")
    args = benchkit.parse_args(ap, {"volumes": 300, "queries": 30})
    rng = np.random.default_rng(args.seed)
    volumes = [v for v in generate(args.volumes, rng) if readable(v)]
    queries = generate(args.queries, rng)
    figures: dict[str, Any] = {"volumes": len(volumes), "queries": args.queries}
    figures["cells"] = cover_sizes(volumes[:2000])
    with tempfile.TemporaryDirectory(prefix="clearance-cells-") as workdir:
        url = f"sqlite:///{Path(workdir) / 'cells.db'}"
        figures["sqlite"] = {"fill_s": round(fill(url, volumes), 2), **measure(url, queries)}
        print(f"sqlite: {figures['sqlite']}")
        if args.postgres:
            if args.postgres == "auto":
                from api_load import throwaway_postgres

                with throwaway_postgres() as pg:
                    figures["postgresql"] = {"fill_s": round(fill(pg, volumes), 2)}
                    figures["postgresql"] |= measure(pg, queries)
            else:
                figures["postgresql"] = {"fill_s": round(fill(args.postgres, volumes), 2)}
                figures["postgresql"] |= measure(args.postgres, queries)
            print(f"postgresql: {figures['postgresql']}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
