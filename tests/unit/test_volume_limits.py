"""Outlines the plain (lng, lat) plane cannot represent are refused, not misrouted."""

from __future__ import annotations

import pytest

from clearance.domain.airspace.volumes import parse_volume
from clearance.domain.documents import Fields
from clearance.domain.errors import RequestError
from tests.unit.fakes import circle, polygon


def parse(doc: dict[str, object]) -> None:
    parse_volume(Fields(doc, path="volumes[0]", error=RequestError))


@pytest.mark.parametrize(
    "doc",
    [
        circle(14.0, 179.99, radius_m=50_000),  # crosses the 180th meridian
        circle(89.9, 0.0, radius_m=50_000),  # covers the north pole
        circle(0.0, 0.0, radius_m=19_000_000),  # wraps the globe
        polygon([(10, 170), (10, -170), (20, -170)]),  # spans more than 180 degrees
    ],
)
def test_refuses_outlines_across_the_antimeridian_or_over_a_pole(doc: dict[str, object]) -> None:
    with pytest.raises(RequestError) as raised:
        parse(doc)
    assert "180th meridian" in raised.value.rule
    assert raised.value.field.startswith("volumes[0].volume.outline_")


def test_accepts_an_ordinary_circle_near_the_antimeridian() -> None:
    parse(circle(14.0, 179.0, radius_m=50_000))
