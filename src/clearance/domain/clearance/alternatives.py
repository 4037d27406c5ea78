"""What would clear it: the smallest changes to a request document that clear it or
shorten its chain, each evaluated by the same rules as a submission, nothing stored.

Candidates, from what the scenario offers the request's operator:

- another launch site, aircraft, payload or purpose (up to two of these at once), with
  the time window moved, in whole days, to when the site is operational if it is not yet;
- the time window moved out of another operation's, after it ends or before it starts;
- an altitude band that stays 50 m clear of another operation's;
- volumes clipped away from a party's territory (2 km margin), clipped into a grant's
  area (2 km inside), moved into it when nothing of a circle lies there, or shrunk
  within the aircraft's combat radius of the site (2 km inside). Geometry is done in an
  azimuthal equidistant plane around the volume (metres, from geodesics, as
  ``geotemporal`` does), then written back as an F3548 polygon or circle.

Each candidate is read with ``parse_request`` (within the scenario's limits and ``now``)
and evaluated with ``evaluate_many``, then deconflicted by the injected ``Deconflict``.
A candidate is kept only when it breaks no rule (no violation), meets no other
operation at all (not even one its priority would override) and comes out cleared, or
pending with fewer reviews than the request as it is. Ranked: cleared first, then fewer
reviews, then the smallest change. Of another operation, only ``Hold`` is ever known
here: when (and at what altitudes) the airspace is held, never whose or why.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from itertools import product
from typing import Any

import numpy as np
import shapely
from shapely.ops import nearest_points

from clearance.domain.airspace.volumes import WGS84, Circle, LatLng, Volume4D
from clearance.domain.clearance.evaluation import evaluate_many, with_violations
from clearance.domain.clearance.model import (
    ApprovalStatus,
    Evaluation,
    Outcome,
    Payload,
    Request,
    Violation,
)
from clearance.domain.clearance.requests import parse_request
from clearance.domain.clearance.scenario import Scenario
from clearance.domain.documents import instant
from clearance.domain.errors import InputError

MARGIN_M = 2_000.0  # kept between a clipped volume and what it is clipped away from
ALTITUDE_MARGIN_M = 50.0  # kept between a new altitude band and a held one
MAX_VERTICES = 120  # of a clipped polygon (simplified until it has no more)
LIMIT = 8  # suggestions returned
_WINDOW_M = 400_000.0  # how far a circle is moved at most
_PAD_DEG = 0.1  # read of a territory or area beyond a volume's extent
_OUTCOME_RANK = {Outcome.CLEARED: 0, Outcome.PENDING: 1, Outcome.DENIED: 2, Outcome.INFEASIBLE: 3}


@dataclass(frozen=True, slots=True)
class Hold:
    """Another operation holds the airspace volume ``volume`` of this request asks for:
    when and at what altitudes, and nothing else of it. ``blocking`` is False when this
    request's priority would override it (no alternative is suggested that does)."""

    volume: int
    time_start: datetime
    time_end: datetime
    altitude_lower_m: float
    altitude_upper_m: float
    blocking: bool = True

    @property
    def message(self) -> str:
        return (
            f"volume {self.volume}: the airspace is held from {instant(self.time_start)} "
            f"to {instant(self.time_end)}"
        )


Deconflict = Callable[[Request], Sequence[Hold]]
"""The holds a request meets (the service asks its ``Airspace``)."""


def no_conflicts(request: Request) -> Sequence[Hold]:
    """A ``Deconflict`` for when no operation is stored (the offline CLI)."""
    return ()


@dataclass(frozen=True, slots=True)
class Change:
    """One RFC 6902 operation on the document: ``replace`` (with ``value``) or ``remove``."""

    op: str
    path: str
    value: Any = None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"op": self.op, "path": self.path}
        if self.op != "remove":
            out["value"] = self.value
        return out


@dataclass(frozen=True)
class Alternative:
    """A change to a request and the outcome it would get."""

    description: str
    changes: tuple[Change, ...]
    document: dict[str, Any]  # the document with the changes applied
    evaluation: Evaluation
    cost: float  # how much it changes: one per field or volume touched, plus its size

    @property
    def reviews(self) -> int:
        return _reviews(self.evaluation)


@dataclass(frozen=True)
class Alternatives:
    """The document's own evaluation (its conflicts stated as holds) and the suggestions."""

    evaluation: Evaluation
    held: tuple[Hold, ...]
    suggestions: tuple[Alternative, ...]


