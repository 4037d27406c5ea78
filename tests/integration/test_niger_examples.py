"""Every outcome of docs/niger-scenario.md, reproduced by the shipped example requests."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from clearance.adapters.scenario_loader import load_scenario
from clearance.bootstrap import documents_from
from clearance.domain.clearance.model import ApprovalStatus, Evaluation, Outcome
from clearance.domain.clearance.scenario import Scenario
from clearance.service.evaluations import evaluate_documents

NIGER = Path(__file__).parents[2] / "examples" / "niger"


@cache
def scenario() -> Scenario:
    return load_scenario(NIGER)


def evaluated(name: str) -> Evaluation:
    (result,) = evaluate_documents(documents_from([NIGER / "requests" / name]), scenario())
    return result.evaluation


def statuses(e: Evaluation) -> dict[str, ApprovalStatus]:
    return {a.authority: a.status for a in e.approvals}


def test_loads_the_fixed_ids_of_the_scenario() -> None:
    s = scenario()
    assert {"US", "NE", "FR", "ML"} <= set(s.parties)
    assert {"US.DoD", "US.State", "NE.Defense", "NE.PM", "FR.Defense", "ML.Defense"} <= set(
        s.authorities
    )
    assert set(s.operators) == {"US.AFRICOM", "FR.Barkhane"}
    assert set(s.aircraft) == {"US-MQ1B-1", "US-MQ9-1", "FR-MQ9-1"}
    assert set(s.sites) == {"niamey-ab101", "agadez-ab201"}
    assert s.aircraft["US-MQ1B-1"].combat_radius_m == 740_000
    assert {"NE", "ML"} <= set(s.territories)


def test_territories_are_real_borders_that_place_the_cities() -> None:
    s = scenario()
    import shapely

    assert s.territories_touched(shapely.Point(2.18, 13.48)) == ["NE"]  # Niamey
    assert s.territories_touched(shapely.Point(8.05, 16.94)) == ["NE"]  # Agadez
    assert s.territories_touched(shapely.Point(-8.0, 12.65)) == ["ML"]  # Bamako


@pytest.mark.parametrize("name", ["01-us-isr-ouallam.yaml", "02-us-isr-river-route.yaml"])
def test_us_unarmed_isr_from_niamey_is_cleared_with_no_human(name: str) -> None:
    e = evaluated(name)
    assert e.outcome is Outcome.CLEARED
    assert statuses(e) == {
        "US.DoD": ApprovalStatus.AUTO_APPROVED,
        "NE.Defense": ApprovalStatus.COVERED_BY_GRANT,
    }
    assert next(a for a in e.approvals if a.authority == "NE.Defense").grant == "ne-us-unarmed-isr"


def test_us_armed_overwatch_from_niamey_is_not_cleared_for_munitions_storage() -> None:
    e = evaluated("03-us-armed-overwatch-niamey.yaml")
    assert e.outcome is Outcome.INFEASIBLE
    assert [v.code for v in e.violations] == ["no_munitions_storage"]
    dod = e.approvals[0]
    assert (dod.authority, dod.status, dod.policies) == (
        "US.DoD",
        ApprovalStatus.DENIED,
        ("dod-armed-needs-storage",),
    )


def test_us_armed_overwatch_from_agadez_in_2017_is_infeasible_for_site_status() -> None:
    e = evaluated("04-us-armed-overwatch-agadez-2017.yaml")
    assert e.outcome is Outcome.INFEASIBLE
    assert "site_not_operational" in [v.code for v in e.violations]


def test_us_armed_overwatch_from_agadez_in_2020_awaits_dod_state_and_niger() -> None:
    e = evaluated("05-us-armed-overwatch-agadez-2020.yaml")
    assert e.outcome is Outcome.PENDING
    assert e.violations == ()
    assert [(a.authority, a.stage, a.status) for a in e.approvals] == [
        ("US.DoD", 1, ApprovalStatus.NEEDS_REVIEW),
        ("US.State", 2, ApprovalStatus.NEEDS_REVIEW),
        ("NE.Defense", 3, ApprovalStatus.NEEDS_REVIEW),
        ("NE.PM", 3, ApprovalStatus.NEEDS_REVIEW),
    ]


@pytest.mark.parametrize("name", ["06-fr-armed-overwatch-niamey.yaml", "07-fr-isr-tahoua.yaml"])
def test_french_operations_over_niger_are_cleared_by_nigers_grant(name: str) -> None:
    e = evaluated(name)
    assert e.outcome is Outcome.CLEARED
    assert statuses(e)["NE.Defense"] is ApprovalStatus.COVERED_BY_GRANT
    assert statuses(e)["FR.Defense"] is ApprovalStatus.AUTO_APPROVED


@pytest.mark.parametrize(
    "name",
    [
        "08-us-isr-over-mali.yaml",
        "09-us-isr-crossing-into-mali.yaml",
        "11-us-isr-niger-then-mali.yaml",
    ],
)
def test_any_volume_over_or_into_mali_is_not_cleared_and_names_mali(name: str) -> None:
    e = evaluated(name)
    assert e.outcome is Outcome.DENIED
    mali = next(a for a in e.approvals if a.authority == "ML.Defense")
    assert mali.party == "ML"
    assert mali.status is ApprovalStatus.DENIED
    assert "ML.Defense" in mali.reasons[0]


def test_mq1b_from_agadez_to_the_far_west_is_beyond_combat_radius() -> None:
    e = evaluated("10-us-mq1b-agadez-far-west.yaml")
    assert e.outcome is Outcome.INFEASIBLE
    assert [v.code for v in e.violations] == ["beyond_combat_radius"]
    assert "740 km" in e.violations[0].message


def test_us_unarmed_isr_from_agadez_once_operational_is_cleared() -> None:
    assert evaluated("12-us-isr-agadez-2020.yaml").outcome is Outcome.CLEARED


def test_reconnaissance_reaching_into_nigeria_waits_for_nigeria() -> None:
    e = evaluated("13-us-isr-into-nigeria.yaml")
    assert e.outcome is Outcome.PENDING
    assert statuses(e)["NG.Defense"] is ApprovalStatus.NEEDS_REVIEW


def test_every_example_states_the_outcome_it_reproduces() -> None:
    for path in sorted((NIGER / "requests").glob("*.yaml")):
        first = path.read_text(encoding="utf-8").splitlines()[0]
        expected = first.removeprefix("# Expected: ").split(" ")[0].rstrip(".,")
        e = evaluated(path.name)
        assert e.outcome.value == expected, path.name
