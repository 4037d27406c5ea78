"""Benchmark: conformance monitoring throughput, telemetry points checked per second.

A request with 3 volumes in western Niger (a 20 km circle near Ouallam, a polygon along
the river north of Niamey, a 15 km circle over Niamey), checked against the 12 real
territories of examples/niger with NE and US covered, on one core. Two tracks of
``--points`` points (default 10^6) each over the first volume's hour:

- ``inside``: an orbit inside the first volume (every point conforms);
- ``drift``: a straight flight from its centre into Mali (about 85 % of points are
  outside every volume, so every point gets a distance and a territory lookup: the
  worst case).

Parsing is measured too (CSV text of the drift track to a ``Track``). Prints its
figures as JSON on the last line.

    .venv/bin/python bench/conformance.py [--points 1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import benchkit  # bench/ is on sys.path when a bench runs as a script
import shapely

from clearance.domain.airspace.conformance import check_conformance
from clearance.domain.airspace.telemetry import parse_track_csv
from clearance.domain.airspace.tracks import Track, simulate_track, track_to_csv
from clearance.domain.airspace.volumes import Circle, LatLng, Polygon, Volume4D

NIGER = Path(__file__).parents[1] / "examples" / "niger"
T0 = datetime(2017, 11, 27, 6, tzinfo=UTC)


def territories() -> dict[str, shapely.Geometry]:
    doc = json.loads((NIGER / "territories.geojson").read_text(encoding="utf-8"))
    out = {}
    for feature in doc["features"]:
        geometry = shapely.geometry.shape(feature["geometry"])
        shapely.prepare(geometry)
        out[feature["properties"]["party"]] = geometry
    return out


def request() -> list[Volume4D]:
    hour = timedelta(hours=1)
    river = Polygon(
        (
            LatLng(13.60, 2.00),
            LatLng(13.70, 1.80),
            LatLng(14.00, 1.55),
            LatLng(14.05, 1.70),
            LatLng(13.75, 2.05),
        )
    )
    return [
        Volume4D(Circle(LatLng(14.35, 1.45), 20_000.0), 300.0, 4_500.0, T0, T0 + hour),
        Volume4D(river, 300.0, 4_500.0, T0 + hour, T0 + 2 * hour),
        Volume4D(Circle(LatLng(13.51, 2.11), 15_000.0), 300.0, 4_500.0, T0, T0 + 2 * hour),
    ]


def measure(track: Track, volumes: list[Volume4D], repeat: int) -> tuple[float, dict[str, object]]:
    land = territories()
    best = float("inf")
    result = None
    for _ in range(repeat):
        t = time.perf_counter()
        result = check_conformance(track, volumes, territories=land, covered_parties={"NE", "US"})
        best = min(best, time.perf_counter() - t)
    assert result is not None
    summary = {
        "conformance_percent": round(result.conformance_percent, 2),
        "excursions": len(result.excursions),
        "parties": sorted({e.party for e in result.excursions if e.party}),
    }
    return len(track) / best, summary


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = benchkit.parse_args(parser, {"points": 20_000, "repeat": 1})
    volumes = request()
    interval = 3600.0 / (args.points - 1)
    inside = simulate_track(volumes, None, interval_s=interval, seed=1)
    drift = simulate_track(volumes, None, drift_to=LatLng(15.3, 0.6), interval_s=interval)
    inside_rate, inside_summary = measure(inside, volumes, args.repeat)
    drift_rate, drift_summary = measure(drift, volumes, args.repeat)

    text = track_to_csv(drift)
    t = time.perf_counter()
    parsed = parse_track_csv(text, "drift.csv")
    parse_s = time.perf_counter() - t

    figures = {
        "points": len(inside),
        "volumes": len(volumes),
        "territories": len(territories()),
        "inside_points_per_s": round(inside_rate),
        "inside": inside_summary,
        "drift_points_per_s": round(drift_rate),
        "drift": drift_summary,
        "parse_csv_points_per_s": round(len(parsed) / parse_s),
        "parse_csv_s": round(parse_s, 3),
    }
    print(
        f"{len(inside)} points: inside {inside_rate / 1e6:.2f} M/s, "
        f"drift {drift_rate / 1e6:.2f} M/s, CSV parse {parse_s:.2f} s"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
