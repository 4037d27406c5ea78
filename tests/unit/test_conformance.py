"""Conformance: telemetry against cleared volumes and the real Niger territories; and the
strict telemetry readers."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

import numpy as np
import pytest
import shapely

from clearance.domain.airspace.conformance import (
    ConformanceResult,
    check_conformance,
)
from clearance.domain.airspace.telemetry import parse_track_csv, parse_track_jsonl
from clearance.domain.airspace.tracks import Track, simulate_track, track_to_csv
from clearance.domain.airspace.volumes import WGS84, Circle, LatLng, Polygon, Volume4D
from clearance.domain.errors import InputError

ROOT = Path(__file__).parents[2]
T0 = datetime(2017, 11, 27, 6, tzinfo=UTC)
HOUR = timedelta(hours=1)
OUALLAM = LatLng(14.35, 1.45)  # north-west of Niamey, 100 km from the Mali border
IN_MALI = LatLng(15.3, 0.6)
COVERED = {"NE", "US"}


@cache
def territories() -> dict[str, shapely.Geometry]:
    doc = json.loads((ROOT / "examples" / "niger" / "territories.geojson").read_text("utf-8"))
    out = {}
    for feature in doc["features"]:
        geometry = shapely.geometry.shape(feature["geometry"])
        shapely.prepare(geometry)
        out[feature["properties"]["party"]] = geometry
    return out


def circle_volume(radius: float = 20_000.0) -> Volume4D:
    return Volume4D(Circle(OUALLAM, radius), 300.0, 4_500.0, T0, T0 + HOUR)


def check(track: Track, volumes: list[Volume4D], covered: set[str] = COVERED) -> ConformanceResult:
    return check_conformance(track, volumes, territories=territories(), covered_parties=covered)


def with_altitudes(track: Track, at: slice, alt: float) -> Track:
    alts = track.alt_m.copy()
    alts[at] = alt
    return replace(track, alt_m=alts)


# -- checking ----------------------------------------------------------------------------------


def test_a_track_inside_its_volume_conforms_fully() -> None:
    volume = circle_volume()
    result = check(simulate_track([volume], None, seed=3), [volume])
    assert result.conforming
    assert result.conformance_percent == 100.0
    assert result.excursions == []
    assert result.points == 3601
    assert result.reasons == []


def test_a_polygon_track_inside_conforms_fully() -> None:
    river = Polygon(
        (
            LatLng(13.6, 2.0),
            LatLng(13.7, 1.8),
            LatLng(14.0, 1.55),
            LatLng(14.05, 1.7),
            LatLng(13.75, 2.05),
        )
    )
    volume = Volume4D(river, 0.0, 1_000.0, T0, T0 + HOUR)
    result = check(simulate_track([volume], None, interval_s=5.0), [volume])
    assert result.conforming
    assert result.excursions == []


def test_a_drift_from_near_niamey_into_mali_is_an_excursion_naming_ml() -> None:
    volume = circle_volume()
    track = simulate_track([volume], None, drift_to=IN_MALI)
    result = check(track, [volume])

    # Independently: the track flies the geodesic from the centre at constant speed and
    # reaches IN_MALI at time_end, so it leaves the circle after radius / speed seconds.
    _, _, distance = WGS84.inv(OUALLAM.lng, OUALLAM.lat, IN_MALI.lng, IN_MALI.lat)
    speed = distance / 3600.0
    leaves = 20_000.0 / speed

    assert len(result.excursions) == 1
    (e,) = result.excursions
    assert e.kind == "territory"
    assert e.party == "ML"
    assert e.flagged
    assert leaves <= (e.start - T0).total_seconds() <= leaves + 1.0
    assert e.end == T0 + HOUR
    assert e.seconds == pytest.approx(3600.0 - leaves, abs=1.0)
    assert e.max_outside_m == pytest.approx(distance - 20_000.0, abs=1.0)
    assert result.conformance_percent == pytest.approx(100.0 * leaves / 3600.0, abs=0.05)
    assert not result.conforming
    assert any("ML territory" in r for r in result.reasons)


def test_a_simulated_track_starts_at_a_launch_inside_the_volume_and_ignores_one_outside() -> None:
    volume = circle_volume()
    inside = LatLng(14.40, 1.50)
    track = simulate_track([volume], inside, drift_to=IN_MALI)
    assert (track.lat[0], track.lng[0]) == pytest.approx((inside.lat, inside.lng))
    niamey = LatLng(13.48, 2.18)  # the air base, 100 km away
    track = simulate_track([volume], niamey, drift_to=IN_MALI)
    assert (track.lat[0], track.lng[0]) == pytest.approx((OUALLAM.lat, OUALLAM.lng))


def test_a_drift_with_mali_covered_is_an_outside_volume_excursion() -> None:
    volume = circle_volume()
    track = simulate_track([volume], None, drift_to=IN_MALI)
    (e,) = check(track, [volume], covered=COVERED | {"ML"}).excursions
    assert e.kind == "outside_volume"
    assert e.party is None


def test_an_altitude_excursion_reports_the_metres_above_the_band() -> None:
    volume = circle_volume()
    track = with_altitudes(simulate_track([volume], None), slice(600, 630), 4_500.0 + 120.0)
    result = check(track, [volume])
    (e,) = result.excursions
    assert e.kind == "altitude"
    assert e.max_outside_m == pytest.approx(120.0)
    assert e.start == T0 + timedelta(seconds=600)
    assert e.seconds == pytest.approx(30.0)
    assert e.flagged
    assert result.conformance_percent == pytest.approx(100.0 * (1 - 30 / 3600))
    assert not result.conforming  # one excursion longer than 10 s


def test_excursions_of_10_s_or_less_are_not_flagged() -> None:
    volume = circle_volume()
    track = with_altitudes(simulate_track([volume], None), slice(100, 110), 100.0)
    result = check(track, [volume])
    (e,) = result.excursions
    assert e.seconds == pytest.approx(10.0)
    assert e.max_outside_m == pytest.approx(200.0)
    assert not e.flagged
    assert result.conforming


def test_more_than_18_excursions_in_an_hour_fail_the_flight() -> None:
    volume = circle_volume()
    track = simulate_track([volume], None)
    alts = track.alt_m.copy()
    alts[100:3500:180] = 9_000.0  # 19 one-second excursions
    result = check(replace(track, alt_m=alts), [volume])
    assert len(result.excursions) == 19
    assert not any(e.flagged for e in result.excursions)
    assert result.conformance_percent > 99
    assert not result.conforming
    assert any("per flight hour" in r for r in result.reasons)


def test_points_outside_the_time_window_are_time_excursions() -> None:
    volume = circle_volume()
    early = Volume4D(volume.outline, 300.0, 4_500.0, T0 - timedelta(minutes=2), T0 + HOUR)
    track = simulate_track([early], None)  # starts two minutes before the cleared window
    (e,) = check(track, [volume]).excursions
    assert e.kind == "time"
    assert e.start == T0 - timedelta(minutes=2)
    assert e.end == T0
    assert e.max_outside_m == 0.0


def test_conformance_is_weighted_by_time_not_by_points() -> None:
    volume = circle_volume()
    start = np.datetime64("2017-11-27T06:00:00", "us")
    times = start + np.array([0, 10, 100], dtype="timedelta64[s]")
    track = Track(
        "t",
        times,
        np.full(3, OUALLAM.lat),
        np.full(3, OUALLAM.lng),
        np.array([1000.0, 9000.0, 1000.0]),
    )
    result = check(track, [volume])
    assert result.conformance_percent == pytest.approx(10.0)  # 2 of 3 points, 10 of 100 s
    (e,) = result.excursions
    assert e.seconds == pytest.approx(90.0)


def test_the_result_renders_as_json_with_rfc3339_times() -> None:
    volume = circle_volume()
    track = with_altitudes(simulate_track([volume], None), slice(600, 630), 5_000.0)
    doc = check(track, [volume]).to_dict()
    assert json.loads(json.dumps(doc)) == doc
    assert set(doc) >= {"conforming", "conformance_percent", "excursions", "points", "reasons"}
    assert doc["excursions"][0] == {
        "kind": "altitude",
        "start": "2017-11-27T06:10:00Z",
        "end": "2017-11-27T06:10:30Z",
        "seconds": 30.0,
        "max_outside_m": 500.0,
        "party": None,
        "flagged": True,
    }


# -- reading telemetry ------------------------------------------------------------------------


def test_a_track_survives_csv_and_jsonl_round_trips() -> None:
    volume = circle_volume()
    track = simulate_track([volume], None, drift_to=IN_MALI, interval_s=7.5)
    text = track_to_csv(track)
    back = parse_track_csv(text, "t.csv")
    assert np.array_equal(back.times, track.times)
    assert np.allclose(back.lat, track.lat, atol=1e-7)
    assert np.allclose(back.lng, track.lng, atol=1e-7)
    lines = text.splitlines()[1:]
    jsonl = "\n".join(
        json.dumps({"time": t, "lat": float(a), "lng": float(b), "alt_m": float(c)})
        for t, a, b, c in (line.split(",") for line in lines)
    )
    again = parse_track_jsonl(jsonl, "t.jsonl")
    assert np.array_equal(again.times, track.times)
    assert np.allclose(again.lng, track.lng, atol=1e-7)


def test_csv_columns_may_come_in_any_order_with_offsets_and_blank_lines() -> None:
    text = "lat,time,alt_m,lng\n14.0,2017-11-27T07:00:00+01:00,500,1.5\n\n14.1,2017-11-27T06:00:01.5Z,510,1.6\n"
    track = parse_track_csv(text, "t.csv")
    assert list(track.times.astype(str)) == [
        "2017-11-27T06:00:00.000000",
        "2017-11-27T06:00:01.500000",
    ]
    assert list(track.lng) == [1.5, 1.6]


GOOD = "time,lat,lng,alt_m\n2017-11-27T06:00:00Z,14.0,1.5,500\n"


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        (GOOD + "2017-11-27 06:00:01,14.0,1.5,500\n", 3, "RFC 3339"),
        (GOOD + "2017-11-27T06:00:61Z,14.0,1.5,500\n", 3, "RFC 3339"),
        (GOOD + "2017-02-30T06:00:01Z,14.0,1.5,500\n", 3, "RFC 3339"),
        (GOOD + "2017-11-27T06:00:01Z,94.0,1.5,500\n", 3, "within -90..90"),
        (GOOD + "2017-11-27T06:00:01Z,14.0,-181,500\n", 3, "within -180..180"),
        (GOOD + "2017-11-27T05:59:59Z,14.0,1.5,500\n", 3, "before the previous"),
        (GOOD + "2017-11-27T06:00:00Z,14.0,1.5,500\n", 3, "repeats the previous"),
        (GOOD + "2017-11-27T06:00:01Z,14.0,1.5\n", 3, "expected 4 fields"),
        (GOOD + "2017-11-27T06:00:01Z,14.0,1.5,500,9\n", 3, "expected 4 fields"),
        (GOOD + "2017-11-27T06:00:01Z,north,1.5,500\n", 3, "lat must be a number"),
        (GOOD + "2017-11-27T06:00:01Z,14.0,1.5,nan\n", 3, "finite"),
        (
            'time,lat,lng,alt_m\n"2017-11-27T06:00:00Z",14,1.5,500\n\n"x",14,1.5,500\n',
            4,
            "RFC 3339",
        ),
        ("time,lat,lng\n", 1, "header"),
        ("time,lat,lng,alt_m,speed\n", 1, "header"),
        ("time,lat,lng,alt_m\n", 2, "no points"),
        ("", 1, "empty"),
    ],
)
def test_malformed_csv_names_the_source_and_line(text: str, line: int, words: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_track_csv(text, "flight.csv")
    assert caught.value.source == "flight.csv"
    assert caught.value.field == f"line {line}"
    assert words in caught.value.rule
    assert str(caught.value).startswith(f"flight.csv: line {line}: ")


LINE = '{"time": "2017-11-27T06:00:00Z", "lat": 14.0, "lng": 1.5, "alt_m": 500}'


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        (LINE + '\n{"time": "2017-11-27T06:00:01Z", "lat": 14.0, "lng": 1.5}', 2, "missing alt_m"),
        (
            LINE + '\n{"time": "2017-11-27T06:00:01Z", "lat": 14, "lng": 1.5, "alt_m": 1, "x": 1}',
            2,
            "unknown x",
        ),
        (
            LINE + '\n{"time": "2017-11-27T06:00:01Z", "lat": "14", "lng": 1.5, "alt_m": 1}',
            2,
            "lat must be a number",
        ),
        (
            LINE + '\n\n{"time": "2017-11-27T06:00:01Z", "lat": 14, "lng": 1.5, "alt_m": true}',
            3,
            "alt_m must be a number",
        ),
        (LINE + '\n{"time": "yesterday", "lat": 14, "lng": 1.5, "alt_m": 1}', 2, "RFC 3339"),
        (LINE + '\n{"time": 1511762401, "lat": 14, "lng": 1.5, "alt_m": 1}', 2, "RFC 3339 string"),
        (
            LINE + '\n{"time": "2017-11-27T06:00:01Z", "lat": -91, "lng": 1.5, "alt_m": 1}',
            2,
            "within -90..90",
        ),
        (LINE + "\n" + LINE, 2, "repeats the previous"),
        (LINE + '\n{"time": "2017-11-27T06:00:01Z", "lat": 14', 2, "not valid JSON"),
        (LINE + "\n[1, 2]", 2, "one JSON object"),
        (LINE + ", " + LINE, 1, "not valid JSON"),
        ("\n \n", 1, "no points"),
    ],
)
def test_malformed_jsonl_names_the_source_and_line(text: str, line: int, words: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_track_jsonl(text, "flight.jsonl")
    assert caught.value.source == "flight.jsonl"
    assert caught.value.field == f"line {line}"
    assert words in caught.value.rule
