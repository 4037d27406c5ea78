"""Footprints: a circle's polygon holds the whole geodesic circle and strays outside it
by at most 0.095 % of the radius plus 2 m, and a polygon's edges follow great circles
(as deconfliction reads them), so routing sees a volume that reaches a border."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from clearance.domain.airspace.volumes import (
    CIRCLE_EXCESS,
    CIRCLE_MARGIN_M,
    WGS84,
    Circle,
    LatLng,
    Polygon,
    circle_segments,
    outline_polygon,
)
from clearance.domain.clearance.evaluation import evaluate
from clearance.domain.clearance.requests import parse_request
from tests.unit.fakes import circle, make_scenario, request_doc

PROPERTY = settings(max_examples=150, deadline=None)
CM_IN_DEGREES = 1e-7  # about 1 cm of latitude


@PROPERTY
@given(
    lat=st.floats(-50, 50),  # with the radius, circles that stay within 60 degrees
    lng=st.floats(-160, 160),  # never across the 180th meridian (refused by the parser)
    radius=st.floats(50, 1_000_000),
)
def test_a_circles_footprint_holds_the_circle_and_strays_little_outside_it(
    lat: float, lng: float, radius: float
) -> None:
    footprint = outline_polygon(Circle(LatLng(lat, lng), radius))
    n = 1_440
    lngs, lats, _ = WGS84.fwd(
        np.full(n, lng), np.full(n, lat), np.linspace(0, 360, n, endpoint=False), np.full(n, radius)
    )
    on_circle = shapely.points(np.column_stack([lngs, lats]))
    assert shapely.covers(footprint.buffer(CM_IN_DEGREES), on_circle).all()
    corners = np.asarray(footprint.exterior.coords)
    _, _, d = WGS84.inv(
        np.full(len(corners), lng), np.full(len(corners), lat), corners[:, 0], corners[:, 1]
    )
    assert float(np.max(d)) <= (radius + CIRCLE_MARGIN_M) * (1 + CIRCLE_EXCESS) + 1e-6


def test_circles_get_more_sides_as_they_grow() -> None:
    assert circle_segments(100) == 72
    assert circle_segments(50_000) == 72
    assert circle_segments(1_000_000) == 1_257  # sides of 5 km
    assert circle_segments(5_000_000) == 4_096  # the most


def great_circle_midpoint(a: LatLng, b: LatLng) -> tuple[float, float]:
    """(lng, lat) halfway along the great circle from a to b."""

    def xyz(p: LatLng) -> np.ndarray:  # type: ignore[type-arg]
        la, ln = math.radians(p.lat), math.radians(p.lng)
        return np.array([math.cos(la) * math.cos(ln), math.cos(la) * math.sin(ln), math.sin(la)])

    m = xyz(a) + xyz(b)
    return math.degrees(math.atan2(m[1], m[0])), math.degrees(
        math.atan2(m[2], math.hypot(m[0], m[1]))
    )


def test_a_long_polygon_edge_follows_its_great_circle_not_a_straight_lng_lat_line() -> None:
    corners = (LatLng(15, 0), LatLng(15, 5), LatLng(16, 5), LatLng(16, 0))
    footprint = outline_polygon(Polygon(corners))
    mid_lng, mid_lat = great_circle_midpoint(corners[0], corners[1])
    _, _, bulge = WGS84.inv(mid_lng, mid_lat, 2.5, 15.0)
    assert bulge > 500  # the arc from (15, 0) to (15, 5) runs north of latitude 15
    gap_deg = footprint.exterior.distance(shapely.Point(mid_lng, mid_lat))
    assert gap_deg * 111_320 < 1.0
    # the vertices are kept exactly as written
    ring = {(round(x, 12), round(y, 12)) for x, y in footprint.exterior.coords}
    assert {(float(c.lng), float(c.lat)) for c in corners} <= ring


def test_a_short_polygon_is_left_as_written() -> None:
    corners = (LatLng(13.0, 2.0), LatLng(13.0, 2.04), LatLng(13.04, 2.04))  # edges < 10 km
    footprint = outline_polygon(Polygon(corners))
    assert len(footprint.exterior.coords) == 4


@pytest.mark.parametrize(("inside_m", "asked"), [(10.0, True), (-50.0, False)])
def test_a_circle_reaching_a_border_by_metres_asks_that_territorys_authority(
    inside_m: float, asked: bool
) -> None:
    """H is east of the meridian 0, N west of it. A 30 km circle whose edge crosses into
    N by 10 m must bring N.Air into the chain; one 50 m short of the border must not
    (the footprint's 2 m margin and 0.095 % of 30 km stay within those 50 m)."""
    scenario = make_scenario()
    radius = 30_000.0
    lng, lat, _ = WGS84.fwd(0.0, 5.0, 90.0, radius - inside_m)
    doc = request_doc(circle(lat, lng, radius_m=radius))
    authorities = {a.authority for a in evaluate(parse_request(doc, scenario), scenario).approvals}
    assert ("N.Air" in authorities) is asked
    assert "H.Air" in authorities
