"""Volume4D conflicts: time, then altitude, then outline (see geotemporal's docstring).

Positions at a known distance are placed with pyproj's geodesic ``fwd`` (circles are
geodesic on the ellipsoid) or, for polygons, on the sphere whose great circles are the
polygon edges, so each expected answer is computed independently of the code under test.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from clearance.domain.airspace.geotemporal import (
    TOLERANCE_M,
    altitudes_overlap,
    boxes_meet,
    outlines_meet,
    shape_of,
    volumes_conflict,
)
from clearance.domain.airspace.volumes import WGS84, Circle, LatLng, Polygon, Volume4D

T0 = datetime(2024, 3, 1, 6, tzinfo=UTC)
HOUR = timedelta(hours=1)
SPHERE_M = 6_371_008.8  # the sphere on which polygon edges are great circles

PROPERTY = settings(max_examples=120, deadline=None)


def volume(
    outline: Circle | Polygon,
    lower: float = 0.0,
    upper: float = 1_000.0,
    start: datetime = T0,
    end: datetime = T0 + HOUR,
) -> Volume4D:
    return Volume4D(outline, lower, upper, start, end)


def square(west: float, south: float, size: float) -> Polygon:
    return Polygon(
        (
            LatLng(south, west),
            LatLng(south, west + size),
            LatLng(south + size, west + size),
            LatLng(south + size, west),
        )
    )


def circle_at(lat: float, lng: float, radius: float) -> Circle:
    return Circle(LatLng(lat, lng), radius)


def geodesic_point(lat: float, lng: float, azimuth: float, metres: float) -> LatLng:
    x, y, _ = WGS84.fwd(lng, lat, azimuth, metres)
    return LatLng(float(y), float(x))


# -- the rules at their boundaries ---------------------------------------------------------


def test_two_squares_sharing_an_edge_conflict() -> None:
    assert volumes_conflict(volume(square(2.0, 13.0, 0.1)), volume(square(2.1, 13.0, 0.1)))


def metres_of_longitude(metres: float, lat: float) -> float:
    return math.degrees(metres / (SPHERE_M * math.cos(math.radians(lat))))


def test_squares_5_mm_apart_conflict_within_the_1_cm_tolerance() -> None:
    # The gap is widest at the squares' southern corners (lat 13.0): at most 5 mm.
    gap = metres_of_longitude(0.005, 13.0)
    assert volumes_conflict(volume(square(2.0, 13.0, 0.1)), volume(square(2.1 + gap, 13.0, 0.1)))


def test_squares_2_cm_apart_do_not_conflict() -> None:
    # The gap is narrowest at the northern corners (lat 13.1): at least 2 cm.
    gap = metres_of_longitude(0.02, 13.1)
    a, b = volume(square(2.0, 13.0, 0.1)), volume(square(2.1 + gap, 13.0, 0.1))
    assert not volumes_conflict(a, b)
    assert TOLERANCE_M == 0.01


def test_squares_that_overlap_conflict_and_squares_far_apart_do_not() -> None:
    a = volume(square(2.0, 13.0, 0.1))
    assert volumes_conflict(a, volume(square(2.05, 13.05, 0.1)))
    assert not volumes_conflict(a, volume(square(2.3, 13.0, 0.1)))


def test_bands_that_only_touch_do_not_conflict() -> None:
    outline = square(2.0, 13.0, 0.1)
    assert not volumes_conflict(volume(outline, 0, 500), volume(outline, 500, 900))
    assert volumes_conflict(volume(outline, 0, 500.001), volume(outline, 500, 900))


def test_altitude_separated_volumes_do_not_conflict() -> None:
    outline = circle_at(13.5, 2.1, 10_000)
    assert not volumes_conflict(volume(outline, 0, 300), volume(outline, 1_000, 3_000))


def test_a_flat_band_conflicts_with_bands_that_hold_its_altitude_boundary_included() -> None:
    assert altitudes_overlap(500, 500, 0, 500)
    assert altitudes_overlap(500, 500, 500, 500)
    assert not altitudes_overlap(500, 500, 501, 900)
    outline = square(2.0, 13.0, 0.1)
    assert volumes_conflict(volume(outline, 500, 500), volume(outline, 500, 500))


def test_windows_that_end_when_the_other_starts_do_not_conflict() -> None:
    outline = circle_at(13.5, 2.1, 10_000)
    first = volume(outline, start=T0, end=T0 + HOUR)
    second = volume(outline, start=T0 + HOUR, end=T0 + 2 * HOUR)
    assert not volumes_conflict(first, second)
    assert not volumes_conflict(second, first)
    overlapping = volume(outline, start=T0 + HOUR - timedelta(microseconds=1), end=T0 + 2 * HOUR)
    assert volumes_conflict(first, overlapping)
    assert volumes_conflict(overlapping, first)


@pytest.mark.parametrize("lat", [0.0, 13.5, 45.0, 65.0])
@pytest.mark.parametrize("azimuth", [0.0, 37.0, 90.0, 200.0])
def test_circles_conflict_up_to_the_sum_of_their_radii(lat: float, azimuth: float) -> None:
    a = volume(circle_at(lat, 2.0, 5_000))

    def other_at(metres: float) -> Volume4D:
        c = geodesic_point(lat, 2.0, azimuth, metres)
        return volume(Circle(c, 7_000))

    assert volumes_conflict(a, other_at(12_000 - 3.0))
    assert volumes_conflict(a, other_at(12_000 + 0.005))
    assert not volumes_conflict(a, other_at(12_000 + 0.02))
    assert not volumes_conflict(a, other_at(12_000 + 3.0))


@pytest.mark.parametrize("azimuth", [10.0, 135.0, 290.0])
def test_a_circle_conflicts_with_a_polygon_whose_vertex_is_within_its_radius(
    azimuth: float,
) -> None:
    """A kite pointing at the circle: its nearest point is its tip, 3 m inside or
    outside the radius; the rest of the kite lies farther away."""

    def kite(tip_m: float) -> Volume4D:
        tip = geodesic_point(13.5, 2.1, azimuth, tip_m)
        back = [geodesic_point(13.5, 2.1, azimuth + da, tip_m + 6_000) for da in (-8, 0, 8)]
        return volume(Polygon((tip, back[0], back[1], back[2])))

    circle = volume(circle_at(13.5, 2.1, 10_000))
    assert volumes_conflict(circle, kite(10_000 - 3.0))
    assert volumes_conflict(kite(10_000 - 3.0), circle)
    assert not volumes_conflict(circle, kite(10_000 + 3.0))


def test_a_circle_conflicts_with_a_long_edge_passing_within_its_radius() -> None:
    """A 60 km edge passing 26.8 km from the centre, oblique to it, where the straight
    chord between its ends strays 13 cm from the great circle. Its nearest point is found
    here by brute force (40,001 points along the great circle, each measured with
    ``Geod.inv``), and the radius set 5 cm either side of it."""
    centre = LatLng(13.5, 2.1)
    a = geodesic_point(centre.lat, centre.lng, 45.0, 30_000.0)
    b = geodesic_point(centre.lat, centre.lng, 135.0, 60_000.0)
    apex = geodesic_point(centre.lat, centre.lng, 90.0, 120_000.0)
    ua, ub = unit(a.lat, a.lng), unit(b.lat, b.lng)
    t = np.linspace(0.0, 1.0, 40_001)[:, None]
    along = ua + t * (ub - ua)
    along /= np.linalg.norm(along, axis=1)[:, None]
    lat, lng = np.degrees(np.arcsin(along[:, 2])), np.degrees(np.arctan2(along[:, 1], along[:, 0]))
    _, _, d = WGS84.inv(np.full(len(lng), centre.lng), np.full(len(lat), centre.lat), lng, lat)
    nearest = float(np.min(d))
    triangle = volume(Polygon((a, apex, b)))
    assert volumes_conflict(volume(Circle(centre, nearest + 0.05)), triangle)
    assert not volumes_conflict(volume(Circle(centre, nearest - 0.05)), triangle)


def test_a_circle_inside_a_polygon_and_a_polygon_inside_a_circle_conflict() -> None:
    big_square = volume(square(1.0, 13.0, 2.0))
    assert volumes_conflict(big_square, volume(circle_at(14.0, 2.0, 1_000)))
    small_square = volume(square(2.0, 13.5, 0.01))
    assert volumes_conflict(volume(circle_at(13.505, 2.005, 50_000)), small_square)


# -- properties ------------------------------------------------------------------------------

lats = st.floats(-60.0, 60.0, allow_nan=False)
lngs = st.floats(-170.0, 170.0, allow_nan=False)
radii = st.floats(50.0, 40_000.0, allow_nan=False)


def unit(lat: float, lng: float) -> np.ndarray:
    la, lo = math.radians(lat), math.radians(lng)
    return np.array([math.cos(la) * math.cos(lo), math.cos(la) * math.sin(lo), math.sin(la)])


def latlng(v: np.ndarray) -> LatLng:
    v = v / np.linalg.norm(v)
    return LatLng(math.degrees(math.asin(v[2])), math.degrees(math.atan2(v[1], v[0])))


def star(centre: LatLng, azimuths: list[float], reaches: list[float], scale: float) -> Polygon:
    """A polygon star-shaped about ``centre``: vertex i at ``scale * reaches[i]`` metres
    along the great circle leaving the centre at ``azimuths[i]`` (on the sphere)."""
    c = unit(centre.lat, centre.lng)
    east = np.cross([0.0, 0.0, 1.0], c)
    east /= np.linalg.norm(east)
    north = np.cross(c, east)
    out = []
    for az, reach in zip(azimuths, reaches, strict=True):
        a = math.radians(az)
        direction = math.sin(a) * east + math.cos(a) * north
        angle = scale * reach / SPHERE_M
        out.append(latlng(math.cos(angle) * c + math.sin(angle) * direction))
    return Polygon(tuple(out))


@st.composite
def stars(draw: st.DrawFn) -> tuple[LatLng, list[float], list[float]]:
    centre = LatLng(draw(lats), draw(lngs))
    k = draw(st.integers(3, 7))
    gaps = draw(st.lists(st.floats(0.2, 1.0), min_size=k, max_size=k))
    total = sum(gaps)
    azimuths = list(np.cumsum([g / total * 360.0 for g in gaps]) + draw(st.floats(0, 360)))
    assume(max(g / total * 360.0 for g in gaps) < 170.0)  # star-shaped about the centre
    reaches = draw(st.lists(st.floats(100.0, 40_000.0), min_size=k, max_size=k))
    return centre, azimuths, reaches


@st.composite
def outlines(draw: st.DrawFn, near: LatLng | None = None) -> Circle | Polygon:
    centre = (
        LatLng(draw(lats), draw(lngs))
        if near is None
        else geodesic_point(near.lat, near.lng, draw(st.floats(0, 360)), draw(st.floats(0, 60_000)))
    )
    if draw(st.booleans()):
        return Circle(centre, draw(radii))
    _, azimuths, reaches = draw(stars())
    return star(centre, azimuths, reaches, 1.0)


@st.composite
def windows_and_bands(draw: st.DrawFn) -> tuple[float, float, datetime, datetime]:
    lower = draw(st.floats(0.0, 3_000.0))
    upper = lower + draw(st.floats(0.0, 3_000.0))
    start = T0 + timedelta(minutes=draw(st.integers(0, 180)))
    return lower, upper, start, start + timedelta(minutes=draw(st.integers(1, 180)))


@st.composite
def pairs(draw: st.DrawFn) -> tuple[Volume4D, Volume4D]:
    a = draw(outlines())
    centre = a.center if isinstance(a, Circle) else a.vertices[0]
    b = draw(outlines(near=centre))
    return Volume4D(a, *draw(windows_and_bands())), Volume4D(b, *draw(windows_and_bands()))


@PROPERTY
@given(pairs())
def test_conflict_is_symmetric(pair: tuple[Volume4D, Volume4D]) -> None:
    a, b = pair
    assert volumes_conflict(a, b) == volumes_conflict(b, a)


@PROPERTY
@given(outlines(), windows_and_bands())
def test_a_volume_always_conflicts_with_itself(
    outline: Circle | Polygon, rest: tuple[float, float, datetime, datetime]
) -> None:
    v = Volume4D(outline, *rest)
    assert volumes_conflict(v, v)


@PROPERTY
@given(pairs())
def test_the_bounding_box_filter_never_changes_the_answer(
    pair: tuple[Volume4D, Volume4D],
) -> None:
    a, b = pair
    sa, sb = shape_of(a), shape_of(b)
    if not boxes_meet(sa.box, sb.box):
        assert not outlines_meet(sa, sb)


@PROPERTY
@given(outlines())
def test_every_point_of_an_outline_lies_in_its_box(outline: Circle | Polygon) -> None:
    west, south, east, north = shape_of(volume(outline)).box
    if isinstance(outline, Circle):
        c = outline.center
        az = np.linspace(0, 360, 720, endpoint=False)
        x, y, _ = WGS84.fwd(
            np.full(720, c.lng), np.full(720, c.lat), az, np.full(720, outline.radius_m)
        )
        points = list(zip(y, x, strict=True))
    else:
        points = []
        vs = outline.vertices
        for p, q in zip(vs, vs[1:] + vs[:1], strict=True):
            a, b = unit(p.lat, p.lng), unit(q.lat, q.lng)
            points += [
                (pt.lat, pt.lng) for pt in (latlng(a + t * (b - a)) for t in np.linspace(0, 1, 50))
            ]
    for lat, lng in points:
        assert south <= lat <= north
        assert west <= lng <= east


@PROPERTY
@given(pairs(), st.floats(0.05, 1.0))
def test_a_smaller_radius_never_adds_a_conflict(
    pair: tuple[Volume4D, Volume4D], factor: float
) -> None:
    a, b = pair
    assume(isinstance(a.outline, Circle))
    assert isinstance(a.outline, Circle)
    smaller = Volume4D(
        Circle(a.outline.center, a.outline.radius_m * factor),
        a.altitude_lower_m,
        a.altitude_upper_m,
        a.time_start,
        a.time_end,
    )
    if not volumes_conflict(a, b):
        assert not volumes_conflict(smaller, b)


@PROPERTY
@given(stars(), st.floats(0.05, 1.0), outlines(), windows_and_bands())
def test_a_polygon_shrunk_towards_its_centre_never_adds_a_conflict(
    shape: tuple[LatLng, list[float], list[float]],
    factor: float,
    other: Circle | Polygon,
    rest: tuple[float, float, datetime, datetime],
) -> None:
    centre, azimuths, reaches = shape
    # Put the other outline near, so that some cases conflict and some do not.
    if isinstance(other, Circle):
        other = Circle(geodesic_point(centre.lat, centre.lng, 45.0, 30_000.0), other.radius_m)
    else:
        shift = geodesic_point(centre.lat, centre.lng, 45.0, 30_000.0)
        dlat, dlng = shift.lat - centre.lat, shift.lng - centre.lng
        other = Polygon(tuple(LatLng(v.lat + dlat, v.lng + dlng) for v in other.vertices))
    b = Volume4D(other, 0.0, 1_000.0, T0, T0 + HOUR)
    a = Volume4D(star(centre, azimuths, reaches, 1.0), *rest)
    shrunk = Volume4D(star(centre, azimuths, reaches, factor), *rest)
    if not volumes_conflict(a, b):
        assert not volumes_conflict(shrunk, b)


@PROPERTY
@given(pairs(), st.floats(0.0, 1.0), st.floats(0.0, 1.0))
def test_a_shorter_window_never_adds_a_conflict(
    pair: tuple[Volume4D, Volume4D], cut_start: float, cut_end: float
) -> None:
    a, b = pair
    length = a.time_end - a.time_start
    start = a.time_start + length * (cut_start / 2)
    end = a.time_end - length * (cut_end / 2)
    assume(end > start)
    shorter = Volume4D(a.outline, a.altitude_lower_m, a.altitude_upper_m, start, end)
    if not volumes_conflict(a, b):
        assert not volumes_conflict(shorter, b)
