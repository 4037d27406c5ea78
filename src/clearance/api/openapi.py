"""The OpenAPI document: FastAPI's, completed with what it cannot infer.

Request bodies are read by the domain, not by FastAPI, so their schemas (``schemas.py``)
are added here as components; the ids a request names become enums of the scenario the
service runs; and FastAPI's default 422 (its own ``HTTPValidationError``) is replaced by
the problem this service answers with.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from pydantic.json_schema import models_json_schema

from clearance.api.problems import PROBLEM_JSON
from clearance.api.schemas import INPUTS
from clearance.domain.clearance.scenario import Scenario

REF = "#/components/schemas/{model}"


def ref(model: str) -> dict[str, str]:
    return {"$ref": REF.format(model=model)}


def input_schemas(scenario: Scenario) -> dict[str, Any]:
    """The components for request bodies and problems, with the scenario's ids."""
    _, top = models_json_schema([(m, "validation") for m in INPUTS], ref_template=REF)
    defs: dict[str, Any] = top["$defs"]
    document = defs["RequestDocument"]["properties"]
    for key, known in (
        ("operator", scenario.operators),
        ("aircraft", scenario.aircraft),
        ("purpose", scenario.purposes),
        ("launch_site", scenario.sites),
    ):
        document[key].pop("pattern", None)
        document[key]["enum"] = sorted(known)
    # What a filed request may ask for, where the scenario sets limits (domain.limits):
    # the bounds JSON Schema can state; windows, spans and areas are the domain's.
    limits = getattr(scenario, "limits", None)
    if limits is not None:
        value = defs["Altitude"]["properties"]["value"]
        value["minimum"], value["maximum"] = limits.min_altitude_m, limits.max_altitude_m
        document["volumes"]["maxItems"] = limits.max_volumes
    return defs


def install(app: FastAPI, scenario: Scenario) -> None:
    """Make ``app.openapi()`` return the completed document (built once)."""
    build: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components.update(input_schemas(scenario))
            for key in ("HTTPValidationError", "ValidationError"):
                components.pop(key, None)
            _problems_everywhere(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _problems_everywhere(schema: dict[str, Any]) -> None:
    """Every 4xx answer is a problem (FastAPI declares its own shape for 422)."""
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            for status, response in operation.get("responses", {}).items():
                if status.startswith("4"):
                    response["content"] = {PROBLEM_JSON: {"schema": ref("Problem")}}
