"""Spatial cells: two volumes whose outlines meet always share a cell, whatever their sizes
and wherever they touch (the promise deconfliction in the database stands on)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import h3.api.basic_int as h3
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from clearance.domain.airspace.cells import RESOLUTION, box_cells, volume_cells
from clearance.domain.airspace.geotemporal import TOLERANCE_M, volumes_conflict
from clearance.domain.airspace.volumes import WGS84, Circle, LatLng, Polygon, Volume4D

T0 = datetime(2030, 1, 1, tzinfo=UTC)
PROPERTY = settings(max_examples=300, deadline=None)

latitudes = st.floats(-60.0, 60.0)
longitudes = st.floats(-170.0, 170.0)
sizes = st.one_of(st.floats(1.0, 2_000.0), st.floats(2_000.0, 100_000.0))


def volume(outline: Circle | Polygon) -> Volume4D:
    return Volume4D(outline, 0.0, 100.0, T0, T0 + timedelta(hours=1))


@st.composite
def outlines(draw: st.DrawFn, lat: float, lng: float) -> Circle | Polygon:
    size = draw(sizes)
    if draw(st.booleans()):
        return Circle(LatLng(lat, lng), size)
    k = draw(st.integers(3, 6))
    azimuths = np.sort(np.array(draw(st.lists(st.floats(0, 359), min_size=k, max_size=k))))
    azimuths += np.arange(k) * 1e-3  # distinct
    reach = [size * draw(st.floats(0.3, 1.0)) for _ in range(k)]
    x, y, _ = WGS84.fwd(np.full(k, lng), np.full(k, lat), azimuths, reach)
    return Polygon(tuple(LatLng(float(b), float(a)) for a, b in zip(x, y, strict=True)))


@st.composite
def near_pairs(draw: st.DrawFn) -> tuple[Volume4D, Volume4D]:
    """Two outlines whose centres are as far apart as their sizes, give or take: many
    barely touch, barely miss or straddle a cell edge."""
    lat, lng = draw(latitudes), draw(longitudes)
    a = draw(outlines(lat, lng))
    reach_a = (
        a.radius_m if isinstance(a, Circle) else volume(a).farthest_distance_m(LatLng(lat, lng))
    )
    azimuth = draw(st.floats(0, 359.99))
    b_size = draw(sizes)
    distance = (reach_a + b_size) * draw(st.floats(0.2, 1.0))
    x, y, _ = WGS84.fwd(lng, lat, azimuth, distance)
    b = draw(outlines(float(y), float(x)))
    return volume(a), volume(b)


@PROPERTY
@given(near_pairs())
def test_volumes_that_meet_always_share_a_cell(pair: tuple[Volume4D, Volume4D]) -> None:
    a, b = pair
    if volumes_conflict(a, b):
        assert volume_cells(a) & volume_cells(b)


@PROPERTY
@given(latitudes, longitudes, sizes, st.floats(0, 359.99))
def test_circles_that_only_touch_share_a_cell(
    lat: float, lng: float, radius: float, azimuth: float
) -> None:
    """Two equal circles whose centres are two radii apart (plus half the tolerance)."""
    x, y, _ = WGS84.fwd(lng, lat, azimuth, 2 * radius + TOLERANCE_M / 2)
    a = volume(Circle(LatLng(lat, lng), radius))
    b = volume(Circle(LatLng(float(y), float(x)), radius))
    assert volumes_conflict(a, b)
    assert volume_cells(a) & volume_cells(b)


@PROPERTY
@given(latitudes, longitudes, st.floats(0.0001, 0.5), st.floats(0.0001, 0.5))
def test_squares_that_share_an_edge_share_a_cell(
    lat: float, lng: float, width: float, height: float
) -> None:
    def square(west: float) -> Volume4D:
        corners = [(lat, west), (lat, west + width), (lat + height, west + width)]
        corners.append((lat + height, west))
        return volume(Polygon(tuple(LatLng(la, lo) for la, lo in corners)))

    left, right = square(lng), square(lng + width)
    assert volumes_conflict(left, right)
    assert volume_cells(left) & volume_cells(right)


@PROPERTY
@given(latitudes, longitudes, st.floats(0.0, 1.0), st.floats(0.0, 1.0))
def test_every_point_of_a_box_is_in_one_of_its_cells(
    lat: float, lng: float, u: float, v: float
) -> None:
    west, south, east, north = lng, lat, lng + 0.3, lat + 0.2
    cells = box_cells(west, south, east, north)
    point = h3.latlng_to_cell(south + v * (north - south), west + u * (east - west), RESOLUTION)
    assert point in cells


def test_cells_are_signed_64_bit_integers() -> None:
    cells = volume_cells(volume(Circle(LatLng(14.6, 1.45), 90_000.0)))
    assert all(0 < c < 2**63 for c in cells)
    assert all(h3.get_resolution(c) == RESOLUTION for c in cells)
