"""``/v1/scenario/map``: the scenario's territories and sites, for the page's map.

The scenario is only read once loaded, so the map is built on the first call and then
served from the app's state."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from shapely.geometry import mapping

from clearance.api.deps import PrincipalDep, WorkflowDep
from clearance.api.problems import problem_responses
from clearance.domain.scenario import Scenario

router = APIRouter(prefix="/v1/scenario", tags=["scenario"])


@router.get("/map", responses=problem_responses(401))
def scenario_map(_: PrincipalDep, workflow: WorkflowDep, request: Request) -> dict[str, Any]:
    """Territories as a GeoJSON FeatureCollection (properties ``party``, ``name``) and
    sites as points."""
    cached: dict[str, Any] | None = getattr(request.app.state, "scenario_map", None)
    if cached is None:
        cached = build_map(workflow.scenario)
        request.app.state.scenario_map = cached
    return cached


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
    return {"territories": {"type": "FeatureCollection", "features": features}, "sites": sites}
