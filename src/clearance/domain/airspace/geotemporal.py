"""Do two F3548 volumes conflict? Time first, then altitude, then geometry.

``volumes_conflict(a, b)`` is true when all three overlap:

- **time**: ``a.time_start < b.time_end and b.time_start < a.time_end``. A window that
  ends exactly when another starts does not overlap it: that is a hand-over, the normal
  way an operation chains its volumes.
- **altitude**: the bands share some height, ``max(lowers) < min(uppers)``. Bands that
  only touch (one's upper equals the other's lower) do not overlap: stacking is how
  airspace is layered, and both numbers are exact values the operators chose. A band of
  no height (``lower == upper``, which F3548 allows) still occupies its altitude: it
  overlaps any band that contains that altitude, boundary included, so a flat volume can
  never slip past deconfliction (and it conflicts with itself).
- **outline**: the outlines overlap or come within ``TOLERANCE_M`` (1 cm) of each other.
  Horizontally, touching counts as conflicting: two squares that share an edge conflict.
  Unlike times and altitudes, horizontal positions pass through a projection and float
  arithmetic, so a shared edge may come out as a nanometre gap or a nanometre overlap;
  the tolerance makes the answer to "do they touch?" deterministic, and on the safe side.

How outlines are compared (after two cheap rejections on time and altitude, and a third
on padded (lng, lat) bounding boxes):

- A circle is a true geodesic circle: every point within ``radius`` metres of its centre
  on the WGS84 ellipsoid.
- A polygon's edges are great circles through its vertices, taking geodetic (lat, lng)
  as coordinates on a sphere: the edges of S2, which the InterUSS DSS uses. They lie
  within 3 cm of the ellipsoid's geodesics for 20 km edges (0.7 m for 100 km). The
  ``footprint`` of ``volumes`` (routing, feasibility, grant areas) follows the same
  great circles, through points at most 10 km apart.
- Circle against circle: the geodesic distance between the centres is at most the sum
  of the radii plus 1 cm. Exact, by the triangle inequality.
- Circle against polygon: the polygon goes into the azimuthal equidistant plane centred
  on the circle's centre, computed directly from geodesic azimuth and distance (pyproj
  ``Geod.inv``: x = d sin az, y = d cos az), where every distance from the centre is
  exact. Its edges are split along their great circles until no chord strays more than
  ``_CHORD_ERROR_M`` (3 mm) from the curve it stands for, then the test is
  ``distance(centre, polygon) <= radius + 1 cm``: exact to those 3 mm.
- Polygon against polygon: both go into the gnomonic plane centred between them, where
  great circles are straight lines, so whether they overlap or touch is exact. The plane
  only stretches distances (by 1 / cos(c)**2 at angle c from its centre), so a gap is
  compared with ``1 cm / cos(c)**2`` (c: the widest vertex's angle from the centre):
  outlines within 1 cm always conflict, and outlines up to 1.1 cm apart may when they
  reach 2,000 km from the plane's centre (1.0003 cm at 100 km). Distances are on the
  sphere, within 0.5 % of the ellipsoid's: 0.05 mm of the tolerance. Outlines more than
  60 degrees from the plane's centre (continental) are compared as plain (lng, lat)
  footprints instead, without a precision promise.

Outlines that cross the 180th meridian or cover a pole are refused by the parser
(``volumes.parse_volume``), so (lng, lat) boxes never wrap.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt
import shapely

from clearance.domain.airspace.volumes import WGS84, Circle, Volume4D

TOLERANCE_M = 0.01
"""Outlines closer than this (metres) touch, and so conflict."""

_CHORD_ERROR_M = 0.003
_EARTH_RADIUS_M = 6_371_008.8  # the sphere on which polygon edges are great circles
_FLATTENING = 1.0 / 298.257223563
# The smallest radius of curvature of the WGS84 ellipsoid (meridional, at the equator):
# dividing by it overestimates any angle a geodesic distance spans, which keeps the
# bounding boxes below conservative.
_MIN_RADIUS_M = 6_335_439.0
_MAX_POINTS_PER_EDGE = 512
_BOX_PAD_M = 0.05  # five times the tolerance: boxes of outlines 1 cm apart always meet
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
_ORIGIN = shapely.Point(0.0, 0.0)
_NORTH_POLE = np.array([0.0, 0.0, 1.0])
_EMPTY = np.empty(0)

Floats = npt.NDArray[np.float64]


def micros(t: datetime) -> int:
    """Microseconds since the Unix epoch, exactly (for numpy time filters)."""
    return (t - _EPOCH) // _US


def altitudes_overlap(lower_a: float, upper_a: float, lower_b: float, upper_b: float) -> bool:
    """The altitude rule of ``volumes_conflict`` (see the module docstring)."""
    if max(lower_a, lower_b) < min(upper_a, upper_b):
        return True
    if lower_a == upper_a and lower_b <= lower_a <= upper_b:
        return True
    return lower_b == upper_b and lower_a <= lower_b <= upper_a


def volumes_conflict(a: Volume4D, b: Volume4D) -> bool:
    """True when ``a`` and ``b`` overlap in time, altitude and outline (module docstring)."""
    if not (a.time_start < b.time_end and b.time_start < a.time_end):
        return False
    if not altitudes_overlap(
        a.altitude_lower_m, a.altitude_upper_m, b.altitude_lower_m, b.altitude_upper_m
    ):
        return False
    sa, sb = shape_of(a), shape_of(b)
    if not boxes_meet(sa.box, sb.box):
        return False
    return outlines_meet(sa, sb)


# -- per-volume facts ---------------------------------------------------------------------


class Shape:
    """What the geometry tests need of one outline, computed once per volume.

    ``box`` is (west, south, east, north) in degrees and contains the whole outline
    (great-circle edges bulge poleward of their vertices) plus a margin of five times the
    tolerance. ``circle`` is (centre lng, centre lat, radius in metres) for a circle;
    a polygon has its vertices, and, computed when first needed, the vertices as unit
    vectors (``xyz``) and the angle each edge spans (``edge_rad``, from vertex i to i + 1).
    """

    __slots__ = ("_edge_rad", "_xyz", "box", "circle", "lats", "lngs")

    def __init__(
        self,
        box: tuple[float, float, float, float],
        circle: tuple[float, float, float] | None,
        lngs: Floats,
        lats: Floats,
    ) -> None:
        self.box = box
        self.circle = circle
        self.lngs = lngs
        self.lats = lats
        self._xyz: Floats | None = None
        self._edge_rad: Floats | None = None

    @property
    def xyz(self) -> Floats:
        if self._xyz is None:
            self._xyz = unit_vectors(self.lngs, self.lats)
        return self._xyz

    @property
    def edge_rad(self) -> Floats:
        if self._edge_rad is None:
            a = self.xyz
            b = np.roll(a, -1, axis=0)
            size = np.linalg.norm(_cross(a, b), axis=1)
            self._edge_rad = np.arctan2(size, np.einsum("ij,ij->i", a, b))
        return self._edge_rad


_CACHE: OrderedDict[int, tuple[Volume4D, Shape]] = OrderedDict()
_CACHE_SIZE = 8192


def shape_of(volume: Volume4D) -> Shape:
    """The volume's ``Shape``, cached by identity (first in, first out: holding a volume
    keeps its id from being reused while it is cached)."""
    hit = _CACHE.get(id(volume))
    if hit is not None and hit[0] is volume:
        return hit[1]
    shape = _make_shape(volume)
    if len(_CACHE) >= _CACHE_SIZE:
        _CACHE.popitem(last=False)
    _CACHE[id(volume)] = (volume, shape)
    return shape


def _make_shape(volume: Volume4D) -> Shape:
    outline = volume.outline
    if isinstance(outline, Circle):
        c = outline.center
        box = circle_box(c.lng, c.lat, outline.radius_m)
        return Shape(box, (c.lng, c.lat, outline.radius_m), _EMPTY, _EMPTY)
    lngs = [v.lng for v in outline.vertices]
    lats = [v.lat for v in outline.vertices]
    return Shape(polygon_box(lngs, lats), None, np.array(lngs), np.array(lats))


def unit_vectors(lngs: Floats, lats: Floats) -> Floats:
    """(lng, lat) degrees as points on the unit sphere, (n, 3)."""
    lo, la = np.radians(lngs), np.radians(lats)
    c = np.cos(la)
    return np.column_stack([c * np.cos(lo), c * np.sin(lo), np.sin(la)])


def circle_box(lng: float, lat: float, radius_m: float) -> tuple[float, float, float, float]:
    """``circle_boxes`` for one circle, in plain floats (no numpy call overhead)."""
    rho = radius_m / _MIN_RADIUS_M * 1.001 + _BOX_PAD_M / _MIN_RADIUS_M
    dlat = math.degrees(rho)
    south, north = lat - dlat, lat + dlat
    ratio = math.sin(rho) / max(math.cos(math.radians(abs(lat))), 1e-12)
    if north >= 90.0 or south <= -90.0 or ratio >= 1.0:
        return (-180.0, max(south, -90.0), 180.0, min(north, 90.0))
    dlng = math.degrees(math.asin(ratio))
    return (lng - dlng, south, lng + dlng, north)


def circle_boxes(lng: Floats, lat: Floats, radius_m: Floats) -> Floats:
    """Conservative (west, south, east, north) boxes of geodesic circles, vectorised.

    On a sphere of radius R a circle of angular radius p centred at latitude f spans
    +-p in latitude and +-asin(sin p / cos f) in longitude. Using the ellipsoid's smallest
    radius of curvature for R, and 0.1 % more, makes both an overestimate."""
    rho = radius_m / _MIN_RADIUS_M * 1.001 + _BOX_PAD_M / _MIN_RADIUS_M
    dlat = np.degrees(rho)
    south, north = lat - dlat, lat + dlat
    ratio = np.sin(rho) / np.maximum(np.cos(np.radians(np.abs(lat))), 1e-12)
    polar = (north >= 90.0) | (south <= -90.0) | (ratio >= 1.0)
    dlng = np.degrees(np.arcsin(np.minimum(ratio, 1.0)))
    west = np.where(polar, -180.0, lng - dlng)
    east = np.where(polar, 180.0, lng + dlng)
    return np.column_stack([west, np.maximum(south, -90.0), east, np.minimum(north, 90.0)])


_PAD_DEG = math.degrees((_BOX_PAD_M + _CHORD_ERROR_M) / _MIN_RADIUS_M)


def polygon_box(lngs: list[float], lats: list[float]) -> tuple[float, float, float, float]:
    """A conservative box of a polygon with great-circle edges.

    Along a great-circle arc (shorter than 180 degrees) longitude is monotonic, so only
    latitude passes the vertices': an arc between two points at latitude f at most, d
    degrees of longitude apart, peaks at ``atan(tan(f) / cos(d / 2))``, reached by the
    arc between two points at f itself. The box uses the polygon's highest vertex and
    its whole longitude span for f and d, then pads by 5 cm."""
    west, east = min(lngs), max(lngs)
    south, north = min(lats), max(lats)
    half = math.radians(east - west) / 2.0
    if half >= math.pi / 2.0 - 1e-9:
        return (-180.0, -90.0, 180.0, 90.0)
    spread = 1.0 / math.cos(half)
    north = max(north, math.degrees(math.atan(math.tan(math.radians(north)) * spread)))
    south = min(south, math.degrees(math.atan(math.tan(math.radians(south)) * spread)))
    south, north = max(south - _PAD_DEG, -90.0), min(north + _PAD_DEG, 90.0)
    widest = min(max(abs(south), abs(north)), 89.9)
    pad_lng = _PAD_DEG / math.cos(math.radians(widest))
    return (west - pad_lng, south, east + pad_lng, north)


def polygon_boxes(lngs: Floats, lats: Floats, starts: npt.NDArray[np.intp]) -> Floats:
    """``polygon_box`` for many polygons stored one after another (``starts``: where
    each begins), vectorised."""
    west = np.minimum.reduceat(lngs, starts)
    east = np.maximum.reduceat(lngs, starts)
    south = np.minimum.reduceat(lats, starts)
    north = np.maximum.reduceat(lats, starts)
    half = np.radians(east - west) / 2.0
    whole = half >= math.pi / 2.0 - 1e-9
    spread = 1.0 / np.cos(np.where(whole, 0.0, half))
    north = np.maximum(north, np.degrees(np.arctan(np.tan(np.radians(north)) * spread)))
    south = np.minimum(south, np.degrees(np.arctan(np.tan(np.radians(south)) * spread)))
    south, north = np.maximum(south - _PAD_DEG, -90.0), np.minimum(north + _PAD_DEG, 90.0)
    widest = np.minimum(np.maximum(np.abs(south), np.abs(north)), 89.9)
    pad_lng = _PAD_DEG / np.cos(np.radians(widest))
    box = np.column_stack([west - pad_lng, south, east + pad_lng, north])
    box[whole] = (-180.0, -90.0, 180.0, 90.0)
    return box


def boxes_meet(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    """Closed (lng, lat) boxes intersect (touching counts)."""
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


# -- exact outline tests ------------------------------------------------------------------


def outlines_meet(a: Shape, b: Shape) -> bool:
    """The outlines overlap or lie within ``TOLERANCE_M`` of each other (no box filter)."""
    if a.circle is not None and b.circle is not None:
        _, _, d = WGS84.inv(a.circle[0], a.circle[1], b.circle[0], b.circle[1])
        return bool(d <= a.circle[2] + b.circle[2] + TOLERANCE_M)
    if a.circle is not None:
        return _circle_meets_polygon(a.circle, b)
    if b.circle is not None:
        return _circle_meets_polygon(b.circle, a)
    return _polygons_meet(a, b)


def _circle_meets_polygon(circle: tuple[float, float, float], polygon: Shape) -> bool:
    """Exact distance from the centre to the polygon, in the plane centred on it.

    First with the vertices alone: each true edge lies within ``stray`` of its chord, so
    the chord polygon settles every case but those within ``stray`` of the radius; only
    those are redone with edges split until the chords stray by ``_CHORD_ERROR_M``."""
    lng0, lat0, radius = circle
    limit = radius + TOLERANCE_M
    ring = _aeqd(lng0, lat0, polygon.lngs, polygon.lats)
    gap = float(shapely.distance(shapely.Polygon(ring), _ORIGIN))
    # Chords are at most ~2 % longer than their edges out to 2,000 km; 5 % to be safe.
    longest = float(np.max(np.hypot(*(np.roll(ring, -1, axis=0) - ring).T))) * 1.05
    reach = float(np.max(np.hypot(ring[:, 0], ring[:, 1]))) + longest
    # Measured: a chord of length L at distance D from the centre strays about
    # L**2 (D / (12 R**2) + f / (8 R)) from its curve; 8 and 6 leave a margin.
    per_m2 = reach / (8.0 * _EARTH_RADIUS_M**2) + _FLATTENING / (6.0 * _EARTH_RADIUS_M)
    stray = longest**2 * per_m2
    if gap > limit + stray:
        return False
    if gap + stray <= limit:
        return True
    limit_rad = math.sqrt(_CHORD_ERROR_M / per_m2) / _EARTH_RADIUS_M
    lngs, lats = lng_lat(_densified(polygon, limit_rad))
    ring = _aeqd(lng0, lat0, lngs, lats)
    return bool(shapely.distance(shapely.Polygon(ring), _ORIGIN) <= limit)


def _aeqd(lng0: float, lat0: float, lngs: Floats, lats: Floats) -> Floats:
    """Points in the azimuthal equidistant plane centred at (lng0, lat0), metres, exactly:
    x = d sin(az), y = d cos(az) from the geodesic azimuth and distance."""
    az, _, d = WGS84.inv(np.full_like(lngs, lng0), np.full_like(lats, lat0), lngs, lats)
    a = np.radians(np.asarray(az))
    return np.column_stack([d * np.sin(a), d * np.cos(a)])


def _polygons_meet(a: Shape, b: Shape) -> bool:
    mid = a.xyz.sum(axis=0) + b.xyz.sum(axis=0)
    centre = mid / np.linalg.norm(mid)
    east = _cross(_NORTH_POLE, centre)
    if np.linalg.norm(east) < 1e-9:
        east = np.array([0.0, 1.0, 0.0])
    east /= np.linalg.norm(east)
    north = _cross(centre, east)
    wa, wb = a.xyz @ centre, b.xyz @ centre
    nearest = min(float(np.min(wa)), float(np.min(wb)))  # cos of the widest angle
    if nearest < 0.5:  # beyond 60 degrees: the gnomonic plane is no longer sensible
        return bool(shapely.distance(_footprint(a), _footprint(b)) == 0.0)
    pa = np.column_stack([a.xyz @ east / wa, a.xyz @ north / wa]) * _EARTH_RADIUS_M
    pb = np.column_stack([b.xyz @ east / wb, b.xyz @ north / wb]) * _EARTH_RADIUS_M
    gap = shapely.distance(shapely.Polygon(pa), shapely.Polygon(pb))
    return bool(gap <= TOLERANCE_M / nearest**2)


def _footprint(p: Shape) -> shapely.Polygon:
    return shapely.Polygon(np.column_stack([p.lngs, p.lats]))


def _densified(p: Shape, limit_rad: float) -> Floats:
    """The ring's unit vectors with points inserted along each great-circle edge so that
    no piece spans more than ``limit_rad`` (at most ``_MAX_POINTS_PER_EDGE`` pieces)."""
    pieces = np.ceil(p.edge_rad / limit_rad)
    pieces = np.clip(pieces, 1, _MAX_POINTS_PER_EDGE).astype(np.intp)
    if np.all(pieces == 1):
        return p.xyz
    extra = pieces - 1
    edge = np.repeat(np.arange(len(pieces)), extra)
    first = np.cumsum(extra) - extra  # where each edge's inserted points begin
    t = (np.arange(len(edge)) - np.repeat(first, extra) + 1) / pieces[edge]
    theta = p.edge_rad[edge]
    nxt = (edge + 1) % len(pieces)
    sin = np.sin(theta)
    inserted = (
        np.sin((1.0 - t) * theta)[:, None] * p.xyz[edge] + np.sin(t * theta)[:, None] * p.xyz[nxt]
    ) / sin[:, None]
    total = int(np.sum(pieces))
    vertex_at = np.cumsum(pieces) - pieces
    is_vertex = np.zeros(total, dtype=bool)
    is_vertex[vertex_at] = True
    ring = np.empty((total, 3))
    ring[vertex_at] = p.xyz
    ring[~is_vertex] = inserted
    return ring


def _cross(a: Floats, b: Floats) -> Floats:
    """Row-wise cross product (numpy's ``cross`` costs ~50 us per call on small arrays)."""
    if a.ndim == 1 and b.ndim == 1:
        return np.array(
            [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
        )
    a, b = np.broadcast_arrays(a, b)
    out = np.empty(a.shape)
    out[:, 0] = a[:, 1] * b[:, 2] - a[:, 2] * b[:, 1]
    out[:, 1] = a[:, 2] * b[:, 0] - a[:, 0] * b[:, 2]
    out[:, 2] = a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]
    return out


def lng_lat(xyz: Floats) -> tuple[Floats, Floats]:
    """Unit vectors back to (lng, lat) degrees."""
    lng = np.degrees(np.arctan2(xyz[:, 1], xyz[:, 0]))
    lat = np.degrees(np.arcsin(np.clip(xyz[:, 2], -1.0, 1.0)))
    return lng, lat


def outline_ring(volume: Volume4D, max_piece_m: float) -> Floats:
    """The outline as (lng, lat) ring coordinates: polygon edges split along their great
    circles into pieces of ``max_piece_m`` at most (each within ``max_piece_m**2 / 8 R``
    of its arc); circles drawn through geodesic points at most ``max_piece_m`` apart, and
    close enough that the inscribed ring falls at most 1 cm inside the circle (at most
    65,536 points: 2,600 km radius)."""
    shape = shape_of(volume)
    if shape.circle is not None:
        lng0, lat0, radius = shape.circle
        # A ring of n points falls r (1 - cos(pi / n)) ~ r pi**2 / (2 n**2) inside.
        within_1_cm = math.ceil(math.pi * math.sqrt(radius / (2.0 * 0.01)))
        n = min(max(64, math.ceil(2.0 * math.pi * radius / max_piece_m), within_1_cm), 65_536)
        az = np.linspace(0.0, 360.0, n, endpoint=False)
        lngs, lats, _ = WGS84.fwd(np.full(n, lng0), np.full(n, lat0), az, np.full(n, radius))
        return np.column_stack([lngs, lats])
    lngs, lats = lng_lat(_densified(shape, max_piece_m / _EARTH_RADIUS_M))
    return np.column_stack([lngs, lats])