def apply_changes(document: dict[str, Any], changes: Sequence[Change]) -> dict[str, Any]:
    """``document`` with ``changes`` applied in order (RFC 6902 paths). ``document`` is
    not changed: each container on a changed path is copied (the rest is shared)."""
    out = dict(document)
    for change in changes:
        parts = [p.replace("~1", "/").replace("~0", "~") for p in change.path.split("/")[1:]]
        parent: Any = out
        for part in parts[:-1]:
            key: Any = int(part) if isinstance(parent, list) else part
            child = parent[key]
            parent[key] = list(child) if isinstance(child, list) else dict(child)
            parent = parent[key]
        last: Any = int(parts[-1]) if isinstance(parent, list) else parts[-1]
        if change.op == "remove":
            del parent[last]
        else:
            parent[last] = copy.deepcopy(change.value)
    return out


def alternatives(
    document: dict[str, Any],
    scenario: Scenario,
    deconflict: Deconflict,
    now: datetime,
    limit: int = LIMIT,
) -> Alternatives:
    """Suggestions for ``document`` (plain JSON data, already valid: a bad one raises
    ``RequestError``), best first, at most ``limit``."""
    request = parse_request(document, scenario, limits=scenario.limits, now=now)
    held = tuple(dict.fromkeys(deconflict(request)))
    blocking = [Violation("conflict", h.message) for h in held if h.blocking]
    base = with_violations(evaluate_many([request], scenario)[0], blocking)
    if base.outcome is Outcome.CLEARED:  # nothing clears it more
        return Alternatives(base, held, ())
    seen = {_key(document)}
    drafts: list[tuple[_Draft, dict[str, Any], Request]] = []
    for draft in _drafts(document, request, base, held, scenario):
        doc = apply_changes(document, draft.changes)
        key = _key(doc)
        if key in seen:
            continue
        seen.add(key)
        try:
            candidate = parse_request(doc, scenario, limits=scenario.limits, now=now)
        except InputError:
            continue  # outside the limits, or a polygon the rules refuse: not suggested
        if all(v.time_end <= now for v in candidate.volumes):
            continue
        drafts.append((draft, doc, candidate))
    evaluations = evaluate_many([r for _, _, r in drafts], scenario)
    target = (_OUTCOME_RANK[base.outcome], _reviews(base))
    found = []
    for (draft, doc, candidate), evaluation in zip(drafts, evaluations, strict=True):
        if evaluation.violations or evaluation.outcome not in (Outcome.CLEARED, Outcome.PENDING):
            continue
        if (_OUTCOME_RANK[evaluation.outcome], _reviews(evaluation)) >= target:
            continue
        if deconflict(candidate):
            continue
        found.append(Alternative(draft.description, draft.changes, doc, evaluation, draft.cost))
    found.sort(key=rank)
    return Alternatives(base, held, tuple(found[:limit]))


def rank(a: Alternative) -> tuple[int, int, float, str]:
    """Cleared first, then fewer reviews, then the smallest change."""
    return (_OUTCOME_RANK[a.evaluation.outcome], a.reviews, a.cost, a.description)


def _reviews(e: Evaluation) -> int:
    return sum(a.status is ApprovalStatus.NEEDS_REVIEW for a in e.approvals)


def _key(document: dict[str, Any]) -> str:
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


# -- candidates --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Draft:
    description: str
    changes: tuple[Change, ...]
    cost: float


def _drafts(
    doc: dict[str, Any],
    request: Request,
    base: Evaluation,
    held: Sequence[Hold],
    scenario: Scenario,
) -> Iterator[_Draft]:
    yield from _fields(doc, request, scenario)
    yield from _out_of_holds(request, held)
    yield from _altitudes(request, held)
    yield from _geometry(request, base, scenario)


_FIELD_COST = {"launch_site": 1.0, "aircraft": 1.0, "payload": 2.0, "purpose": 2.0}


