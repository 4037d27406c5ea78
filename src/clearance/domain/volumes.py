"""ASTM F3548-21 ``Volume4D``: parsing, rules and geometry.

A volume is an outline (a polygon of ``{lat, lng}`` vertices with no closing vertex, or a
circle with a centre and a radius in metres), an altitude band (WGS84 metres) and a time
window. Any other unit, datum or time format is rejected explicitly rather than
converted, as the UTM world does.

Outlines become shapely polygons in (lng, lat) degrees. A circle is drawn with points
placed at its radius along geodesics from its centre (pyproj on the WGS84 ellipsoid), so
its footprint is right at any latitude; distances are geodesic too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

import numpy as np
import shapely
from pyproj import Geod

from clearance.domain.documents import Fields

WGS84 = Geod(ellps="WGS84")
CIRCLE_SEGMENTS = 72
_AZIMUTHS = np.linspace(0.0, 360.0, CIRCLE_SEGMENTS, endpoint=False)


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


def outline_polygon(outline: Outline) -> shapely.Polygon:
    if isinstance(outline, Circle):
        n = CIRCLE_SEGMENTS
        lngs, lats, _ = WGS84.fwd(
            np.full(n, outline.center.lng),
            np.full(n, outline.center.lat),
            _AZIMUTHS,
            np.full(n, outline.radius_m),
        )
        return shapely.Polygon(np.column_stack([lngs, lats]))
    return shapely.Polygon([(v.lng, v.lat) for v in outline.vertices])


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
        raise f.fail(f"must be after time_start ({start.isoformat()})", "time_end")
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
        raise f.fail(
            "outlines that cross the 180th meridian or cover a pole are not supported; "
            "split the volume"
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
