"""The grant that would have cleared it: from an authority's decisions by hand in a
period, the standing grants (operator, purposes, payloads, area, time window) that would
have covered the most of what it approved and none of what it denied.

Candidates, per operator the authority decided for, per set of the purposes and payloads
it approved for that operator (every non-empty subset):

- the area: the party's own territory, each named area of the scenario, and a new area:
  the convex hull (then the union) of the approved volumes' footprints, 2 km beyond
  them, clipped to the authority's party's territory (when it has one), with every
  denied footprint the window does not already exclude cut away with a 2 km margin;
- the time window: from the first approved volume's start, open-ended or until the last
  approved volume's end.

Each candidate is checked by ``grants.coverage``, the code that clears a submission, on
the volumes the authority decided on: a candidate that covers any denial is dropped.
The best candidate per (operator, purposes, payloads) is kept; ranked by approvals
covered, then fewest purposes and payloads, then an area the scenario already names
(a territory or a named area) before a new one, then open-ended before bounded.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import combinations
from typing import Any

import shapely
import shapely.geometry

from clearance.domain.clearance.alternatives import _Plane
from clearance.domain.clearance.grants import coverage
from clearance.domain.clearance.model import Area, Grant, Request, Territory
from clearance.domain.clearance.scenario import Scenario
from clearance.domain.documents import instant

MARGIN_M = 2_000.0  # beyond approved footprints, and away from denied ones
GRID_DEG = 1e-6  # coordinates of a new area are written on this grid (about 0.1 m)
MAX_VERTICES = 1000  # of a new area (simplified until it has no more)
SIMPLIFY_M = 250.0  # the first tolerance; every candidate is checked after it anyway
MAX_SUBSETS = 4  # purposes (or payloads) beyond this: singletons and all of them only
LIMIT = 5


@dataclass(frozen=True, slots=True)
class HandDecision:
    """One decision an authority made by hand: on which request (read into a
    ``Request``), on which of its volumes, approve or deny, and when."""

    request_id: str
    request: Request
    volumes: tuple[int, ...]
    approved: bool
    at: datetime


@dataclass(frozen=True)
class GrantSuggestion:
    """A grant that would have covered ``covered`` of ``approvals`` hand approvals and
    none of ``denials`` denials. ``area`` is set when the grant needs a new area (its id
    is the grant's ``area``); ``similar`` names the authority's grants to other operators
    that already give as much (purposes and payloads)."""

    grant: Grant
    area: Area | None
    covered: tuple[str, ...]
    approvals: int
    denials: int
    area_km2: float
    similar: tuple[str, ...] = ()

    @property
    def denials_covered(self) -> int:
        return 0  # a candidate covering any denial is never suggested

    def document(self) -> dict[str, Any]:
        """The grant as an entry of ``grants:`` in ``scenario.yaml``; a new area is
        written inline as a GeoJSON geometry."""
        g = self.grant
        doc: dict[str, Any] = {
            "id": g.id,
            "grantor": g.grantor,
            "grantee": g.grantee,
            "purposes": sorted(g.purposes),
            "payloads": sorted(g.payloads),
            "area": g.area if self.area is None else shapely.geometry.mapping(self.area.geometry),
            "valid_from": instant(g.valid_from),
        }
        if g.valid_until is not None:
            doc["valid_until"] = instant(g.valid_until)
        plain: dict[str, Any] = _plain(doc)
        return plain


def suggest_grants(
    authority: str,
    decisions: Sequence[HandDecision],
    scenario: Scenario,
    limit: int = LIMIT,
) -> list[GrantSuggestion]:
    """The best ``limit`` grants ``authority`` could give, from its ``decisions``."""
    best: dict[tuple[str, frozenset[str], frozenset[str]], tuple[Any, GrantSuggestion]] = {}
    taken = {*scenario.grants, *scenario.areas, *scenario.territories}
    for operator in sorted({d.request.operator for d in decisions}):
        mine = [d for d in decisions if d.request.operator == operator]
        approved = [d for d in mine if d.approved]
        denied = [d for d in mine if not d.approved]
        if not approved:
            continue
        shapes = _Shapes(mine)
        for purposes in _subsets({d.request.purpose for d in approved}):
            for payloads in _subsets({d.request.payload.value for d in approved}):
                targets = [
                    d
                    for d in approved
                    if d.request.purpose in purposes and d.request.payload in payloads
                ]
                if not targets:
                    continue
                rivals = [
                    d
                    for d in denied
                    if d.request.purpose in purposes and d.request.payload in payloads
                ]
                gid = _grant_id(authority, operator, purposes, payloads, taken)
                for name, area, window in _candidates(
                    authority, gid, targets, rivals, scenario, shapes
                ):
                    grant = Grant(gid, authority, operator, purposes, payloads, name, *window)
                    found = _check(grant, area, approved, denied, scenario)
                    if found is None:
                        continue
                    covered, km2 = found
                    suggestion = GrantSuggestion(
                        grant, area, covered, len(approved), len(denied), km2,
                        _similar(authority, grant, scenario),
                    )  # fmt: skip
                    key = (
                        -len(covered),
                        len(purposes) + len(payloads),
                        area is not None,
                        window[1] is not None,
                        km2,
                    )
                    slot = (operator, purposes, payloads)
                    if slot not in best or key < best[slot][0]:
                        best[slot] = (key, suggestion)
    ranked = sorted(best.values(), key=lambda pair: (pair[0], pair[1].grant.id))
    return [s for _, s in ranked[:limit]]


# -- candidates ---------------------------------------------------------------------------
def _candidates(
    authority: str,
    gid: str,
    targets: list[HandDecision],
    rivals: list[HandDecision],
    scenario: Scenario,
    shapes: _Shapes,
) -> Iterator[tuple[str, Area | None, tuple[datetime, datetime | None]]]:
    """(area name, new area or None, window): the scenario's own areas first."""
    start = min(d.request.volumes[i].time_start for d in targets for i in d.volumes)
    end = max(d.request.volumes[i].time_end for d in targets for i in d.volumes)
    party = scenario.authorities[authority].party
    territory = scenario.territories.get(party)
    names = ([party] if territory is not None else []) + sorted(scenario.areas)
    for window in ((start, None), (start, end)):
        for name in names:
            yield name, None, window
        in_window = [d for d in rivals if _overlaps(d, window)]
        for shape in ("hull", "union"):
            geometry = shapes.new_area(shape, targets, in_window, territory)
            if geometry is not None:
                yield gid, Area(gid, f"area of grant {gid}", geometry), window


class _Shapes:
    """One operator's decided footprints in one plane (metres), each projected once, and
    the new areas made from them, each made once (purpose and payload subsets often
    select the same decisions)."""

    def __init__(self, decisions: list[HandDecision]) -> None:
        self.keys = [(d.request_id, i) for d in decisions for i in d.volumes]
        prints = [d.request.volumes[i].footprint for d in decisions for i in d.volumes]
        centres = shapely.centroid(prints)
        self.plane = _Plane(shapely.MultiPoint(list(centres)).centroid)
        # a simplified edge moves by at most the tolerance: well within the margin
        flat = shapely.simplify(shapely.transform(prints, self.plane.forward), SIMPLIFY_M)
        self.flat = dict(zip(self.keys, flat, strict=True))
        self.made: dict[tuple[Any, ...], shapely.Geometry | None] = {}

    def new_area(
        self,
        shape: str,
        targets: list[HandDecision],
        rivals: list[HandDecision],
        territory: Territory | None,
    ) -> shapely.Geometry | None:
        mine = [(d.request_id, i) for d in targets for i in d.volumes]
        theirs = [(d.request_id, i) for d in rivals for i in d.volumes]
        key = (shape, tuple(mine), tuple(theirs))
        if key not in self.made:
            self.made[key] = self._make(shape, mine, theirs, territory)
        return self.made[key]

    def _make(
        self,
        shape: str,
        mine: list[tuple[str, int]],
        theirs: list[tuple[str, int]],
        territory: Territory | None,
    ) -> shapely.Geometry | None:
        parts = [self.flat[k] for k in mine]
        if shape == "hull":
            base = shapely.GeometryCollection(parts).convex_hull
        else:
            base = shapely.union_all(parts)
        grown = base.buffer(MARGIN_M)
        if theirs:
            cut = shapely.union_all([self.flat[k] for k in theirs]).buffer(MARGIN_M)
            grown = grown.difference(cut)
        tolerance = SIMPLIFY_M
        while shapely.get_num_coordinates(grown) > MAX_VERTICES and tolerance < 100_000:
            grown = shapely.make_valid(grown.simplify(tolerance, preserve_topology=False))
            tolerance *= 2
        area = shapely.transform(grown, self.plane.back)
        if territory is not None:
            area = area.intersection(territory.geometry)
        area = _polygons(shapely.set_precision(area, GRID_DEG))
        return None if area.is_empty or not area.is_valid else area


def _polygons(geometry: shapely.Geometry) -> shapely.Geometry:
    """Only the polygonal parts (an intersection may leave lines or points)."""
    parts = [g for g in shapely.get_parts(geometry) if g.geom_type in ("Polygon", "MultiPolygon")]
    if not parts:
        return shapely.Polygon()
    merged = shapely.union_all(parts)
    if merged.geom_type == "GeometryCollection":  # pragma: no cover - union of polygons
        return shapely.Polygon()
    return merged


def _overlaps(d: HandDecision, window: tuple[datetime, datetime | None]) -> bool:
    start, end = window
    return any(
        d.request.volumes[i].time_end > start
        and (end is None or d.request.volumes[i].time_start < end)
        for i in d.volumes
    )


# -- checking with the code that clears --------------------------------------------------
def _check(
    grant: Grant,
    area: Area | None,
    approved: list[HandDecision],
    denied: list[HandDecision],
    scenario: Scenario,
) -> tuple[tuple[str, ...], float] | None:
    """The approvals ``grant`` covers and its area in km2, or None when it covers a
    denial or no approval."""
    view = _with_grant(scenario, grant, area)
    if any(_covers(view, grant.grantor, d) for d in denied):
        return None
    covered = tuple(d.request_id for d in approved if _covers(view, grant.grantor, d))
    if not covered:
        return None
    return covered, _km2(view.area_geometry(grant.area))


def _covers(view: Scenario, authority: str, d: HandDecision) -> bool:
    return coverage(d.request, authority, d.volumes, view).grant is not None


def _with_grant(scenario: Scenario, grant: Grant, area: Area | None) -> Scenario:
    """``scenario`` with ``grant`` as the only grant (and ``area`` named), sharing the
    rest (as ``Scenario.with_revoked`` does)."""
    view = copy.copy(scenario)
    view.grants = {grant.id: grant}
    if area is not None:
        shapely.prepare(area.geometry)
        view.areas = {**scenario.areas, area.id: area}
    return view


def _km2(geometry: shapely.Geometry) -> float:
    plane = _Plane(geometry.centroid)
    return round(float(plane.project(geometry).area) / 1e6, 1)


def _similar(authority: str, grant: Grant, scenario: Scenario) -> tuple[str, ...]:
    return tuple(
        sorted(
            g.id
            for g in scenario.grants_from(authority)
            if g.grantee != grant.grantee
            and not g.revoked
            and grant.purposes <= g.purposes
            and grant.payloads <= g.payloads
        )
    )


# -- small helpers -----------------------------------------------------------------------
def _subsets(items: set[str]) -> Iterator[frozenset[str]]:
    ordered = sorted(items)
    if len(ordered) > MAX_SUBSETS:
        yield from (frozenset({x}) for x in ordered)
        yield frozenset(ordered)
        return
    for n in range(1, len(ordered) + 1):
        for chosen in combinations(ordered, n):
            yield frozenset(chosen)


def _grant_id(
    authority: str,
    operator: str,
    purposes: frozenset[str],
    payloads: frozenset[str],
    taken: set[str],
) -> str:
    words = [authority, operator, *sorted(purposes), *sorted(payloads)]
    base = re.sub(r"[^a-z0-9]+", "-", "-".join(words).lower()).strip("-")
    gid, n = base, 1
    while gid in taken:
        n += 1
        gid = f"{base}-{n}"
    return gid


def _plain(value: Any) -> Any:
    """GeoJSON from shapely has tuples; a document has lists."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
