"""ASTM F3548-21 ``Volume4D``: parsing, rules and geometry.

A volume is an outline (a polygon of ``{lat, lng}`` vertices with no closing vertex, or a
circle with a centre and a radius in metres), an altitude band (WGS84 metres) and a time
window. Any other unit, datum or time format is rejected explicitly rather than
converted, as the UTM world does.

Outlines become shapely polygons in (lng, lat) degrees, the *footprint* that routing
(whose territory?), feasibility and grant areas are tested against:

- a circle becomes a polygon *around* it, of 72 sides or more (none over 5 km), its
  vertices placed along geodesics from the centre (pyproj on the WGS84 ellipsoid) at
  ``(r + CIRCLE_MARGIN_M) / cos(pi / n)``: it errs outwards, by at most
  ``CIRCLE_EXCESS`` (0.095 %) of the radius plus 2 m, so a volume that reaches a border
  always asks that territory's authority (an inscribed polygon missed up to 28 m of a
  30 km circle), and one that stays that close to a border may ask it too (checked for
  circles of up to 1,000 km radius that stay within 60 degrees of latitude);
- a polygon's edges follow great circles through its vertices (as deconfliction reads
  them, ``geotemporal``): points are inserted along each edge every 10 km at most, so
  the straight (lng, lat) pieces between them stay within 0.52 m of the arc on an
  east-west edge at 15 N (a straight line from vertex to vertex strays 52 m from a
  100 km one).

Distances are geodesic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property, lru_cache

import numpy as np
import shapely
from pyproj import Geod

from clearance.domain.documents import Fields, instant
from clearance.domain.errors import InputError

WGS84 = Geod(ellps="WGS84")
CIRCLE_SEGMENTS = 72  # the fewest sides of a circle's footprint
_MAX_CIRCLE_SEGMENTS = 4096
_CIRCLE_SIDE_M = 5_000.0
# A straight (lng, lat) side bows inside the geodesic circle by up to 1.23 m for a 5 km
# side at 60 degrees (measured); the footprint keeps this margin beyond r.
CIRCLE_MARGIN_M = 2.0
# At most this share of the radius, plus the margin, outside the circle (30 m for 30 km).
CIRCLE_EXCESS = 1.0 / math.cos(math.pi / CIRCLE_SEGMENTS) - 1.0
_EDGE_PIECE_M = 10_000.0
# No point is farther than a quarter meridian (10,002 km) from a pole, so a larger circle
# always covers one and is refused as such, before its footprint's arithmetic overflows
# (a radius of 1e307 m was a 500).
MAX_RADIUS_M = 10_000_000.0
_EARTH_RADIUS_M = 6_371_008.8


@dataclass(frozen=True, slots=True)
class LatLng:
    lat: float
    lng: float


@dataclass(frozen=True, slots=True)
class Circle:
    center: LatLng
    radius_m: float


@dataclass(frozen=True, slots=True)
class Polygon:
    vertices: tuple[LatLng, ...]


Outline = Circle | Polygon


@dataclass(frozen=True)
class Volume4D:
    """One F3548 Volume4D; altitudes in metres above the WGS84 ellipsoid."""

    outline: Outline
    altitude_lower_m: float
    altitude_upper_m: float
    time_start: datetime
    time_end: datetime

    @cached_property
    def footprint(self) -> shapely.Polygon:
        """The outline as a shapely polygon in (lng, lat) degrees."""
        return outline_polygon(self.outline)

    def farthest_distance_m(self, origin: LatLng) -> float:
        """Geodesic distance from ``origin`` to the farthest point of the outline."""
        if isinstance(self.outline, Circle):
            c = self.outline.center
            _, _, d = WGS84.inv(origin.lng, origin.lat, c.lng, c.lat)
            return float(d) + self.outline.radius_m
        lngs = np.fromiter((v.lng for v in self.outline.vertices), dtype=float)
        lats = np.fromiter((v.lat for v in self.outline.vertices), dtype=float)
        _, _, d = WGS84.inv(
            np.full_like(lngs, origin.lng), np.full_like(lats, origin.lat), lngs, lats
        )
        return float(np.max(d))


def circle_segments(radius_m: float) -> int:
    """Sides of a circle's footprint: 72, or more to keep them within 5 km.

    >>> circle_segments(30_000), circle_segments(300_000)
    (72, 377)
    """
    needed = math.ceil(2.0 * math.pi * radius_m / _CIRCLE_SIDE_M)
    return min(max(needed, CIRCLE_SEGMENTS), _MAX_CIRCLE_SEGMENTS)


@lru_cache(maxsize=1024)
def outline_polygon(outline: Outline) -> shapely.Polygon:
    """The footprint of ``outline`` (remembered: parsing checks it, then a volume keeps it)."""
    if isinstance(outline, Circle):
        n = circle_segments(outline.radius_m)
        # vertices at (r + margin) / cos(pi / n): the sides pass outside the circle
        around = (outline.radius_m + CIRCLE_MARGIN_M) / math.cos(math.pi / n)
        lngs, lats, _ = WGS84.fwd(
            np.full(n, outline.center.lng),
            np.full(n, outline.center.lat),
            np.linspace(0.0, 360.0, n, endpoint=False),
            np.full(n, around),
        )
        return shapely.Polygon(np.column_stack([lngs, lats]))
    return shapely.Polygon(_great_circle_ring(outline.vertices))


def _great_circle_ring(vertices: tuple[LatLng, ...]) -> list[tuple[float, float]]:
    """(lng, lat) of the vertices, as written, with points inserted along each edge's
    great circle (slerp between unit vectors) so no piece spans more than 10 km. Plain
    Python: a request's few edges cost less so than numpy's per-call overhead."""
    unit = []
    for v in vertices:
        lat, lng = math.radians(v.lat), math.radians(v.lng)
        unit.append((math.cos(lat) * math.cos(lng), math.cos(lat) * math.sin(lng), math.sin(lat)))
    ring: list[tuple[float, float]] = []
    for i, v in enumerate(vertices):
        ring.append((v.lng, v.lat))
        a, b = unit[i], unit[(i + 1) % len(unit)]
        theta = math.acos(max(-1.0, min(1.0, a[0] * b[0] + a[1] * b[1] + a[2] * b[2])))
        pieces = math.ceil(theta * _EARTH_RADIUS_M / _EDGE_PIECE_M)
        sin_theta = math.sin(theta)
        for j in range(1, pieces):
            t = j / pieces
            fa, fb = math.sin((1.0 - t) * theta) / sin_theta, math.sin(t * theta) / sin_theta
            x, y, z = (fa * a[k] + fb * b[k] for k in range(3))
            ring.append(
                (math.degrees(math.atan2(y, x)), math.degrees(math.atan2(z, math.hypot(x, y))))
            )
    return ring


# -- parsing ---------------------------------------------------------------------------


def parse_volume(f: Fields) -> Volume4D:
    """Read one Volume4D, enforcing F3548's rules; errors name the field."""
    f.only("volume", "time_start", "time_end")
    v = f.obj("volume")
    v.only("outline_circle", "outline_polygon", "altitude_lower", "altitude_upper")
    outline = _parse_outline(v)
    lower = _altitude(v, "altitude_lower")
    upper = _altitude(v, "altitude_upper")
    if lower > upper:
        raise v.fail(f"must not be above altitude_upper ({lower} > {upper} m)", "altitude_lower")
    start = _time(f, "time_start")
    end = _time(f, "time_end")
    if end <= start:
        raise f.fail(f"must be after time_start ({instant(start)})", "time_end")
    return Volume4D(outline, lower, upper, start, end)


