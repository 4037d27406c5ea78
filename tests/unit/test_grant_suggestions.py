"""The grant that would have cleared it, on the in-code fake scenario: host H's airspace
authority H.Air decided A.Ops's requests by hand; which standing grant would have covered
what it approved and none of what it denied?"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import shapely

from clearance.domain.clearance.evaluation import evaluate
from clearance.domain.clearance.grant_suggestions import (
    GrantSuggestion,
    HandDecision,
    suggest_grants,
)
from clearance.domain.clearance.model import ApprovalStatus
from clearance.domain.clearance.requests import parse_request
from clearance.domain.clearance.scenario import Scenario
from tests.unit.fakes import circle, make_scenario, request_doc

DAY1 = ("2020-06-01T06:00:00Z", "2020-06-01T12:00:00Z")
DAY9 = ("2020-06-09T06:00:00Z", "2020-06-09T12:00:00Z")


def decision(
    scenario: Scenario,
    rid: str,
    doc: dict[str, Any],
    approved: bool,
) -> HandDecision:
    request = parse_request(doc, scenario)
    at = datetime(2020, 5, 30, tzinfo=UTC)
    return HandDecision(rid, request, tuple(range(len(request.volumes))), approved, at)


def armed(lat: float, lng: float, when: tuple[str, str] = DAY1, **kw: Any) -> dict[str, Any]:
    return request_doc(circle(lat, lng, 20_000, *when), payload="armed", **kw)


def with_suggestion(scenario: Scenario, s: GrantSuggestion) -> Scenario:
    areas = scenario.areas if s.area is None else {**scenario.areas, s.area.id: s.area}
    return replace(scenario, grants={**scenario.grants, s.grant.id: s.grant}, areas=areas)


def h_air(scenario: Scenario, doc: dict[str, Any]) -> ApprovalStatus:
    e = evaluate(parse_request(doc, scenario), scenario)
    return next(a.status for a in e.approvals if a.authority == "H.Air")


def test_without_denials_the_grant_names_the_hosts_territory() -> None:
    scenario = make_scenario()
    docs = [armed(2, 2), armed(3, 2.5), armed(2.5, 7)]
    decisions = [decision(scenario, f"r{i}", d, True) for i, d in enumerate(docs)]

    best = suggest_grants("H.Air", decisions, scenario)[0]

    assert best.grant.grantee == "A.Ops"
    assert best.grant.purposes == {"isr"}
    assert best.grant.payloads == {"armed"}
    assert best.grant.area == "H"
    assert best.area is None
    assert (len(best.covered), best.approvals, best.denials, best.denials_covered) == (3, 3, 0, 0)
    assert best.grant.valid_until is None
    assert best.document()["area"] == "H"
    assert best.document()["valid_from"] == "2020-06-01T06:00:00Z"


def test_a_denied_area_is_cut_away_and_no_denial_is_covered() -> None:
    scenario = make_scenario()
    approved = [armed(2, 2), armed(3, 2.5), armed(2.5, 3)]
    denied = [armed(8, 8)]
    decisions = [decision(scenario, f"ok{i}", d, True) for i, d in enumerate(approved)]
    decisions += [decision(scenario, "no", denied[0], False)]

    best = suggest_grants("H.Air", decisions, scenario)[0]

    assert (len(best.covered), best.approvals, best.denials) == (3, 3, 1)
    assert best.area is not None
    assert best.grant.area == best.area.id
    assert best.area.geometry.within(shapely.box(0, 0, 10, 10))  # clipped to H
    after = with_suggestion(scenario, best)
    # checked again by the whole evaluation, not only by the suggester's own check
    assert [h_air(after, d) for d in approved] == [ApprovalStatus.COVERED_BY_GRANT] * 3
    assert h_air(after, denied[0]) is ApprovalStatus.NEEDS_REVIEW
    assert [h_air(scenario, d) for d in approved] == [ApprovalStatus.NEEDS_REVIEW] * 3


def test_a_later_denial_in_the_same_place_is_excluded_by_the_time_window() -> None:
    scenario = make_scenario()
    approved = [armed(2, 2), armed(3, 3)]
    decisions = [decision(scenario, f"ok{i}", d, True) for i, d in enumerate(approved)]
    decisions += [decision(scenario, "no", armed(2, 2, DAY9), False)]

    best = suggest_grants("H.Air", decisions, scenario)[0]

    assert len(best.covered) == 2
    assert best.grant.area == "H"
    assert best.grant.valid_until == datetime(2020, 6, 1, 12, tzinfo=UTC)
    assert h_air(with_suggestion(scenario, best), armed(2, 2, DAY9)) is ApprovalStatus.NEEDS_REVIEW


def test_an_approval_where_and_when_a_denial_was_made_is_left_uncovered() -> None:
    scenario = make_scenario()
    decisions = [
        decision(scenario, "ok1", armed(2, 2), True),
        decision(scenario, "ok2", armed(6, 6), True),
        decision(scenario, "ok3", armed(8, 2), True),
        decision(scenario, "no", armed(2, 2, aircraft="drone-2"), False),
    ]

    best = suggest_grants("H.Air", decisions, scenario)[0]

    assert sorted(best.covered) == ["ok2", "ok3"]
    assert (best.approvals, best.denials, best.denials_covered) == (3, 1, 0)


def test_each_purpose_and_operator_gets_its_own_ranked_suggestion() -> None:
    scenario = make_scenario()
    decisions = [
        decision(scenario, "isr1", armed(2, 2), True),
        decision(scenario, "isr2", armed(3, 3), True),
        decision(scenario, "ow1", armed(4, 4, purpose="overwatch"), True),
        decision(scenario, "ow-no", armed(8, 8, purpose="overwatch"), False),
        decision(
            scenario,
            "host",
            armed(5, 5, aircraft="host-1", operator="H.Ops", site="bare"),
            True,
        ),
    ]

    found = suggest_grants("H.Air", decisions, scenario)

    first = found[0]
    assert first.grant.purposes == {"isr", "overwatch"} or first.grant.purposes == {"isr"}
    assert len(first.covered) >= 2
    slots = {(s.grant.grantee, tuple(sorted(s.grant.purposes))) for s in found}
    assert ("A.Ops", ("overwatch",)) in slots
    assert ("H.Ops", ("isr",)) in slots
    for s in found:  # the whole list holds the rule, not only the best
        assert not any(d.request_id == "ow-no" for d in decisions if d.request_id in s.covered)
    ranked = [len(s.covered) for s in found]
    assert ranked == sorted(ranked, reverse=True)


def test_nothing_approved_suggests_nothing() -> None:
    scenario = make_scenario()
    decisions = [decision(scenario, "no", armed(2, 2), False)]
    assert suggest_grants("H.Air", decisions, scenario) == []


def test_the_grant_id_never_reuses_an_existing_grant_or_area_name() -> None:
    scenario = make_scenario()
    decisions = [decision(scenario, "ok", request_doc(circle(2, 2)), True)]
    first = suggest_grants("H.Air", decisions, scenario)[0]
    taken = replace(scenario, grants={**scenario.grants, first.grant.id: first.grant})
    again = suggest_grants("H.Air", decisions, taken)[0]
    assert again.grant.id == f"{first.grant.id}-2"


def test_it_names_the_grants_that_already_give_another_operator_as_much() -> None:
    scenario = make_scenario()
    decisions = [
        decision(
            scenario, "ok", armed(2, 2, aircraft="host-1", operator="H.Ops", site="bare"), True
        )
    ]
    best = suggest_grants("H.Air", decisions, scenario)[0]
    assert best.grant.payloads == {"armed"}
    assert best.similar == ()  # h-isr gives A.Ops only unarmed ISR
    unarmed = [
        decision(
            scenario,
            "u",
            request_doc(circle(2, 2), aircraft="host-1", operator="H.Ops", site="bare"),
            True,
        )
    ]
    assert suggest_grants("H.Air", unarmed, scenario)[0].similar == ("h-isr",)
