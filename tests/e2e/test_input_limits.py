"""Limits and duplicate keys, through the API (a 422 or 400 problem naming the field and
the limit) and the CLI (exit 2, one line naming file, field and rule)."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.e2e.conftest import Actors, assert_problem, document
from tests.e2e.test_cli_bad_input import SCENARIO, error_line, evaluate

JSON = {"Content-Type": "application/json"}
YAML = {"Content-Type": "application/yaml"}


def agadez(**volume_changes: Any) -> dict[str, Any]:
    doc = document("05")
    v = doc["volumes"][0]
    for key, value in volume_changes.items():
        if key.startswith("altitude"):
            v["volume"][key]["value"] = value
        else:
            v[key]["value"] = value
    return doc


@pytest.mark.parametrize("path", ["/v1/requests", "/v1/evaluations"])
@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        (
            {"altitude_upper": 1e9},
            "volumes[0].volume.altitude_upper.value",
            "limits.max_altitude_m",
        ),
        ({"altitude_lower": -1e9}, "volumes[0].volume.altitude_lower.value", "-500..20000 m"),
        (
            {"time_start": "2030-01-01T00:00:00Z", "time_end": "2130-01-01T00:00:00Z"},
            "volumes[0].time_end",
            "limits.max_volume_hours",
        ),
        (
            {"time_start": "9999-12-31T00:00:00Z", "time_end": "9999-12-31T10:00:00Z"},
            "volumes[0].time_start",
            "at most 3650 days ahead (limits.max_days_ahead)",
        ),
    ],
)
def test_the_api_refuses_what_the_limits_forbid(
    client: TestClient,
    actors: Actors,
    path: str,
    changes: dict[str, Any],
    field: str,
    words: str,
) -> None:
    response = client.post(path, json=agadez(**changes), headers=actors.operator())
    body = assert_problem(response, 422, field=field, source="body")
    assert words in body["detail"]


def test_the_api_refuses_a_document_of_thousands_of_volumes_at_once(
    client: TestClient, actors: Actors
) -> None:
    doc = document("05")
    doc["volumes"] = doc["volumes"] * 2600
    started = time.perf_counter()
    response = client.post("/v1/evaluations", json=doc, headers=actors.operator())
    elapsed = time.perf_counter() - started
    body = assert_problem(response, 422, field="volumes")
    assert "at most 100 volumes per request (limits.max_volumes); got 2600" in body["detail"]
    print(f"2,600 volumes refused in {elapsed * 1000:.0f} ms")


def test_the_api_refuses_a_request_spanning_months(client: TestClient, actors: Actors) -> None:
    doc = document("05")
    second = json.loads(json.dumps(doc["volumes"][0]))
    second["time_start"]["value"] = "2020-05-02T04:00:00Z"
    second["time_end"]["value"] = "2020-05-02T16:00:00Z"
    doc["volumes"].append(second)
    response = client.post("/v1/requests", json=doc, headers=actors.operator())
    body = assert_problem(response, 422, field="volumes")
    assert "limits.max_span_days" in body["detail"]


@pytest.mark.parametrize("path", ["/v1/requests", "/v1/evaluations"])
def test_the_api_refuses_a_repeated_json_key(client: TestClient, actors: Actors, path: str) -> None:
    text = json.dumps(document("05"))
    twice = text.replace('"payload": "armed"', '"payload": "unarmed", "payload": "armed"')
    assert twice != text
    response = client.post(path, content=twice.encode(), headers=actors.operator() | JSON)
    body = assert_problem(response, 400, source="body")
    assert "'payload' appears twice" in body["detail"]


def test_the_api_refuses_a_repeated_yaml_key(client: TestClient, actors: Actors) -> None:
    text = (SCENARIO / "requests" / "05-us-armed-overwatch-agadez-2020.yaml").read_text()
    twice = text.replace("payload: armed\n", "payload: unarmed\npayload: armed\n")
    assert twice != text
    response = client.post("/v1/requests", content=twice.encode(), headers=actors.operator() | YAML)
    body = assert_problem(response, 400, source="body")
    assert "'payload' appears twice" in body["detail"]
    assert "line" in body["detail"]


def test_the_api_refuses_deep_yaml_at_once(client: TestClient, actors: Actors) -> None:
    deep = b"a:\n" + b"".join(b" " * i + b"b:\n" for i in range(1, 1400))
    started = time.perf_counter()
    response = client.post("/v1/requests", content=deep, headers=actors.operator() | YAML)
    elapsed = time.perf_counter() - started
    body = assert_problem(response, 400, source="body")
    # refused where the parser reached level 33, not after building 1,400 levels
    assert "at line 32, column 32: nests deeper than 32 levels" in body["detail"]
    print(f"1,400-deep YAML ({len(deep):,} bytes) refused in {elapsed * 1000:.0f} ms")


def test_the_cli_refuses_a_repeated_key_in_a_request_file(tmp_path: Path) -> None:
    for name, text in (
        ("twice.yaml", "operator: US.AFRICOM\noperator: FR.Barkhane\n"),
        ("twice.json", '{"operator": "US.AFRICOM", "operator": "FR.Barkhane"}'),
    ):
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        line = error_line(evaluate(path, tmp_path), path)
        assert "'operator' appears twice" in line


def test_the_cli_refuses_a_repeated_key_in_a_scenario_file(tmp_path: Path) -> None:
    scenario = tmp_path / "niger"
    shutil.copytree(SCENARIO, scenario)
    main = scenario / "scenario.yaml"
    main.write_text(main.read_text() + "\nname: again\n", encoding="utf-8")
    request = scenario / "requests" / "01-us-isr-ouallam.yaml"
    line = error_line(evaluate(request, tmp_path, scenario), main)
    assert "'name' appears twice" in line


def test_the_cli_refuses_a_request_beyond_the_limits(tmp_path: Path) -> None:
    text = (SCENARIO / "requests" / "01-us-isr-ouallam.yaml").read_text()
    path = tmp_path / "high.yaml"
    path.write_text(text.replace("{value: 4500,", "{value: 1000000000,"), encoding="utf-8")
    line = error_line(evaluate(path, tmp_path), path)
    assert "volumes[0].volume.altitude_upper.value" in line
    assert "limits.max_altitude_m" in line
