"""What would clear it (issue 15, item 1): candidate changes, their evaluation and rank,
on the in-code fake scenario with injected deconfliction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pyproj import Geod

from clearance.domain.clearance.alternatives import (
    Alternatives,
    Change,
    Hold,
    alternatives,
    apply_changes,
    no_conflicts,
    rank,
)
from clearance.domain.clearance.evaluation import evaluate
from clearance.domain.clearance.limits import Limits
from clearance.domain.clearance.model import Outcome, Request
from clearance.domain.clearance.requests import parse_request
from clearance.domain.clearance.scenario import Scenario
from clearance.domain.errors import RequestError
from tests.unit.fakes import circle, make_scenario, polygon, request_doc

NOW = datetime(2020, 5, 30, tzinfo=UTC)
HELD_FROM = datetime(2020, 6, 1, 6, tzinfo=UTC)
HELD_TO = datetime(2020, 6, 1, 12, tzinfo=UTC)
GEOD = Geod(ellps="WGS84")


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return make_scenario()


def descriptions(a: Alternatives) -> list[str]:
    return [s.description for s in a.suggestions]


def check_claims(a: Alternatives, doc: dict[str, Any], scenario: Scenario) -> None:
    """Every suggestion: its changes make its document, which evaluates as it says."""
    for s in a.suggestions:
        assert apply_changes(doc, s.changes) == s.document
        e = evaluate(parse_request(s.document, scenario, limits=scenario.limits), scenario)
        assert not e.violations
        assert e.outcome is s.evaluation.outcome
        assert e.approvals == s.evaluation.approvals


def test_a_site_not_yet_operational_suggests_another_site(scenario: Scenario) -> None:
    doc = request_doc(circle(5, 5), site="new")
    a = alternatives(doc, scenario, no_conflicts, NOW)
    assert a.evaluation.outcome is Outcome.INFEASIBLE
    assert a.suggestions[0].evaluation.outcome is Outcome.CLEARED
    assert a.suggestions[0].changes[0].path == "/launch_site"
    assert "launch site base" in descriptions(a)
    check_claims(a, doc, scenario)


def test_the_window_moved_until_the_site_is_operational_within_the_limits(
    scenario: Scenario,
) -> None:
    doc = request_doc(circle(5, 5), site="new")
    # 2030 is more than the default 90 days ahead: not suggested
    a = alternatives(doc, scenario, no_conflicts, NOW)
    assert not [d for d in descriptions(a) if "until new is operational" in d]
    ten_years = replace(scenario, limits=Limits(max_days_ahead=3650))
    a = alternatives(doc, ten_years, no_conflicts, NOW)
    moved = [s for s in a.suggestions if s.description.startswith("time window moved later")]
    assert len(moved) == 1
    assert "until new is operational, 2030-01-01T00:00:00Z" in moved[0].description
    assert moved[0].document["volumes"][0]["time_start"]["value"] == "2030-01-01T06:00:00Z"
    assert moved[0].evaluation.outcome is Outcome.CLEARED
    check_claims(a, doc, ten_years)


def test_a_volume_crossing_into_a_denying_party_is_clipped_with_a_margin(
    scenario: Scenario,
) -> None:
    doc = request_doc(circle(5, 0.05, radius_m=20_000))  # reaches into N, which denies
    a = alternatives(doc, scenario, no_conflicts, NOW)
    assert a.evaluation.outcome is Outcome.DENIED
    (clipped,) = [s for s in a.suggestions if "clipped to leave N's territory" in s.description]
    assert clipped.evaluation.outcome is Outcome.CLEARED
    vertices = clipped.document["volumes"][0]["volume"]["outline_polygon"]["vertices"]
    # every vertex at least the 2 km margin east of N's border (lng 0), within rounding
    for v in vertices:
        _, _, metres = GEOD.inv(0.0, v["lat"], v["lng"], v["lat"])
        assert v["lng"] > 0
        assert metres >= 1_990
    check_claims(a, doc, scenario)


def test_a_circle_wholly_over_a_denying_party_is_moved_out_of_it(scenario: Scenario) -> None:
    doc = request_doc(circle(5, -1, radius_m=10_000))
    a = alternatives(doc, scenario, no_conflicts, NOW)
    assert a.evaluation.outcome is Outcome.DENIED
    (moved,) = a.suggestions
    assert moved.description.startswith("volume 0 moved")
    centre = moved.document["volumes"][0]["volume"]["outline_circle"]["center"]
    _, _, metres = GEOD.inv(0.0, centre["lat"], centre["lng"], centre["lat"])
    assert centre["lng"] > 0
    assert metres >= 10_000 + 1_990
    check_claims(a, doc, scenario)


def test_beyond_the_combat_radius_the_volume_is_shrunk_within_it(scenario: Scenario) -> None:
    short = replace(scenario.aircraft["drone-1"], combat_radius_m=300_000.0)
    near = replace(scenario, aircraft={**scenario.aircraft, "drone-1": short})
    # from base (5, 5) this polygon reaches 9.9 degrees east, about 550 km
    doc = request_doc(polygon([(4.0, 4.0), (4.0, 9.9), (6.0, 9.9), (6.0, 4.0)]))
    a = alternatives(doc, near, no_conflicts, NOW)
    assert a.evaluation.outcome is Outcome.INFEASIBLE
    (shrunk,) = [s for s in a.suggestions if "shrunk to stay within drone-1" in s.description]
    assert shrunk.evaluation.outcome is Outcome.CLEARED
    request = parse_request(shrunk.document, near)
    assert request.volumes[0].farthest_distance_m(near.sites["base"].location) <= 300_000
    assert "aircraft drone-2" in descriptions(a)  # the other drone reaches 800 km
    check_claims(a, doc, near)


def test_ranked_cleared_first_then_fewer_reviews_then_the_smallest_change(
    scenario: Scenario,
) -> None:
    doc = request_doc(circle(5, 5), payload="armed", purpose="overwatch")
    a = alternatives(doc, scenario, no_conflicts, NOW)
    assert a.evaluation.outcome is Outcome.PENDING
    assert list(a.suggestions) == sorted(a.suggestions, key=rank)
    outcomes = [(s.evaluation.outcome, s.reviews, s.cost) for s in a.suggestions]
    assert outcomes[0][0] is Outcome.CLEARED
    assert outcomes[0] < outcomes[-1] or len(outcomes) == 1
    # pending suggestions shorten the chain: fewer reviews than the request's own
    before = sum(x.status.value == "needs_review" for x in a.evaluation.approvals)
    assert all(s.reviews < before for s in a.suggestions)
    assert a.suggestions[1].evaluation.outcome is Outcome.PENDING
    assert a.suggestions[1].cost < a.suggestions[0].cost  # smaller, but clears less
    check_claims(a, doc, scenario)


def test_a_cleared_request_gets_no_suggestion(scenario: Scenario) -> None:
    a = alternatives(request_doc(circle(5, 5)), scenario, no_conflicts, NOW)
    assert a.evaluation.outcome is Outcome.CLEARED
    assert a.suggestions == ()


def held_window(request: Request) -> Sequence[Hold]:
    """Another operation holds 06:00 to 12:00 on 1 June 2020, 100 to 2,000 m, everywhere."""
    return [
        Hold(i, HELD_FROM, HELD_TO, 100.0, 2000.0)
        for i, v in enumerate(request.volumes)
        if v.time_start < HELD_TO
        and v.time_end > HELD_FROM
        and v.altitude_lower_m < 2000.0
        and v.altitude_upper_m > 100.0
    ]


def test_held_airspace_suggests_another_window_or_altitude_and_says_only_when(
    scenario: Scenario,
) -> None:
    doc = request_doc(circle(5, 5))
    a = alternatives(doc, scenario, held_window, NOW)
    assert a.evaluation.outcome is Outcome.INFEASIBLE
    assert [v.message for v in a.evaluation.violations] == [
        "volume 0: the airspace is held from 2020-06-01T06:00:00Z to 2020-06-01T12:00:00Z"
    ]
    found = descriptions(a)
    assert "time window moved later by 6 h (after the held airspace's window)" in found
    assert "time window moved earlier by 6 h (before the held airspace's window)" in found
    assert "volume 0 flown at 2050 to 3000 m W84 (above the held airspace)" in found
    for s in a.suggestions:
        request = parse_request(s.document, scenario)
        assert held_window(request) == []  # every suggestion is clear of the hold
    check_claims(a, doc, scenario)


def test_nothing_is_suggested_that_meets_another_operation(scenario: Scenario) -> None:
    def held_everywhere(request: Request) -> Sequence[Hold]:
        return [Hold(0, HELD_FROM, HELD_TO, 0.0, 0.0)]

    a = alternatives(request_doc(circle(5, 5), site="new"), scenario, held_everywhere, NOW)
    assert a.evaluation.outcome is Outcome.INFEASIBLE
    assert a.suggestions == ()


def test_an_overridable_hold_is_stated_but_never_suggested_over(scenario: Scenario) -> None:
    def overridable(request: Request) -> Sequence[Hold]:
        return [Hold(0, HELD_FROM, HELD_TO, 0.0, 0.0, blocking=False)]

    a = alternatives(request_doc(circle(5, 5), site="new"), scenario, overridable, NOW)
    assert [h.blocking for h in a.held] == [False]
    assert a.evaluation.outcome is Outcome.INFEASIBLE  # for the site, not the hold
    assert [v.code for v in a.evaluation.violations] == ["site_not_operational"]
    assert a.suggestions == ()


def test_a_bad_document_raises_naming_the_field(scenario: Scenario) -> None:
    doc = request_doc(circle(5, 5))
    doc["launch_site"] = "nowhere"
    with pytest.raises(RequestError, match="launch_site"):
        alternatives(doc, scenario, no_conflicts, NOW)


def test_changes_apply_as_rfc_6902_replace_and_remove_without_touching_the_input() -> None:
    doc: dict[str, Any] = {"a": 1, "volumes": [{"x": 0}, {"x": 1}, {"x": 2}], "k/e~y": 0}
    changes = (
        Change("replace", "/a", 2),
        Change("replace", "/volumes/0/x", 9),
        Change("remove", "/volumes/2"),
        Change("remove", "/volumes/1"),
        Change("replace", "/k~1e~0y", 5),
    )
    assert apply_changes(doc, changes) == {"a": 2, "volumes": [{"x": 9}], "k/e~y": 5}
    assert doc == {"a": 1, "volumes": [{"x": 0}, {"x": 1}, {"x": 2}], "k/e~y": 0}
    assert Change("remove", "/a").as_json() == {"op": "remove", "path": "/a"}


def test_a_window_already_over_is_never_suggested(scenario: Scenario) -> None:
    # held from 06:00; the earlier window would end at 06:00, which is already past
    late = HELD_FROM + timedelta(hours=1)
    a = alternatives(request_doc(circle(5, 5)), scenario, held_window, late)
    assert not [d for d in descriptions(a) if "earlier" in d]
    assert [d for d in descriptions(a) if "later" in d]
