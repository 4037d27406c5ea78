"""Evaluation rules, one test per rule, on the in-code fake scenario."""

from __future__ import annotations

from dataclasses import replace

import pytest

from clearance.domain.clearance.evaluation import evaluate, evaluate_many
from clearance.domain.clearance.model import (
    Approval,
    ApprovalStatus,
    Grant,
    Outcome,
    Violation,
    outcome_of,
)
from clearance.domain.clearance.requests import parse_request
from clearance.domain.clearance.scenario import Scenario
from tests.unit.fakes import T0, circle, make_scenario, polygon, request_doc


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return make_scenario()


def run(scenario: Scenario, doc: dict[str, object]):  # type: ignore[no-untyped-def]
    return evaluate(parse_request(doc, scenario, "test.yaml"), scenario)


def by_authority(evaluation) -> dict[str, Approval]:  # type: ignore[no-untyped-def]
    return {a.authority: a for a in evaluation.approvals}


# -- feasibility -------------------------------------------------------------------


def test_launch_site_must_be_operational_at_every_volume_start(scenario: Scenario) -> None:
    e = run(scenario, request_doc(circle(6.2, 6.0), site="new"))
    assert e.outcome is Outcome.INFEASIBLE
    (v,) = [v for v in e.violations if v.code == "site_not_operational"]
    assert "under construction" in v.message
    assert "2030-01-01" in v.message


def test_site_is_fine_once_operational(scenario: Scenario) -> None:
    doc = request_doc(
        circle(6.2, 6.0, start="2031-01-01T00:00:00Z", end="2031-01-01T02:00:00Z"), site="new"
    )
    assert "site_not_operational" not in [v.code for v in run(scenario, doc).violations]


def test_armed_payload_needs_munitions_storage_for_the_operators_party(scenario: Scenario) -> None:
    e = run(scenario, request_doc(circle(5, 6), payload="armed", site="bare"))
    assert "no_munitions_storage" in [v.code for v in e.violations]
    ok = run(scenario, request_doc(circle(5, 5), payload="armed", site="base"))
    assert "no_munitions_storage" not in [v.code for v in ok.violations]


def test_unarmed_payload_needs_no_munitions_storage(scenario: Scenario) -> None:
    e = run(scenario, request_doc(circle(5, 6), site="bare"))
    assert e.violations == ()


def test_every_volume_must_lie_within_combat_radius(scenario: Scenario) -> None:
    # 800 km radius from (lat 5, lng 5); one degree of longitude there is ~110.9 km.
    near = run(scenario, request_doc(circle(5, 12.0, radius_m=5_000)))  # ~781 km
    far = run(scenario, request_doc(circle(5, 12.2, radius_m=20_000)))  # ~818 km
    assert "beyond_combat_radius" not in [v.code for v in near.violations]
    (v,) = [v for v in far.violations if v.code == "beyond_combat_radius"]
    assert "800 km" in v.message


def test_combat_radius_uses_the_farthest_polygon_vertex(scenario: Scenario) -> None:
    e = run(scenario, request_doc(polygon([(5, 5.1), (5.2, 5.1), (5.1, 12.5)])))
    assert "beyond_combat_radius" in [v.code for v in e.violations]


def test_volume_must_lie_over_known_territory(scenario: Scenario) -> None:
    e = run(
        scenario, request_doc(circle(5, 5), circle(-5, 5))
    )  # second one is south of every territory
    (v,) = [v for v in e.violations if v.code == "outside_known_territory"]
    assert v.message.startswith("volume 1 ")


def test_armed_payload_needs_an_aircraft_that_can_carry_weapons(scenario: Scenario) -> None:
    e = run(scenario, request_doc(payload="armed", aircraft="drone-2"))
    assert "aircraft_cannot_carry_weapons" in [v.code for v in e.violations]


def test_aircraft_must_belong_to_the_operator(scenario: Scenario) -> None:
    e = run(scenario, request_doc(aircraft="host-1"))
    assert "aircraft_operator" in [v.code for v in e.violations]


def test_infeasible_request_still_lists_its_approvals(scenario: Scenario) -> None:
    e = run(scenario, request_doc(circle(6.2, 6.0), site="new"))
    assert e.outcome is Outcome.INFEASIBLE
    assert [a.authority for a in e.approvals] == ["A.Command", "H.Air"]


# -- routing -----------------------------------------------------------------------


def test_routes_own_chain_first_then_each_touched_territory(scenario: Scenario) -> None:
    e = run(scenario, request_doc(circle(5, 5), payload="armed", purpose="overwatch"))
    assert [(a.authority, a.stage) for a in e.approvals] == [
        ("A.Command", 1),
        ("A.Foreign", 2),
        ("H.Air", 3),
        ("H.Chief", 3),
    ]


def test_conditional_authorities_are_skipped_and_stages_close_up(scenario: Scenario) -> None:
    e = run(scenario, request_doc(circle(5, 5)))
    assert [(a.authority, a.stage) for a in e.approvals] == [("A.Command", 1), ("H.Air", 2)]


def test_a_volume_across_a_border_routes_to_both_parties(scenario: Scenario) -> None:
    e = run(scenario, request_doc(circle(5, 0.0, radius_m=30_000)))
    assert {"H.Air", "N.Air"} <= set(by_authority(e))


