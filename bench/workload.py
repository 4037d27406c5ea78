"""A generated Niger workload (issue 15, the time-to-clearance bench): variants of the 13
example requests, seeded, that stay valid documents.

Each variant copies one example (chosen uniformly, so the mix of operators, aircraft,
payloads, purposes, launch sites, areas and times is the examples' own) and jitters it:

- its times move together by a whole number of hours, 0 to ``weeks`` weeks later (never
  earlier: the examples start just after the scenario's clock; at most ``MAX_WEEKS``, 96,
  so that the 2017 requests from Agadez still start before it opens on 2019-11-01);
- each volume's outline moves by up to ``OFFSET_DEG`` degrees east and north (shapely's
  ``translate``), kept only when the moved outline touches the same parties' territories
  as the example's (a volume over Niger stays over Niger, one crossing into Mali still
  crosses; else the volume stays where it was);
- its altitudes scale by 0.8 to 1.2 (rounded to 10 m), the upper kept 300 m above the lower.

bench/time_to_clearance.py submits what it generates; run alone, this prints the mix
(variants per example, share of volumes moved) and the same as JSON on the last line.

    .venv/bin/python bench/workload.py [--requests 10000] [--seed 7]
"""

from __future__ import annotations

import argparse
import copy
import json
import random
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import benchkit  # bench/ is on sys.path when a bench runs as a script
import yaml
from shapely import affinity
from shapely.geometry import Point, Polygon, shape
from shapely.geometry.base import BaseGeometry
from shapely.prepared import PreparedGeometry, prep

NIGER = Path(__file__).parents[1] / "examples" / "niger"
MAX_WEEKS = 96
OFFSET_DEG = 0.15  # about 16 km
METRES_PER_DEG = 111_320.0


def examples() -> list[tuple[str, dict[str, Any]]]:
    return [
        (p.stem, yaml.safe_load(p.read_text(encoding="utf-8")))
        for p in sorted((NIGER / "requests").glob("*.yaml"))
    ]


def territories() -> dict[str, PreparedGeometry]:
    features = json.loads((NIGER / "territories.geojson").read_text(encoding="utf-8"))
    return {f["properties"]["party"]: prep(shape(f["geometry"])) for f in features["features"]}


def outline(volume: dict[str, Any]) -> BaseGeometry:
    """The volume's outline in degrees (a circle's radius read at the equator's scale:
    close enough to say which territories it touches)."""
    if "outline_circle" in volume:
        circle = volume["outline_circle"]
        centre = Point(circle["center"]["lng"], circle["center"]["lat"])
        return centre.buffer(circle["radius"]["value"] / METRES_PER_DEG)
    return Polygon([(v["lng"], v["lat"]) for v in volume["outline_polygon"]["vertices"]])


def touches(geometry: BaseGeometry, lands: dict[str, PreparedGeometry]) -> frozenset[str]:
    return frozenset(party for party, land in lands.items() if land.intersects(geometry))


def _moved(volume: dict[str, Any], dx: float, dy: float) -> None:
    if "outline_circle" in volume:
        centre = volume["outline_circle"]["center"]
        centre["lng"] = round(centre["lng"] + dx, 5)
        centre["lat"] = round(centre["lat"] + dy, 5)
        return
    for vertex in volume["outline_polygon"]["vertices"]:
        vertex["lng"] = round(vertex["lng"] + dx, 5)
        vertex["lat"] = round(vertex["lat"] + dy, 5)


def _shifted(value: str, by: timedelta) -> str:
    at = datetime.fromisoformat(value.replace("Z", "+00:00")) + by
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def variant(
    doc: dict[str, Any], rng: random.Random, lands: dict[str, PreparedGeometry], weeks: int
) -> dict[str, Any]:
    made = copy.deepcopy(doc)
    later = timedelta(hours=rng.randrange(0, weeks * 7 * 24))
    for entry in made["volumes"]:
        for end in ("time_start", "time_end"):
            entry[end]["value"] = _shifted(entry[end]["value"], later)
        volume = entry["volume"]
        shape_ = outline(volume)
        dx, dy = rng.uniform(-OFFSET_DEG, OFFSET_DEG), rng.uniform(-OFFSET_DEG, OFFSET_DEG)
        if touches(affinity.translate(shape_, dx, dy), lands) == touches(shape_, lands):
            _moved(volume, dx, dy)
        lower, upper = volume["altitude_lower"], volume["altitude_upper"]
        low = round(lower["value"] * rng.uniform(0.8, 1.2), -1)
        high = max(round(upper["value"] * rng.uniform(0.8, 1.2), -1), low + 300)
        lower["value"], upper["value"] = low, high
    return made


def generate(n: int, seed: int, weeks: int = MAX_WEEKS) -> list[tuple[str, dict[str, Any]]]:
    """``n`` variants spread over ``weeks`` weeks, each named by the example it varies."""
    if not 1 <= weeks <= MAX_WEEKS:
        raise ValueError(f"weeks: must be 1 to {MAX_WEEKS}, not {weeks}")
    rng = random.Random(seed)
    lands = territories()
    base = examples()
    made = []
    for _ in range(n):
        name, doc = rng.choice(base)
        made.append((name, variant(doc, rng, lands, weeks)))
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--weeks", type=int, default=MAX_WEEKS)
    args = benchkit.parse_args(parser, {"requests": 200, "weeks": 8})
    if not 1 <= args.weeks <= MAX_WEEKS:
        parser.error(f"--weeks: must be 1 to {MAX_WEEKS}, not {args.weeks}")
    made = generate(args.requests, args.seed, args.weeks)
    originals = dict(examples())
    mix: dict[str, int] = {}
    volumes = moved = 0
    for name, doc in made:
        mix[name] = mix.get(name, 0) + 1
        for entry, was in zip(doc["volumes"], originals[name]["volumes"], strict=True):
            volumes += 1
            moved += outline(entry["volume"]) != outline(was["volume"])
    figures = {
        "bench": "workload",
        "small": args.small,
        "requests": len(made),
        "mix": dict(sorted(mix.items())),
        "volumes_moved_share": round(moved / volumes, 3) if volumes else None,
    }
    print(f"{len(made)} requests; {figures['volumes_moved_share']} of {volumes} volumes moved")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
