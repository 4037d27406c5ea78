"""Conformance monitoring (ASTM F3548-21): was the flight inside what was cleared?

``check_conformance(track, volumes, territories=..., covered_parties=...)`` tests every
telemetry point at once with shapely 2 and numpy (no per-point Python loop). A point
*conforms* when at least one cleared volume holds it in all three respects:

- **outline**: the point lies in or on the outline. Circles are drawn through geodesic
  points at most 50 m apart (an inscribed ring, at most 1 cm inside the true circle);
  polygon edges are great circles (as in ``geotemporal``), split every 50 m;
- **altitude**: ``altitude_lower <= alt_m <= altitude_upper``;
- **time**: ``time_start <= time <= time_end``.

An **excursion** is a maximal run of consecutive non-conforming points. Its ``kind`` is
the most serious reason found among them, in this order:

1. ``territory``: over the territory of a party that none of the request's approvals
   covers (``party`` names the first such party the run entered);
2. ``outside_volume``: outside every cleared outline;
3. ``altitude``: inside an outline during its window, but outside its altitude band;
4. ``time``: inside an outline, but never during that volume's window.

``max_outside_m`` is, for ``territory`` and ``outside_volume`` runs, the largest
horizontal distance (metres) from a point of the run to the nearest cleared outline:
exact for circles (geodesic distance to the centre less the radius) and, for polygons,
measured in an azimuthal equidistant plane centred on the request (within 0.1 % out to
500 km from it). A fast rough distance (within 1 % of the reach from the request's
centre) picks which points may be the farthest, and only those are measured exactly.
For ``altitude`` runs it is the largest vertical distance to the band; for ``time``
runs, 0.

Timing is F3548's, weighted by time, not by point count: each point stands for the
interval until the next one (the last for none), so ``conformance_percent`` is the
share of the flight time (first to last point) spent conforming, and an excursion lasts
from its first point to the first conforming point after it (or the track's last point).
A flight conforms when it conforms at least 95 % of the time, no excursion is
**flagged**, and there are no more than 18 excursions per flight hour (flights shorter
than an hour are allowed 18). An excursion is flagged when it lasts longer than 10 s or
is of kind ``territory``: entering a party's territory without its consent is never
brief enough to overlook.

Parsing telemetry text lives in ``domain.telemetry``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

from clearance.domain.airspace.geotemporal import micros, outline_ring
from clearance.domain.airspace.tracks import Floats, Track
from clearance.domain.airspace.volumes import WGS84, Circle, Volume4D
from clearance.domain.documents import instant

MIN_PERCENT = 95.0
MAX_EXCURSION_S = 10.0
MAX_EXCURSIONS_PER_HOUR = 18

_PIECE_M = 50.0
_TIME, _ALTITUDE, _OUTSIDE, _TERRITORY = 1, 2, 3, 4
_KINDS = {_TIME: "time", _ALTITUDE: "altitude", _OUTSIDE: "outside_volume", _TERRITORY: "territory"}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_A = 6_378_137.0  # WGS84 semi-major axis
_E2 = 6.69437999014e-3  # WGS84 first eccentricity squared
_CHUNK = 1 << 15
Rough = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class Excursion:
    kind: str
    start: datetime
    end: datetime
    seconds: float
    max_outside_m: float
    party: str | None
    flagged: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "start": instant(self.start),
            "end": instant(self.end),
            "seconds": round(self.seconds, 6),
            "max_outside_m": round(self.max_outside_m, 2),
            "party": self.party,
            "flagged": self.flagged,
        }


@dataclass(frozen=True, slots=True)
class ConformanceResult:
    conforming: bool
    conformance_percent: float
    excursions: list[Excursion]
    points: int
    reasons: list[str]
    flight_seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "conforming": self.conforming,
            "conformance_percent": round(self.conformance_percent, 3),
            "excursions": [e.to_dict() for e in self.excursions],
            "points": self.points,
            "flight_seconds": round(self.flight_seconds, 6),
            "reasons": list(self.reasons),
        }


def _instant(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


# -- checking -----------------------------------------------------------------------------


def check_conformance(
    track: Track,
    volumes: Sequence[Volume4D],
    *,
    territories: Mapping[str, shapely.Geometry] | None = None,
    covered_parties: Collection[str] = frozenset(),
) -> ConformanceResult:
    """Check ``track`` against a request's cleared ``volumes`` (see the module docstring).

    ``territories`` maps a party to its territory in (lng, lat) degrees (prepared with
    ``shapely.prepare`` for speed; done here if not); ``covered_parties`` are the parties
    whose consent the request's approvals carry. Points over any other party's territory
    are reported as ``territory`` excursions naming it.
    """
    if not volumes:
        raise ValueError("a conformance check needs at least one cleared volume")
    n = len(track)
    if n == 0:
        raise ValueError("a conformance check needs at least one telemetry point")
    us = track.micros
    lng, lat, alt = track.lng, track.lat, track.alt_m
    kind = np.empty(n, np.int8)
    vertical = np.zeros(n)  # calloc'd: only the pages of altitude excursions are touched
    outlines = []
    for v in volumes:
        outline = shapely.Polygon(outline_ring(v, _PIECE_M))
        shapely.prepare(outline)
        outlines.append(outline)
    # A slice of points at a time: the temporaries stay a few megabytes whatever the
    # track's length (for 10^6 points whole, they were 40 MB).
    for at in range(0, n, _CHUNK):
        part = slice(at, at + _CHUNK)
        t, x, y, z = us[part], lng[part], lat[part], alt[part]
        conforming = np.zeros(len(t), bool)
        in_outline = np.zeros(len(t), bool)
        in_window = np.zeros(len(t), bool)  # inside an outline during that volume's window
        nearest = np.full(len(t), np.inf)  # metres to the band of a volume it is in
        for v, outline in zip(volumes, outlines, strict=True):
            h = shapely.intersects_xy(outline, x, y)
            ht = h & (t >= micros(v.time_start)) & (t <= micros(v.time_end))
            lo, hi = v.altitude_lower_m, v.altitude_upper_m
            conforming |= ht & (z >= lo) & (z <= hi)
            in_outline |= h
            in_window |= ht
            off = np.maximum(lo - z, z - hi)
            np.minimum(nearest, off, out=off)
            np.copyto(nearest, off, where=ht)
        here = np.where(
            in_outline, np.where(in_window, np.int8(_ALTITUDE), np.int8(_TIME)), np.int8(_OUTSIDE)
        )
        here[conforming] = 0
        kind[part] = here
        high = np.flatnonzero(here == _ALTITUDE)
        if high.size:
            vertical[at + high] = nearest[high]

    # Rough distances pick candidates only (each within its slack, >= 1 m): float32 is
    # exact enough (3 cm at 400 km) and halves their memory.
    horizontal: Rough = np.zeros(n, np.float32)
    slack: Rough = np.zeros(n, np.float32)
    parties = list(territories or {})
    party = np.full(n, -1, np.int16)
    for at in range(0, n, _CHUNK):  # in slices, as above
        far = at + np.flatnonzero(kind[at : at + _CHUNK] == _OUTSIDE)
        if far.size:
            horizontal[far], slack[far] = _rough_distances(volumes, lng[far], lat[far])
        bad = at + np.flatnonzero(kind[at : at + _CHUNK] > 0)
        for k, name in enumerate(parties):
            if name in covered_parties or not bad.size:
                continue
            assert territories is not None
            hit = _over(territories[name], lng[bad], lat[bad])
            party[bad[hit]] = k
            bad = bad[~hit]
    kind[party >= 0] = _TERRITORY

    def exact(points: npt.NDArray[np.intp]) -> Floats:
        return _distances(volumes, lng[points], lat[points])

    return _summarise(us, kind, (horizontal, slack, exact), vertical, party, parties)


def _over(territory: shapely.Geometry, lng: Floats, lat: Floats) -> npt.NDArray[np.bool_]:
    shapely.prepare(territory)
    west, south, east, north = territory.bounds
    near = np.flatnonzero((lng >= west) & (lng <= east) & (lat >= south) & (lat <= north))
    hit = np.zeros(len(lng), bool)
    if near.size:
        hit[near] = shapely.intersects_xy(territory, lng[near], lat[near])
    return hit


def _rough_distances(
    volumes: Sequence[Volume4D], lng: Floats, lat: Floats
) -> tuple[Floats, Floats]:
    """Metres from each point (outside every outline) to the nearest outline, roughly but
    fast, and how far off each may be. Measured in an equirectangular plane around the
    request, whose scale is off by about 0.5 % a degree of latitude from its centre, so
    each distance may be off by 1 % of the point's and the outlines' reach from the
    centre (+ 1 m). Used only to pick the points that may be an excursion's farthest,
    whose distances are then measured exactly (``_distances``)."""
    centre = np.array([_centre(v) for v in volumes])
    lng0, lat0 = float(centre[:, 0].mean()), float(centre[:, 1].mean())
    phi = math.radians(lat0)
    e2 = _E2
    w = math.sqrt(1.0 - e2 * math.sin(phi) ** 2)
    per_deg_lat = math.radians(1.0) * _A * (1.0 - e2) / w**3
    per_deg_lng = math.radians(1.0) * _A / w

    def plane(x: Floats, y: Floats) -> tuple[Floats, Floats]:
        return (x - lng0) * per_deg_lng * math.cos(phi), (y - lat0) * per_deg_lat

    px, py = plane(lng, lat)
    best = np.full(len(lng), np.inf)
    reach = 0.0
    for v in volumes:
        if isinstance(v.outline, Circle):
            cx, cy = plane(np.array([v.outline.center.lng]), np.array([v.outline.center.lat]))
            reach = max(reach, float(np.hypot(cx[0], cy[0])) + v.outline.radius_m)
        else:
            vx, vy = plane(
                np.array([p.lng for p in v.outline.vertices]),
                np.array([p.lat for p in v.outline.vertices]),
            )
            reach = max(reach, float(np.max(np.hypot(vx, vy))))
    slack = 0.01 * (np.hypot(px, py) + reach) + 1.0
    for v in volumes:
        if isinstance(v.outline, Circle):
            cx, cy = plane(np.array([v.outline.center.lng]), np.array([v.outline.center.lat]))
            d = np.hypot(px - cx[0], py - cy[0]) - v.outline.radius_m
            best = np.minimum(best, np.maximum(d, 0.0))
            continue
        vx, vy = plane(
            np.array([p.lng for p in v.outline.vertices]),
            np.array([p.lat for p in v.outline.vertices]),
        )
        ax, ay = vx, vy
        dx, dy = np.roll(vx, -1) - vx, np.roll(vy, -1) - vy
        length2 = np.maximum(dx * dx + dy * dy, 1e-9)
        for at in range(0, len(px), _CHUNK):
            qx, qy = px[at : at + _CHUNK, None] - ax, py[at : at + _CHUNK, None] - ay
            t = np.clip((qx * dx + qy * dy) / length2, 0.0, 1.0)
            d = np.hypot(qx - t * dx, qy - t * dy).min(axis=1)
            best[at : at + _CHUNK] = np.minimum(best[at : at + _CHUNK], d)
    return best, slack


def _centre(v: Volume4D) -> tuple[float, float]:
    if isinstance(v.outline, Circle):
        return v.outline.center.lng, v.outline.center.lat
    return (
        sum(p.lng for p in v.outline.vertices) / len(v.outline.vertices),
        sum(p.lat for p in v.outline.vertices) / len(v.outline.vertices),
    )


def _distances(volumes: Sequence[Volume4D], lng: Floats, lat: Floats) -> Floats:
    """Metres from each point (outside every outline) to the nearest outline: exact
    geodesic distance to circles; to polygons, in an azimuthal equidistant plane centred
    on the request (computed from geodesic azimuth and distance), their edges split into
    1 km pieces (each within a millimetre of its great circle there)."""
    centre = np.array([_centre(v) for v in volumes])
    lng0, lat0 = float(centre[:, 0].mean()), float(centre[:, 1].mean())
    points = shapely.points(_plane(lng0, lat0, lng, lat))
    best = np.full(len(lng), np.inf)
    for v in volumes:
        if isinstance(v.outline, Circle):
            c = v.outline.center
            _, _, d = WGS84.inv(np.full_like(lng, c.lng), np.full_like(lat, c.lat), lng, lat)
            best = np.minimum(best, np.maximum(np.asarray(d) - v.outline.radius_m, 0.0))
            continue
        ring = outline_ring(v, 1_000.0)
        outline = shapely.Polygon(_plane(lng0, lat0, ring[:, 0], ring[:, 1]))
        best = np.minimum(best, shapely.distance(points, outline))
    return best


def _plane(lng0: float, lat0: float, lng: Floats, lat: Floats) -> Floats:
    az, _, d = WGS84.inv(np.full_like(lng, lng0), np.full_like(lat, lat0), lng, lat)
    a = np.radians(np.asarray(az))
    return np.column_stack([d * np.sin(a), d * np.cos(a)])


def _summarise(
    us: npt.NDArray[np.int64],
    kind: npt.NDArray[np.int8],
    horizontal: tuple[Rough, Rough, Callable[[npt.NDArray[np.intp]], Floats]],
    vertical: Floats,
    party: npt.NDArray[np.int16],
    parties: list[str],
) -> ConformanceResult:
    n = len(us)
    bad = kind > 0
    flight_s = float(us[-1] - us[0]) / 1e6
    if flight_s > 0:  # each point stands for the time until the next (in slices: memory)
        good_us = 0
        for at in range(0, n - 1, _CHUNK):
            step = np.diff(us[at : at + _CHUNK + 1])
            good_us += int(np.sum(step, where=~bad[at : at + len(step)]))
        percent = 100.0 * good_us / 1e6 / flight_s
    else:
        percent = 100.0 * float(np.mean(~bad))
    edges = np.diff(bad.astype(np.int8), prepend=0, append=0).astype(np.int8)
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1) - 1
    excursions: list[Excursion] = []
    if starts.size:
        run_kind = np.maximum.reduceat(kind, starts)
        run_metres = np.maximum.reduceat(vertical, starts)
        run_metres[run_kind >= _OUTSIDE] = _farthest(horizontal, edges, bad, run_kind)
        after = np.minimum(ends + 1, n - 1)
        run_s = (us[after] - us[starts]) / 1e6
        marked = np.flatnonzero(party >= 0)
        first = np.searchsorted(marked, starts)
        for i in range(len(starts)):
            name = None
            if first[i] < marked.size and marked[first[i]] <= ends[i]:
                name = parties[int(party[marked[first[i]]])]
            k = int(run_kind[i])
            seconds = float(run_s[i])
            excursions.append(
                Excursion(
                    kind=_KINDS[k],
                    start=_instant(int(us[starts[i]])),
                    end=_instant(int(us[after[i]])),
                    seconds=seconds,
                    max_outside_m=float(run_metres[i]) if k != _TIME else 0.0,
                    party=name,
                    flagged=seconds > MAX_EXCURSION_S or k == _TERRITORY,
                )
            )
    entered = {}
    for k, name in enumerate(parties):
        over = np.flatnonzero(party == k)
        if over.size:
            entered[name] = _instant(int(us[over[0]]))
    reasons = _reasons(percent, excursions, flight_s, entered)
    return ConformanceResult(not reasons, percent, excursions, n, reasons, flight_s)


def _farthest(
    horizontal: tuple[Rough, Rough, Callable[[npt.NDArray[np.intp]], Floats]],
    edges: npt.NDArray[np.int8],
    bad: npt.NDArray[np.bool_],
    run_kind: npt.NDArray[np.int8],
) -> Floats:
    """Each horizontal run's largest exact distance: measured exactly at every point
    whose rough distance, plus its slack, reaches the run's largest rough distance.
    (Rough distances are 0 but outside every outline, so a run's largest is a plain
    maximum.) Points are picked a slice at a time, to keep the temporaries small."""
    rough, slack, exact = horizontal
    sideways = run_kind >= _OUTSIDE
    starts = np.flatnonzero(edges == 1)
    top = np.maximum.reduceat(rough, starts)
    picked: list[npt.NDArray[np.intp]] = []
    runs: list[npt.NDArray[np.intp]] = []
    before = 0  # runs started before the slice
    for at in range(0, len(bad), _CHUNK):
        began = edges[at : at + _CHUNK] == 1
        label = before + np.cumsum(began) - 1  # each point's run, where ``bad``
        before += int(np.count_nonzero(began))
        here = np.flatnonzero(bad[at : at + _CHUNK] & (rough[at : at + _CHUNK] > 0))
        if not here.size:
            continue
        run = label[here]
        points = at + here
        keep = sideways[run] & (rough[points] + slack[points] >= top[run])
        picked.append(points[keep])
        runs.append(run[keep])
    out = np.zeros(len(starts))
    if picked:
        points = np.concatenate(picked)
        if points.size:
            np.maximum.at(out, np.concatenate(runs), exact(points))
    return out[sideways]


def _reasons(
    percent: float, excursions: list[Excursion], flight_s: float, entered: dict[str, datetime]
) -> list[str]:
    out = []
    if percent < MIN_PERCENT:
        out.append(
            f"conforming for {percent:.1f} % of the flight time; at least {MIN_PERCENT:g} % "
            "is required"
        )
    long = [e for e in excursions if e.seconds > MAX_EXCURSION_S]
    if long:
        worst = max(long, key=lambda e: e.seconds)
        out.append(
            f"{len(long)} excursion(s) longer than {MAX_EXCURSION_S:g} s (the longest "
            f"{worst.seconds:.1f} s, from {instant(worst.start)})"
        )
    for name, when in sorted(entered.items(), key=lambda x: x[1]):
        out.append(
            f"flew over {name} territory, which no approval covers (first at {instant(when)})"
        )
    allowed = MAX_EXCURSIONS_PER_HOUR * max(1.0, flight_s / 3600.0)
    if len(excursions) > allowed:
        out.append(
            f"{len(excursions)} excursions in {flight_s / 3600.0:.2f} h of flight; at most "
            f"{MAX_EXCURSIONS_PER_HOUR} per flight hour are allowed"
        )
    return out


# -- parsing ------------------------------------------------------------------------------