def _fields(doc: dict[str, Any], request: Request, scenario: Scenario) -> Iterator[_Draft]:
    """Up to two of site, aircraft, payload and purpose changed; a site not yet
    operational at the time also gets the window moved to when it is."""
    options = {
        "launch_site": list(scenario.sites),
        "aircraft": [a.id for a in scenario.aircraft.values() if a.operator == request.operator],
        "payload": [p.value for p in Payload],
        "purpose": list(scenario.purposes),
    }
    keys = list(options)
    for values in product(*(options[k] for k in keys)):
        changed = [(k, v) for k, v in zip(keys, values, strict=True) if doc[k] != v]
        if not 1 <= len(changed) <= 2:
            continue
        changes = tuple(Change("replace", f"/{k}", v) for k, v in changed)
        words = [f"{k.replace('_', ' ')} {v}" for k, v in changed]
        cost = sum(_FIELD_COST[k] for k, _ in changed)
        yield _Draft(" and ".join(words), changes, cost)
        site = dict(changed).get("launch_site", request.launch_site)
        moved = _until_operational(request, scenario, site)
        if moved is not None:
            shift, when = moved
            yield _Draft(
                f"{' and '.join(words)}, {_moved(shift)} (until {site} is operational, "
                f"{instant(when)})",
                changes + _shifted(request, shift),
                cost + 1.0 + _days(shift) / 365.0,
            )
    moved = _until_operational(request, scenario, request.launch_site)
    if moved is not None:
        shift, when = moved
        yield _Draft(
            f"{_moved(shift)} (until {request.launch_site} is operational, {instant(when)})",
            _shifted(request, shift),
            1.0 + _days(shift) / 365.0,
        )


def _until_operational(
    request: Request, scenario: Scenario, site_id: str
) -> tuple[timedelta, datetime] | None:
    """The shift, in whole days, that puts every volume after ``site_id`` is operational."""
    site = scenario.sites[site_id]
    since = site.operational_from()
    if since is None or request.time_start >= since:
        return None
    days = math.ceil((since - request.time_start) / timedelta(days=1))
    return timedelta(days=days), since


def _out_of_holds(request: Request, held: Sequence[Hold]) -> Iterator[_Draft]:
    blocking = [h for h in held if h.blocking]
    if not blocking:
        return
    after = max(h.time_end - request.volumes[h.volume].time_start for h in blocking)
    before = min(h.time_start - request.volumes[h.volume].time_end for h in blocking)
    # later to start when the last hold ends; earlier to end when the first one starts
    for shift, why in ((after, "after"), (before, "before")):
        if (why == "after" and shift > timedelta(0)) or (why == "before" and shift < timedelta(0)):
            yield _Draft(
                f"{_moved(shift)} ({why} the held airspace's window)",
                _shifted(request, shift),
                1.0 + _days(shift) / 365.0,
            )


def _shifted(request: Request, shift: timedelta) -> tuple[Change, ...]:
    changes = []
    for i, v in enumerate(request.volumes):
        for key, at in (("time_start", v.time_start), ("time_end", v.time_end)):
            value = {"value": instant(at + shift), "format": "RFC3339"}
            changes.append(Change("replace", f"/volumes/{i}/{key}", value))
    return tuple(changes)


def _moved(shift: timedelta) -> str:
    hours = shift.total_seconds() / 3600.0
    days = abs(hours) / 24
    amount = f"{days:g} day{'s' if days != 1 else ''}" if hours % 24 == 0 else f"{abs(hours):g} h"
    return f"time window moved {'later' if hours > 0 else 'earlier'} by {amount}"


def _days(shift: timedelta) -> float:
    return abs(shift.total_seconds()) / 86_400.0


def _altitudes(request: Request, held: Sequence[Hold]) -> Iterator[_Draft]:
    by_volume: dict[int, list[Hold]] = {}
    for h in held:
        if h.blocking:
            by_volume.setdefault(h.volume, []).append(h)
    for i, holds in sorted(by_volume.items()):
        v = request.volumes[i]
        below = min(h.altitude_lower_m for h in holds) - ALTITUDE_MARGIN_M
        above = max(h.altitude_upper_m for h in holds) + ALTITUDE_MARGIN_M
        for lower, upper, where in (
            (v.altitude_lower_m, below, "below"),
            (above, v.altitude_upper_m, "above"),
        ):
            if lower < upper:
                kept = (upper - lower) / (v.altitude_upper_m - v.altitude_lower_m)
                yield _Draft(
                    f"volume {i} flown at {lower:g} to {upper:g} m W84 ({where} the held airspace)",
                    (
                        Change("replace", f"/volumes/{i}/volume/altitude_lower", _alt(lower)),
                        Change("replace", f"/volumes/{i}/volume/altitude_upper", _alt(upper)),
                    ),
                    1.0 + (1.0 - kept),
                )


def _alt(metres: float) -> dict[str, Any]:
    return {"value": metres, "reference": "W84", "units": "M"}


# -- geometry ------------------------------------------------------------------------------


