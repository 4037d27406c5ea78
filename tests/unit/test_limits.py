"""The scenario's limits on what a filed request may ask for, each refused naming the
field, the limit and the key that sets it (``domain.limits``)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from clearance.adapters.scenario_loader import load_scenario
from clearance.domain.clearance.limits import Limits
from clearance.domain.clearance.requests import parse_request
from clearance.domain.errors import RequestError, ScenarioError
from tests.unit.fakes import circle, make_scenario, polygon, request_doc

NOW = datetime(2020, 5, 1, tzinfo=UTC)
NIGER = Path(__file__).resolve().parents[2] / "examples" / "niger"


def refused(doc: dict[str, object], limits: Limits | None = None) -> RequestError:
    with pytest.raises(RequestError) as raised:
        parse_request(doc, make_scenario(), "doc.json", limits=limits or Limits(), now=NOW)
    return raised.value


@pytest.mark.parametrize(
    ("lower", "upper", "field", "value"),
    [
        (100, 1e9, "altitude_upper", "1e+09"),
        (-1e9, 100, "altitude_lower", "-1e+09"),
        (100, 20_001, "altitude_upper", "20001"),
        (-501, 100, "altitude_lower", "-501"),
    ],
)
def test_refuses_altitudes_outside_the_plausible_band(
    lower: float, upper: float, field: str, value: str
) -> None:
    error = refused(request_doc(circle(5, 5, lower=lower, upper=upper)))
    assert error.field == f"volumes[0].volume.{field}.value"
    assert "-500..20000 m W84" in error.rule
    assert "limits.max_altitude_m" in error.rule
    assert error.rule.endswith(f"got {value}")


def test_accepts_altitudes_at_the_band_edges() -> None:
    doc = request_doc(circle(5, 5, lower=-500, upper=20_000))
    parse_request(doc, make_scenario(), limits=Limits(), now=NOW)


def test_refuses_a_century_long_window() -> None:
    error = refused(
        request_doc(circle(5, 5, start="2030-01-01T00:00:00Z", end="2130-01-01T00:00:00Z"))
    )
    assert error.field == "volumes[0].time_end"
    assert "at most 72 h (limits.max_volume_hours)" in error.rule


def test_refuses_a_request_spanning_more_than_30_days() -> None:
    first = circle(5, 5, start="2020-06-01T00:00:00Z", end="2020-06-01T10:00:00Z")
    last = circle(5, 5, start="2020-07-05T00:00:00Z", end="2020-07-05T10:00:00Z")
    error = refused(request_doc(first, last))
    assert error.field == "volumes"
    assert "spans 34.4167 days" in error.rule
    assert "limits.max_span_days" in error.rule


def test_refuses_a_volume_starting_more_than_90_days_ahead() -> None:
    soon = circle(5, 5, start="2020-06-01T00:00:00Z", end="2020-06-01T10:00:00Z")
    late = circle(5, 5, start="9999-12-30T00:00:00Z", end="9999-12-30T10:00:00Z")
    error = refused(request_doc(soon, late), Limits(max_span_days=1e7))
    assert error.field == "volumes[1].time_start"
    assert "more than 90 days after now" in error.rule
    assert "limits.max_days_ahead" in error.rule


def test_how_far_ahead_is_not_judged_without_a_present() -> None:
    late = circle(5, 5, start="2029-01-01T00:00:00Z", end="2029-01-01T10:00:00Z")
    parse_request(request_doc(late), make_scenario(), limits=Limits())


def test_refuses_too_many_volumes_before_reading_them() -> None:
    broken = {"not": "a volume"}  # never read: the count is refused first
    error = refused(request_doc(*([broken] * 101)))
    assert error.field == "volumes"
    assert "at most 100 volumes per request (limits.max_volumes); got 101" in error.rule


def test_refuses_a_volume_larger_than_the_area_limit() -> None:
    error = refused(request_doc(circle(5, 5, radius_m=300_000)))
    assert error.field == "volumes[0].volume.outline_circle"
    assert "282,743 km2" in error.rule or "km2; at most 250,000 km2" in error.rule
    square = polygon([(0.5, 0.5), (0.5, 9.5), (9.5, 9.5), (9.5, 0.5)])  # ~1,000 km a side
    error = refused(request_doc(square))
    assert error.field == "volumes[0].volume.outline_polygon"
    assert "(limits.max_area_km2)" in error.rule


def test_stored_documents_are_read_without_limits() -> None:
    doc = request_doc(circle(5, 5, upper=1e9))
    request = parse_request(doc, make_scenario())
    assert request.volumes[0].altitude_upper_m == 1e9


def write_scenario(tmp_path: Path, limits: str) -> Path:
    target = tmp_path / "scenario"
    target.mkdir()
    for p in NIGER.rglob("*"):
        if p.is_file() and "requests" not in p.parts:
            dest = target / p.relative_to(NIGER)
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(p.read_bytes())
    main = target / "scenario.yaml"
    text = main.read_text(encoding="utf-8").replace("limits:\n  max_days_ahead: 3650\n", limits)
    main.write_text(text, encoding="utf-8")
    return target


def test_the_niger_replay_files_up_to_ten_years_ahead_and_keeps_the_other_defaults() -> None:
    limits = load_scenario(NIGER).limits
    assert limits == Limits(max_days_ahead=3650)


def test_a_scenario_sets_its_limits(tmp_path: Path) -> None:
    scenario = load_scenario(
        write_scenario(tmp_path, "limits: {max_volumes: 3, max_altitude_m: 8000}\n")
    )
    assert scenario.limits == Limits(max_volumes=3, max_altitude_m=8000)
    assert isinstance(scenario.limits.max_volumes, int)


@pytest.mark.parametrize(
    ("limits", "field", "rule"),
    [
        ("limits: {max_volumez: 3}\n", "limits.max_volumez", "unknown field"),
        ("limits: {max_volumes: 2.5}\n", "limits.max_volumes", "whole number"),
        ("limits: {max_span_days: 0}\n", "limits.max_span_days", "greater than 0"),
        ("limits: {max_area_km2: big}\n", "limits.max_area_km2", "must be a number"),
        ("limits: {min_altitude_m: 100, max_altitude_m: 50}\n", "limits.min_altitude_m", "below"),
    ],
)
def test_the_loader_names_file_and_path_of_a_bad_limit(
    tmp_path: Path, limits: str, field: str, rule: str
) -> None:
    with pytest.raises(ScenarioError) as raised:
        load_scenario(write_scenario(tmp_path, limits))
    assert raised.value.source.endswith("scenario.yaml")
    assert raised.value.field == field
    assert rule in raised.value.rule
