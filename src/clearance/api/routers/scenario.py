"""``/v1/scenario/map``: what the page's map and compose form draw on: the scenario's
territories, named areas and sites, and the vocabulary of a request (aircraft, payloads,
purposes).

A scenario version never changes, so each version's map is built once and then served
from the app's state; which version is current is read on every call."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from shapely.geometry import mapping

from clearance.api import schemas
from clearance.api.deps import ContextDep, PrincipalDep
from clearance.api.problems import ok, problem_responses
from clearance.domain.clearance.model import Payload
from clearance.domain.clearance.scenario import Scenario

router = APIRouter(prefix="/v1/scenario", tags=["scenario"])


@router.get(
    "/map",
    response_model=None,
    responses=ok(schemas.ScenarioMap) | problem_responses(401),
)
def scenario_map(_: PrincipalDep, ctx: ContextDep, request: Request) -> dict[str, Any]:
    """Territories and named areas as GeoJSON FeatureCollections (properties ``party`` or
    ``id``, and ``name``), sites as points, and the aircraft (with their combat radius),
    payloads and purposes a request may name."""
    scenario = ctx.current_scenario()
    maps: dict[str, dict[str, Any]] = getattr(request.app.state, "scenario_maps", {})
    request.app.state.scenario_maps = maps
    if scenario.version not in maps:
        maps[scenario.version] = build_map(scenario)
    return maps[scenario.version]


def build_map(scenario: Scenario) -> dict[str, Any]:
    features = [
        {
            "type": "Feature",
            "id": party,
            "properties": {"party": territory.party, "name": territory.name},
            "geometry": mapping(territory.geometry),
        }
        for party, territory in scenario.territories.items()
    ]
    sites = [
        {"id": s.id, "name": s.name, "lat": s.location.lat, "lng": s.location.lng}
        for s in scenario.sites.values()
    ]
    areas = [
        {
            "type": "Feature",
            "id": area.id,
            "properties": {"id": area.id, "name": area.name},
            "geometry": mapping(area.geometry),
        }
        for area in scenario.areas.values()
        if area.id not in scenario.territories  # a territory is also an area
    ]
    aircraft = [
        {
            "id": a.id,
            "type": a.type,
            "operator": a.operator,
            "can_carry_weapons": a.can_carry_weapons,
            "combat_radius_m": a.combat_radius_m,
        }
        for a in scenario.aircraft.values()
    ]
    return {
        "territories": {"type": "FeatureCollection", "features": features},
        "areas": {"type": "FeatureCollection", "features": areas},
        "sites": sites,
        "aircraft": aircraft,
        "payloads": [p.value for p in Payload],
        "purposes": [{"id": k, "description": v} for k, v in scenario.purposes.items()],
    }
