"""A stored conflict violation is read back into what it names (the page draws the other
request's volume from it): the reader and ``deconflict``'s message agree."""

from __future__ import annotations

from datetime import UTC, datetime

from clearance.domain.airspace.deconfliction import (
    ConflictRef,
    Priorities,
    conflict_ref,
    deconflict,
)
from clearance.domain.airspace.index import VolumeIndex
from clearance.domain.airspace.volumes import Circle, LatLng, Volume4D
from clearance.domain.clearance.model import Payload, Request, Violation

OTHER = "req-0123456789abcdef"


def volume(lat: float) -> Volume4D:
    return Volume4D(
        Circle(LatLng(lat, 2.0), 10_000.0),
        300.0,
        4500.0,
        datetime(2017, 11, 21, 6, tzinfo=UTC),
        datetime(2017, 11, 21, 14, tzinfo=UTC),
    )


def test_a_conflict_violation_names_both_volumes_and_the_other_request() -> None:
    index = VolumeIndex()
    index.add_many([((OTHER, 0), volume(20.0)), ((OTHER, 1), volume(14.0))])
    request = Request(
        "US.AFRICOM", "US-MQ1B-1", Payload.UNARMED, "isr", "niamey-ab101", "why",
        (volume(10.0), volume(14.05)),
    )  # fmt: skip
    (violation,) = deconflict(request, index, lambda _: "isr", Priorities()).violations
    assert conflict_ref(violation) == ConflictRef(volume=1, request=OTHER, other_volume=1)


def test_other_violations_name_no_conflict() -> None:
    assert conflict_ref(Violation("combat_radius", "volume 0 conflicts with request")) is None
    assert conflict_ref(Violation("conflict", "something else")) is None