def test_routing_uses_exact_geometry_not_bounding_boxes(scenario: Scenario) -> None:
    # (lat 8, lng 12) is inside the triangle's bounding box but above its diagonal.
    outside = run(scenario, request_doc(circle(8, 12, radius_m=5_000)))
    inside = run(scenario, request_doc(circle(2, 18, radius_m=5_000)))
    assert "T.Air" not in by_authority(outside)
    assert "T.Air" in by_authority(inside)


# -- grants ------------------------------------------------------------------------


def test_grant_covering_operator_purpose_payload_area_and_time(scenario: Scenario) -> None:
    e = run(scenario, request_doc(circle(5, 5)))
    approval = by_authority(e)["H.Air"]
    assert approval.status is ApprovalStatus.COVERED_BY_GRANT
    assert approval.grant == "h-isr"
    assert "condition: daylight only" in approval.reasons
    assert e.outcome is Outcome.CLEARED


@pytest.mark.parametrize(
    ("change", "phrase"),
    [
        ({"revoked": True}, "revoked"),
        ({"purposes": frozenset({"overwatch"})}, "purpose isr"),
        ({"payloads": frozenset({"armed"})}, "payload unarmed"),
        ({"valid_from": T0.replace(year=2025)}, "valid only from"),
        ({"valid_until": T0.replace(year=2019)}, "valid only until"),
        ({"area": "east-half"}, "leaves its area"),
        ({"grantee": "H.Ops"}, None),
    ],
)
def test_grant_that_falls_short_does_not_cover(
    change: dict[str, object], phrase: str | None
) -> None:
    base = Grant("h-isr", "H.Air", "A.Ops", frozenset({"isr"}), frozenset({"unarmed"}), "H", T0)
    scenario = make_scenario(grants=[replace(base, **change)])  # type: ignore[arg-type]
    e = run(scenario, request_doc(circle(5, 2)))  # west half of H
    approval = by_authority(e)["H.Air"]
    assert approval.status is ApprovalStatus.NEEDS_REVIEW
    assert approval.grant is None
    if phrase is not None:
        assert any(phrase in r for r in approval.reasons), approval.reasons


def test_grant_of_one_authority_feeds_anothers_policy(scenario: Scenario) -> None:
    armed_grant = Grant("h-all", "H.Air", "A.Ops", frozenset({"isr", "overwatch"}),
                        frozenset({"armed", "unarmed"}), "H", T0)  # fmt: skip
    s = make_scenario(grants=[armed_grant])
    e = run(s, request_doc(circle(5, 5), payload="armed", purpose="overwatch"))
    assert by_authority(e)["H.Chief"].status is ApprovalStatus.AUTO_APPROVED
    assert by_authority(e)["H.Chief"].policies == ("h-chief-grant",)


# -- policies and outcome ----------------------------------------------------------


def test_policy_permit_auto_approves_with_its_id_and_reason(scenario: Scenario) -> None:
    a = by_authority(run(scenario, request_doc(circle(5, 5))))["A.Command"]
    assert a.status is ApprovalStatus.AUTO_APPROVED
    assert a.policies == ("cmd-unarmed",)
    assert a.reasons == ("A.Command clears unarmed flights",)


def test_policy_forbid_denies_and_names_the_policy(scenario: Scenario) -> None:
    e = run(scenario, request_doc(circle(5, 6), payload="armed", site="bare"))
    a = by_authority(e)["A.Command"]
    assert a.status is ApprovalStatus.DENIED
    assert a.policies == ("cmd-storage",)


def test_refer_permit_sends_to_review(scenario: Scenario) -> None:
    e = run(scenario, request_doc(circle(5, 5), payload="armed", purpose="overwatch"))
    assert by_authority(e)["A.Command"].status is ApprovalStatus.NEEDS_REVIEW
    assert e.outcome is Outcome.PENDING


def test_no_policy_at_all_denies_by_default(scenario: Scenario) -> None:
    e = run(scenario, request_doc(circle(5, -1)))
    a = by_authority(e)["N.Air"]
    assert a.status is ApprovalStatus.DENIED
    assert a.policies == ()
    assert "no policy of N.Air" in a.reasons[0]
    assert e.outcome is Outcome.DENIED


def test_outcome_precedence_infeasible_then_denied_then_pending() -> None:
    ok = Approval("X", "P", 1, ApprovalStatus.AUTO_APPROVED)
    wait = Approval("Y", "P", 1, ApprovalStatus.NEEDS_REVIEW)
    no = Approval("Z", "P", 2, ApprovalStatus.DENIED)
    bad = (Violation("c", "m"),)
    assert outcome_of((ok,), ()) is Outcome.CLEARED
    assert outcome_of((ok, wait), ()) is Outcome.PENDING
    assert outcome_of((ok, wait, no), ()) is Outcome.DENIED
    assert outcome_of((ok, wait, no), bad) is Outcome.INFEASIBLE


def test_batch_evaluation_equals_one_by_one_and_the_cache_changes_nothing() -> None:
    cached, uncached = make_scenario(), make_scenario(cache_size=0)
    docs = [
        request_doc(circle(5, 5)),
        request_doc(circle(5, 5), payload="armed", purpose="overwatch"),
        request_doc(circle(5, 6), payload="armed", site="bare"),
        request_doc(circle(5, -1)),
        request_doc(circle(5, 0.0, radius_m=30_000)),
    ]
    requests = [parse_request(d, cached) for d in docs]
    one_by_one = [evaluate(r, uncached) for r in requests]
    assert evaluate_many(requests * 2, cached) == one_by_one * 2
