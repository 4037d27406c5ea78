"""Can the operation fly at all, whoever approves it?

Each check returns the violations it finds; an empty list means feasible. The checks
never raise for a well-formed request: infeasibility is an answer, not an error.
"""

from __future__ import annotations

from clearance.domain.clearance.model import Payload, Request, SiteStatus, Violation
from clearance.domain.clearance.scenario import Scenario
from clearance.domain.documents import instant


def check_feasibility(request: Request, scenario: Scenario) -> list[Violation]:
    return [
        *_aircraft(request, scenario),
        *_site_operational(request, scenario),
        *_munitions_storage(request, scenario),
        *_combat_radius(request, scenario),
        *_known_territory(request, scenario),
    ]


def _aircraft(request: Request, scenario: Scenario) -> list[Violation]:
    aircraft = scenario.aircraft[request.aircraft]
    out = []
    if aircraft.operator != request.operator:
        out.append(
            Violation(
                "aircraft_operator",
                f"aircraft {aircraft.id} belongs to {aircraft.operator}, not {request.operator}",
            )
        )
    if request.payload is Payload.ARMED and not aircraft.can_carry_weapons:
        out.append(
            Violation(
                "aircraft_cannot_carry_weapons",
                f"aircraft {aircraft.id} ({aircraft.type}) cannot carry weapons",
            )
        )
    return out


def _site_operational(request: Request, scenario: Scenario) -> list[Violation]:
    site = scenario.sites[request.launch_site]
    out = []
    for i, v in enumerate(request.volumes):
        status = site.status_at(v.time_start)
        if status is SiteStatus.OPERATIONAL:
            continue
        since = site.operational_from()
        when = f"; operational from {since.date().isoformat()}" if since else ""
        state = status.value.replace("_", " ") if status else "not yet built"
        out.append(
            Violation(
                "site_not_operational",
                f"launch site {site.id} is {state} at volume {i}'s start "
                f"({instant(v.time_start)}){when}",
            )
        )
    return out


def _munitions_storage(request: Request, scenario: Scenario) -> list[Violation]:
    if request.payload is not Payload.ARMED:
        return []
    site = scenario.sites[request.launch_site]
    party = scenario.operators[request.operator].party
    if all(site.stores_munitions_for(party, v.time_start) for v in request.volumes):
        return []
    return [
        Violation(
            "no_munitions_storage",
            f"an armed launch needs {party} munitions storage at {site.id}, which has none "
            "for the operation's time",
        )
    ]


def _combat_radius(request: Request, scenario: Scenario) -> list[Violation]:
    aircraft = scenario.aircraft[request.aircraft]
    site = scenario.sites[request.launch_site]
    out = []
    for i, v in enumerate(request.volumes):
        reach = v.farthest_distance_m(site.location)
        if reach > aircraft.combat_radius_m:
            out.append(
                Violation(
                    "beyond_combat_radius",
                    f"volume {i} reaches {reach / 1000:,.0f} km from {site.id}; "
                    f"{aircraft.id} has a combat radius of {aircraft.combat_radius_m / 1000:,.0f} km",
                )
            )
    return out


def _known_territory(request: Request, scenario: Scenario) -> list[Violation]:
    return [
        Violation(
            "outside_known_territory",
            f"volume {i} is not wholly over territory this scenario knows; no authority "
            "can be named for the rest",
        )
        for i, v in enumerate(request.volumes)
        if not scenario.over_known_territory(v.footprint)
    ]
