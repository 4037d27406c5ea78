"""``GET /v1/scenario/map``: the scenario's territories (GeoJSON) and sites, for the page."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.e2e.conftest import Actors, assert_problem

GEOMETRY_TYPES = {"Polygon", "MultiPolygon"}


def test_the_map_needs_a_token(client: TestClient) -> None:
    assert_problem(client.get("/v1/scenario/map"), 401)


def test_the_map_holds_every_territory_as_geojson_and_every_site(
    client: TestClient, actors: Actors
) -> None:
    response = client.get("/v1/scenario/map", headers=actors.operator())
    assert response.status_code == 200, response.text
    body = response.json()
    territories = body["territories"]
    assert territories["type"] == "FeatureCollection"
    features = territories["features"]
    assert len(features) == 12
    for feature in features:
        assert feature["type"] == "Feature"
        assert set(feature["properties"]) == {"party", "name"}
        geometry = feature["geometry"]
        assert geometry["type"] in GEOMETRY_TYPES, geometry["type"]
        rings = (
            geometry["coordinates"]
            if geometry["type"] == "Polygon"
            else [ring for polygon in geometry["coordinates"] for ring in polygon]
        )
        for ring in rings:
            assert len(ring) >= 4  # a closed linear ring
            assert ring[0] == ring[-1]
            assert all(-180 <= lng <= 180 and -90 <= lat <= 90 for lng, lat in ring)
    assert {f["properties"]["party"] for f in features} >= {"NE", "ML"}
    sites = body["sites"]
    assert len(sites) == 2
    for s in sites:
        assert set(s) == {"id", "name", "lat", "lng"}
    assert client.get("/v1/scenario/map", headers=actors.operator()).json() == body  # cached


def test_the_map_holds_the_named_areas_and_a_requests_vocabulary(
    client: TestClient, actors: Actors
) -> None:
    body = client.get("/v1/scenario/map", headers=actors.operator()).json()
    areas = body["areas"]["features"]
    assert areas
    assert all(f["geometry"]["type"] in GEOMETRY_TYPES for f in areas)
    assert all(set(f["properties"]) == {"id", "name"} for f in areas)
    assert "US-MQ9-1" in {a["id"] for a in body["aircraft"]}
    assert body["payloads"] == ["armed", "unarmed"]
    assert "armed-overwatch" in {p["id"] for p in body["purposes"]}