def _geometry(request: Request, base: Evaluation, scenario: Scenario) -> Iterator[_Draft]:
    own = scenario.operators[request.operator].party
    parties = sorted(
        {
            a.party
            for a in base.approvals
            if a.party != own
            and a.status in (ApprovalStatus.DENIED, ApprovalStatus.NEEDS_REVIEW)
            and a.party in scenario.territories
        }
    )
    for party in parties:
        name = scenario.territories[party].name
        yield from _reshaped(
            request,
            partial(_away, area=scenario.area_geometry(party)),
            f"{party}'s territory ({name})",
            "clipped to leave",
            "to leave",
        )
    for grant in scenario.grants.values():
        if grant.grantee != request.operator or grant.revoked:
            continue
        yield from _reshaped(
            request,
            partial(_into, area=scenario.area_geometry(grant.area)),
            f"grant {grant.id}'s area {grant.area}",
            "clipped to stay inside",
            "to lie inside",
        )
    site = scenario.sites[request.launch_site]
    aircraft = scenario.aircraft[request.aircraft]
    if any(
        v.farthest_distance_m(site.location) > aircraft.combat_radius_m for v in request.volumes
    ):
        yield from _reshaped(
            request,
            partial(_within_range, site=site.location, radius_m=aircraft.combat_radius_m),
            f"{aircraft.id}'s combat radius of {site.id}",
            "shrunk to stay within",
            "to lie within",
        )