def _parse_outline(v: Fields) -> Outline:
    has_circle, has_polygon = v.has("outline_circle"), v.has("outline_polygon")
    if has_circle == has_polygon:
        raise v.fail("must have exactly one of outline_circle and outline_polygon")
    if has_circle:
        c = v.obj("outline_circle")
        c.only("center", "radius")
        radius = c.obj("radius")
        radius.only("value", "units")
        _unit(radius, "units", "M")
        value = radius.number("value")
        if value <= 0:
            raise radius.fail(f"must be greater than 0; got {value}", "value")
        if value > MAX_RADIUS_M:  # covers a pole: refused before any arithmetic
            raise _wrapping(c)
        circle = Circle(_point(c.obj("center")), value)
        _supported(outline_polygon(circle), c)
        return circle
    p = v.obj("outline_polygon")
    p.only("vertices")
    vertices = tuple(_point(x) for x in p.objects("vertices"))
    if len(vertices) < 3:
        raise p.fail(f"a polygon needs at least 3 vertices; got {len(vertices)}", "vertices")
    if vertices[0] == vertices[-1]:
        raise p.fail(
            "must not repeat the first vertex at the end (F3548 polygons are open)", "vertices"
        )
    if len(set(vertices)) != len(vertices):
        raise p.fail("must not contain the same vertex twice", "vertices")
    polygon = outline_polygon(Polygon(vertices))
    lngs = np.asarray(polygon.exterior.coords)[:, 0]
    if np.any(np.abs(np.diff(lngs)) > 180.0):  # an edge's great circle crosses 180
        raise _wrapping(p)
    if not polygon.is_valid:
        reason = shapely.is_valid_reason(polygon)
        raise p.fail(f"edges must not cross ({reason})", "vertices")
    _supported(polygon, p)
    return Polygon(vertices)


def _supported(footprint: shapely.Polygon, f: Fields) -> None:
    """Outlines are drawn in plain (lng, lat): one that crosses the 180th meridian or
    covers a pole would come out inside-out, so it is refused rather than misrouted."""
    west, _, east, _ = footprint.bounds
    if not footprint.is_valid or east - west > 180.0:
        raise _wrapping(f)


def _wrapping(f: Fields) -> InputError:
    return f.fail(
        "outlines that cross the 180th meridian or cover a pole are not supported; split the volume"
    )


def _point(f: Fields) -> LatLng:
    f.only("lat", "lng")
    lat, lng = f.number("lat"), f.number("lng")
    if not -90.0 <= lat <= 90.0:
        raise f.fail(f"latitude must be within -90..90; got {lat}", "lat")
    if not -180.0 <= lng <= 180.0:
        raise f.fail(f"longitude must be within -180..180; got {lng}", "lng")
    return LatLng(lat, lng)


def _altitude(v: Fields, key: str) -> float:
    a = v.obj(key)
    a.only("value", "reference", "units")
    _unit(a, "reference", "W84")
    _unit(a, "units", "M")
    return a.number("value")


def _time(f: Fields, key: str) -> datetime:
    t = f.obj(key)
    t.only("value", "format")
    _unit(t, "format", "RFC3339")
    return t.instant("value")


def _unit(f: Fields, key: str, only: str) -> None:
    """F3548 fixes these fields to one value; absent means that value."""
    if key not in f.data:
        return
    value = f.data[key]
    if value != only:
        raise f.fail(f"only {only!r} is supported; got {value!r}", key)