class _Plane:
    """An azimuthal equidistant plane (metres) centred on a volume."""

    def __init__(self, centre: shapely.Point) -> None:
        self.lng0, self.lat0 = float(centre.x), float(centre.y)

    def forward(self, coords: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        if len(coords) == 0:
            return coords
        az, _, d = WGS84.inv(
            np.full(len(coords), self.lng0),
            np.full(len(coords), self.lat0),
            coords[:, 0],
            coords[:, 1],
        )
        a = np.radians(np.asarray(az))
        return np.column_stack([d * np.sin(a), d * np.cos(a)])

    def back(self, coords: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        if len(coords) == 0:
            return coords
        az = np.degrees(np.arctan2(coords[:, 0], coords[:, 1]))
        d = np.hypot(coords[:, 0], coords[:, 1])
        lng, lat, _ = WGS84.fwd(
            np.full(len(coords), self.lng0), np.full(len(coords), self.lat0), az, d
        )
        return np.column_stack([lng, lat])

    def project(self, geometry: shapely.Geometry) -> shapely.Geometry:
        return shapely.transform(geometry, self.forward)


# A reshaper gets the volume's plane and the volume projected; returns the new outline in
# the plane (None: unchanged, empty: nothing left), or a moved circle's new centre.
Reshape = Callable[["_Plane", shapely.Geometry], "shapely.Geometry | shapely.Point | None"]


def _window(plane: _Plane, geometry: shapely.Geometry, shape: shapely.Geometry) -> shapely.Geometry:
    """``geometry`` (lng, lat) cut to the extent of ``shape`` (in the plane) with a margin,
    projected: a territory's far side costs nothing."""
    x0, y0, x1, y1 = shape.bounds
    corners = plane.back(np.array([[x0, y0], [x0, y1], [x1, y0], [x1, y1]]))
    (w, s), (e, n) = corners.min(axis=0) - _PAD_DEG, corners.max(axis=0) + _PAD_DEG
    return plane.project(shapely.intersection(geometry, shapely.box(w, s, e, n)))


def _away(
    plane: _Plane, shape: shapely.Geometry, area: shapely.Geometry
) -> shapely.Geometry | None:
    held = _window(plane, area, shape)
    if not shape.intersects(held.buffer(MARGIN_M)):
        return None
    return shape.difference(held.buffer(MARGIN_M))


def _into(
    plane: _Plane, shape: shapely.Geometry, area: shapely.Geometry
) -> shapely.Geometry | None:
    inner = _window(plane, area, shape).buffer(-MARGIN_M)
    if inner.contains(shape):
        return None
    return shape.intersection(inner)


def _within_range(
    plane: _Plane, shape: shapely.Geometry, site: LatLng, radius_m: float
) -> shapely.Geometry | None:
    n = 360
    lngs, lats, _ = WGS84.fwd(
        np.full(n, site.lng),
        np.full(n, site.lat),
        np.linspace(0.0, 360.0, n, endpoint=False),
        np.full(n, radius_m - MARGIN_M),
    )
    reach = shapely.Polygon(plane.forward(np.column_stack([lngs, lats])))
    # the chords of a 360-gon lie inside the geodesic circle: the margin covers the rest
    if reach.contains(shape):
        return None
    return shape.intersection(reach)


def _reshaped(
    request: Request,
    reshape: Callable[[_Plane, shapely.Geometry], shapely.Geometry | None],
    what: str,
    verb: str,
    move_verb: str,
) -> Iterator[_Draft]:
    changes: list[Change] = []
    removed: list[int] = []
    words: list[str] = []
    cost = 0.0
    for i, v in enumerate(request.volumes):
        plane = _Plane(v.footprint.centroid)
        shape = plane.project(v.footprint)
        try:
            new = reshape(plane, shape)
        except shapely.errors.GEOSException:  # a geometry GEOS cannot cut: no candidate
            return
        if new is None:
            continue
        piece = _largest(new)
        if piece is not None:
            vertices = _vertices(plane, piece)
            if vertices is None:
                return
            outline: dict[str, Any] = {"outline_polygon": {"vertices": vertices}}
            changes.append(Change("replace", f"/volumes/{i}", _volume(v, outline)))
            words.append(f"volume {i} {verb} {what}")
            cost += 1.0 + (1.0 - piece.area / shape.area)
            continue
        moved = _moved_circle(plane, v, reshape)
        if moved is not None and isinstance(v.outline, Circle):
            centre, km = moved
            radius = {"value": v.outline.radius_m, "units": "M"}
            outline = {"outline_circle": {"center": centre, "radius": radius}}
            changes.append(Change("replace", f"/volumes/{i}", _volume(v, outline)))
            words.append(f"volume {i} moved {km:,.0f} km {move_verb} {what}")
            cost += 1.0 + km / 100.0
            continue
        removed.append(i)
        words.append(f"volume {i} dropped (none of it is left {move_verb} {what})")
        cost += 2.0
    if not words or len(removed) == len(request.volumes):
        return
    changes.extend(Change("remove", f"/volumes/{i}") for i in sorted(removed, reverse=True))
    yield _Draft("; ".join(words), tuple(changes), cost)


def _largest(geometry: shapely.Geometry) -> shapely.Polygon | None:
    parts = [g for g in shapely.get_parts(geometry) if isinstance(g, shapely.Polygon)]
    best = max(parts, key=lambda g: g.area, default=None)
    if best is None or best.area < 1e6:  # under a square kilometre: nothing worth flying
        return None
    return shapely.Polygon(best.exterior)


def _vertices(plane: _Plane, piece: shapely.Polygon) -> list[dict[str, float]] | None:
    tolerance = 50.0
    simple = piece
    while True:
        simple = piece.simplify(tolerance, preserve_topology=True)
        if len(simple.exterior.coords) - 1 <= MAX_VERTICES:
            break
        tolerance *= 2
    ring = plane.back(np.asarray(simple.exterior.coords)[:-1])
    out: list[dict[str, float]] = []
    for lng, lat in ring:
        point = {"lat": round(float(lat), 6), "lng": round(float(lng), 6)}
        if point not in out:
            out.append(point)
    return out if len(out) >= 3 else None


def _moved_circle(
    plane: _Plane,
    v: Volume4D,
    reshape: Callable[[_Plane, shapely.Geometry], shapely.Geometry | None],
) -> tuple[dict[str, float], float] | None:
    """A circle with nothing left: its centre moved to the nearest place the whole
    circle (and the margin) fits, judged by ``reshape`` leaving it whole."""
    if not isinstance(v.outline, Circle):
        return None
    # the region the reshaper keeps, from a square of the window's size
    try:
        kept = reshape(plane, shapely.box(-_WINDOW_M, -_WINDOW_M, _WINDOW_M, _WINDOW_M))
        if kept is None or kept.is_empty:
            return None
        room = kept.buffer(-(v.outline.radius_m + MARGIN_M))
    except shapely.errors.GEOSException:
        return None
    if room.is_empty:
        return None
    target, _ = nearest_points(room, shapely.Point(0.0, 0.0))
    lng, lat = plane.back(np.array([[target.x, target.y]]))[0]
    km = float(np.hypot(target.x, target.y)) / 1000.0
    return {"lat": round(float(lat), 4), "lng": round(float(lng), 4)}, km


def _volume(v: Volume4D, outline: dict[str, Any]) -> dict[str, Any]:
    return {
        "volume": {
            **outline,
            "altitude_lower": _alt(v.altitude_lower_m),
            "altitude_upper": _alt(v.altitude_upper_m),
        },
        "time_start": {"value": instant(v.time_start), "format": "RFC3339"},
        "time_end": {"value": instant(v.time_end), "format": "RFC3339"},
    }
