"""The real ``clearance evaluate`` command, run in a subprocess, on broken input.

Every broken request or scenario must end with exit code 2 and exactly one line on
stderr: ``error: <file>: <field path>: <rule>``, never a traceback. Each case starts
from a valid document (or a copy of the Niger scenario) and breaks one thing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "examples" / "niger"
VALID_REQUEST = SCENARIO / "requests" / "01-us-isr-ouallam.yaml"

Doc = dict[str, Any]
Mutation = Callable[[Doc], None]


# -- helpers ---------------------------------------------------------------------------


def run_cli(*args: object, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CLEARANCE_DEBUG"}
    return subprocess.run(
        [sys.executable, "-m", "clearance.cli", *(str(a) for a in args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
        check=False,
    )


def evaluate(
    request: Path, tmp_path: Path, scenario: Path = SCENARIO, *extra: str
) -> subprocess.CompletedProcess[str]:
    return run_cli("evaluate", request, "--scenario", scenario, *extra, cwd=tmp_path)


def valid_document() -> Doc:
    doc = yaml.safe_load(VALID_REQUEST.read_text(encoding="utf-8"))
    assert isinstance(doc, dict)
    return doc


def write_yaml(doc: object, path: Path) -> Path:
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def error_line(result: subprocess.CompletedProcess[str], file: Path) -> str:
    """The single stderr line of a rejected input, after the common checks."""
    assert "Traceback" not in result.stderr
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert result.stderr == lines[0] + "\n"
    line = lines[0]
    assert line.startswith("error: ")
    assert file.name in line
    return line


def volume0(doc: Doc) -> Doc:
    v: Doc = doc["volumes"][0]
    return v


def outline(doc: Doc) -> Doc:
    o: Doc = volume0(doc)["volume"]
    return o


def circle(doc: Doc) -> Doc:
    c: Doc = outline(doc)["outline_circle"]
    return c


def set_polygon(doc: Doc, vertices: list[tuple[float, float]]) -> None:
    o = outline(doc)
    del o["outline_circle"]
    o["outline_polygon"] = {"vertices": [{"lat": lat, "lng": lng} for lat, lng in vertices]}


def setter(*path: str | int, value: object) -> Mutation:
    """A mutation that sets ``doc[path...] = value``."""

    def mutate(doc: Doc) -> None:
        target: Any = doc
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return mutate


def deleter(*path: str | int) -> Mutation:
    def mutate(doc: Doc) -> None:
        target: Any = doc
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return mutate


V = ("volumes", 0)
VOL = (*V, "volume")
CENTER = (*VOL, "outline_circle", "center")
RADIUS = (*VOL, "outline_circle", "radius")
SQUARE = [(14.0, 2.0), (14.0, 2.5), (14.5, 2.5), (14.5, 2.0)]


def _both_outlines(doc: Doc) -> None:
    outline(doc)["outline_polygon"] = {"vertices": [{"lat": a, "lng": b} for a, b in SQUARE]}


def _time_end_equals_start(doc: Doc) -> None:
    volume0(doc)["time_end"]["value"] = volume0(doc)["time_start"]["value"]


def _time_end_before_start(doc: Doc) -> None:
    volume0(doc)["time_end"]["value"] = "2017-11-21T05:59:59Z"


def _lower_above_upper(doc: Doc) -> None:
    outline(doc)["altitude_lower"]["value"] = 5000
    outline(doc)["altitude_upper"]["value"] = 4999


def _polygon(vertices: list[tuple[float, float]]) -> Mutation:
    return lambda doc: set_polygon(doc, vertices)


# (mutation, field path, a word of the rule)
REQUEST_CASES = [
    pytest.param(
        setter("operator", value="XX.Nobody"), "operator", "unknown", id="unknown-operator"
    ),
    pytest.param(setter("aircraft", value="XX-1"), "aircraft", "unknown", id="unknown-aircraft"),
    pytest.param(
        setter("launch_site", value="atlantis"), "launch_site", "unknown", id="unknown-launch-site"
    ),
    pytest.param(setter("purpose", value="tourism"), "purpose", "one of", id="unknown-purpose"),
    pytest.param(setter("payload", value="lethal"), "payload", "one of", id="payload-not-armed"),
    pytest.param(
        setter(*CENTER, "lat", value=91),
        "volumes[0].volume.outline_circle.center.lat",
        "latitude",
        id="latitude-91",
    ),
    pytest.param(
        setter(*CENTER, "lat", value=-90.5),
        "volumes[0].volume.outline_circle.center.lat",
        "latitude",
        id="latitude-minus-90.5",
    ),
    pytest.param(
        setter(*CENTER, "lng", value=181),
        "volumes[0].volume.outline_circle.center.lng",
        "longitude",
        id="longitude-181",
    ),
    pytest.param(_time_end_equals_start, "volumes[0].time_end", "after", id="time-end-equal"),
    pytest.param(_time_end_before_start, "volumes[0].time_end", "after", id="time-end-before"),
    pytest.param(
        _polygon(SQUARE[:2]),
        "volumes[0].volume.outline_polygon.vertices",
        "at least 3",
        id="polygon-two-vertices",
    ),
    pytest.param(
        _polygon([(14.0, 2.0), (14.5, 2.5), (14.0, 2.5), (14.5, 2.0)]),
        "volumes[0].volume.outline_polygon.vertices",
        "cross",
        id="polygon-bow-tie",
    ),
    pytest.param(
        _polygon([*SQUARE, SQUARE[0]]),
        "volumes[0].volume.outline_polygon.vertices",
        "repeat",
        id="polygon-closed",
    ),
    pytest.param(
        setter(*RADIUS, "value", value=0),
        "volumes[0].volume.outline_circle.radius.value",
        "greater than 0",
        id="radius-0",
    ),
    pytest.param(
        setter(*RADIUS, "value", value=-5),
        "volumes[0].volume.outline_circle.radius.value",
        "greater than 0",
        id="radius-minus-5",
    ),
    pytest.param(
        _lower_above_upper,
        "volumes[0].volume.altitude_lower",
        "altitude_upper",
        id="lower-above-upper",
    ),
    pytest.param(
        setter(*RADIUS, "units", value="FT"),
        "volumes[0].volume.outline_circle.radius.units",
        "'M'",
        id="radius-units-ft",
    ),
    pytest.param(
        setter(*VOL, "altitude_upper", "units", value="FT"),
        "volumes[0].volume.altitude_upper.units",
        "'M'",
        id="altitude-units-ft",
    ),
    pytest.param(
        setter(*VOL, "altitude_lower", "reference", value="AGL"),
        "volumes[0].volume.altitude_lower.reference",
        "'W84'",
        id="altitude-reference-agl",
    ),
    pytest.param(
        setter(*V, "time_start", "format", value="ISO8601"),
        "volumes[0].time_start.format",
        "RFC3339",
        id="time-format-not-rfc3339",
    ),
    pytest.param(
        setter(*V, "time_start", "value", value="yesterday"),
        "volumes[0].time_start.value",
        "RFC 3339",
        id="time-yesterday",
    ),
    pytest.param(
        setter(*V, "time_start", "value", value="2017-11-21T06:00:00"),
        "volumes[0].time_start.value",
        "offset",
        id="time-without-offset",
    ),
    pytest.param(
        # dumped unquoted, so YAML itself reads it as a naive timestamp
        setter(*V, "time_start", "value", value=datetime(2017, 11, 21, 6, 0, 0)),
        "volumes[0].time_start.value",
        "offset",
        id="yaml-timestamp-without-offset",
    ),
    pytest.param(_both_outlines, "volumes[0].volume", "exactly one", id="both-outlines"),
    pytest.param(
        deleter(*VOL, "outline_circle"), "volumes[0].volume", "exactly one", id="no-outline"
    ),
    pytest.param(deleter("volumes"), "volumes", "required", id="missing-volumes"),
    pytest.param(setter("volumes", value=[]), "volumes", "at least one", id="empty-volumes"),
    pytest.param(setter("colour", value="red"), "colour", "unknown field", id="extra-field"),
    pytest.param(
        setter(*CENTER, "colour", value="red"),
        "volumes[0].volume.outline_circle.center.colour",
        "unknown field",
        id="extra-nested-field",
    ),
    pytest.param(
        setter(*RADIUS, "value", value="25000"),
        "volumes[0].volume.outline_circle.radius.value",
        "number",
        id="string-for-number",
    ),
    pytest.param(
        setter(*VOL, "altitude_lower", "value", value=True),
        "volumes[0].volume.altitude_lower.value",
        "number",
        id="boolean-for-number",
    ),
    pytest.param(setter("justification", value=None), "justification", "required", id="null"),
    pytest.param(setter("volumes", value={"a": 1}), "volumes", "list", id="volumes-mapping"),
    pytest.param(setter("volumes", value=["x"]), "volumes[0]", "mapping", id="volume-string"),
]


# -- request documents -------------------------------------------------------------------


@pytest.mark.parametrize(("mutate", "field", "rule"), REQUEST_CASES)
def test_rejects_broken_request_with_one_line_naming_file_field_and_rule(
    tmp_path: Path, mutate: Mutation, field: str, rule: str
) -> None:
    doc = valid_document()
    mutate(doc)
    request = write_yaml(doc, tmp_path / "broken-request.yaml")

    line = error_line(evaluate(request, tmp_path), request)

    assert f": {field}: " in line
    assert rule in line.split(f": {field}: ", 1)[1]


@pytest.mark.parametrize(
    ("mutate", "field", "rule"),
    [
        pytest.param(
            setter(*CENTER, "lat", value=91),
            "volumes[0].volume.outline_circle.center.lat",
            "latitude",
            id="latitude-91",
        ),
        pytest.param(
            setter(*RADIUS, "value", value=float("nan")),
            "volumes[0].volume.outline_circle.radius.value",
            "finite",
            id="radius-NaN",
        ),
    ],
)
def test_rejects_broken_json_request_the_same_way(
    tmp_path: Path, mutate: Mutation, field: str, rule: str
) -> None:
    doc = valid_document()
    mutate(doc)
    request = tmp_path / "broken-request.json"
    request.write_text(json.dumps(doc, indent=2), encoding="utf-8")

    line = error_line(evaluate(request, tmp_path), request)

    assert f": {field}: " in line
    assert rule in line


def test_rejects_request_that_is_not_a_mapping(tmp_path: Path) -> None:
    request = write_yaml([valid_document()], tmp_path / "list.yaml")

    line = error_line(evaluate(request, tmp_path), request)

    assert line.endswith("must be a mapping, not a list")


def _replace_line(text: str, startswith: str, new: str) -> tuple[str, int]:
    """``text`` with its line starting ``startswith`` replaced, and that line's number."""
    lines = text.splitlines()
    index = next(i for i, line in enumerate(lines) if line.startswith(startswith))
    lines[index] = new
    return "\n".join(lines) + "\n", index + 1


@pytest.mark.parametrize(
    ("startswith", "broken"),
    [
        pytest.param("launch_site:", "launch_site: [unclosed }", id="unclosed-flow-sequence"),
        pytest.param("payload:", "payload: unarmed: oops", id="mapping-value-in-scalar"),
    ],
)
def test_rejects_malformed_yaml_naming_the_line(
    tmp_path: Path, startswith: str, broken: str
) -> None:
    text, number = _replace_line(VALID_REQUEST.read_text(encoding="utf-8"), startswith, broken)
    assert number > 1  # so that "line 1" could not pass by accident
    request = tmp_path / "malformed.yaml"
    request.write_text(text, encoding="utf-8")

    line = error_line(evaluate(request, tmp_path), request)

    assert "malformed YAML" in line
    assert re.search(rf"\bline {number}\b", line), line


def test_rejects_unclosed_bracket_on_first_line_naming_where_yaml_noticed(tmp_path: Path) -> None:
    text, _ = _replace_line(
        VALID_REQUEST.read_text(encoding="utf-8"), "operator:", "operator: [unclosed"
    )
    # put the broken line first: YAML notices the missing ']' at the next ':' (line 2)
    lines = [x for x in text.splitlines() if not x.startswith("#")]
    request = tmp_path / "unclosed.yaml"
    request.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert lines[0] == "operator: [unclosed"

    line = error_line(evaluate(request, tmp_path), request)

    assert "malformed YAML" in line
    assert re.search(r"\bline [12]\b", line), line


def test_rejects_malformed_json_naming_the_line(tmp_path: Path) -> None:
    text = json.dumps(valid_document(), indent=2)
    text, number = _replace_line(text, '  "payload":', '  "payload": unarmed,')
    assert number > 1
    request = tmp_path / "malformed.json"
    request.write_text(text, encoding="utf-8")

    line = error_line(evaluate(request, tmp_path), request)

    assert "malformed JSON" in line
    assert re.search(rf"\bline {number}\b", line), line


def test_rejects_a_path_that_does_not_exist(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-request.yaml"

    line = error_line(evaluate(missing, tmp_path), missing)

    assert "no such file" in line


def test_rejects_a_directory_with_no_request_files(tmp_path: Path) -> None:
    folder = tmp_path / "requests"
    folder.mkdir()
    (folder / "README.txt").write_text("not a request\n", encoding="utf-8")

    line = error_line(evaluate(folder, tmp_path), folder)

    assert "no .yaml" in line


def test_rejects_a_batch_when_its_second_file_is_bad_and_evaluates_nothing(tmp_path: Path) -> None:
    good = write_yaml(valid_document(), tmp_path / "a-good.yaml")
    doc = valid_document()
    doc["payload"] = "lethal"
    bad = write_yaml(doc, tmp_path / "b-bad.yaml")

    result = run_cli("evaluate", good, bad, "--scenario", SCENARIO, "--json", cwd=tmp_path)

    line = error_line(result, bad)
    assert good.name not in line
    assert ": payload: " in line


# -- valid input ---------------------------------------------------------------------------


def test_valid_request_is_evaluated_with_exit_0_and_parsable_json(tmp_path: Path) -> None:
    request = write_yaml(valid_document(), tmp_path / "valid.yaml")

    result = evaluate(request, tmp_path, SCENARIO, "--json")

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    view = json.loads(result.stdout)
    assert isinstance(view, dict)
    assert {"outcome", "approvals", "violations"} <= view.keys()
    assert view["outcome"] == "cleared"
    assert view["request"] == str(request)


def test_valid_json_request_is_evaluated_like_its_yaml(tmp_path: Path) -> None:
    request = tmp_path / "valid.json"
    request.write_text(json.dumps(valid_document()), encoding="utf-8")

    result = evaluate(request, tmp_path, SCENARIO, "--json")

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["outcome"] == "cleared"


def test_check_is_an_alias_of_evaluate_and_answers_the_same(tmp_path: Path) -> None:
    """``clearance check``, the command's earlier name, still works and says the same."""
    request = write_yaml(valid_document(), tmp_path / "valid.yaml")

    evaluated = run_cli("evaluate", request, "--scenario", SCENARIO, "--json", cwd=tmp_path)
    checked = run_cli("check", request, "--scenario", SCENARIO, "--json", cwd=tmp_path)

    assert evaluated.returncode == checked.returncode == 0, checked.stderr
    assert json.loads(checked.stdout) == json.loads(evaluated.stdout)
    assert json.loads(evaluated.stdout)["outcome"] == "cleared"


def test_two_valid_requests_give_a_json_array_of_two(tmp_path: Path) -> None:
    first = write_yaml(valid_document(), tmp_path / "first.yaml")
    doc = valid_document()
    doc["payload"] = "armed"
    second = write_yaml(doc, tmp_path / "second.yaml")

    result = run_cli("evaluate", first, second, "--scenario", SCENARIO, "--json", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    views = json.loads(result.stdout)
    assert isinstance(views, list)
    assert len(views) == 2
    assert [v["request"] for v in views] == [str(first), str(second)]
    for v in views:
        assert {"outcome", "approvals", "violations"} <= v.keys()


def test_valid_request_without_json_prints_a_table(tmp_path: Path) -> None:
    result = evaluate(VALID_REQUEST, tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert "cleared" in result.stdout
    assert VALID_REQUEST.name in result.stdout


# -- scenario directories --------------------------------------------------------------------


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _unknown_party_in_authority(s: Path) -> None:
    _edit(s / "scenario.yaml", "US.State: {party: US,", "US.State: {party: XX,")


def _cedar_syntax_error(s: Path) -> None:
    _edit(
        s / "policies" / "US.DoD.cedar",
        'permit (principal in Party::"US", action == Action::"refer"',
        'permit (principal in Party::"US" action == Action::"refer"',
    )


def _unknown_context_attribute(s: Path) -> None:
    _edit(s / "policies" / "US.DoD.cedar", 'context.purpose == "isr"', 'context.colour == "isr"')


def _resource_of_another_authority(s: Path) -> None:
    _edit(
        s / "policies" / "US.DoD.cedar",
        'action == Action::"refer", resource == Authority::"US.DoD"',
        'action == Action::"refer", resource == Authority::"NE.PM"',
    )


def _missing_policy_file(s: Path) -> None:
    (s / "policies" / "NE.PM.cedar").unlink()


def _self_intersecting_territory(s: Path) -> None:
    path = s / "territories.geojson"
    collection = json.loads(path.read_text(encoding="utf-8"))
    collection["features"][3]["geometry"] = {
        "type": "Polygon",
        "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]],
    }
    path.write_text(json.dumps(collection), encoding="utf-8")


def _unknown_grantee(s: Path) -> None:
    _edit(s / "scenario.yaml", "grantee: FR.Barkhane", "grantee: XX.Nobody")


def _policy_file_for_unknown_authority(s: Path) -> None:
    shutil.copy(s / "policies" / "NE.PM.cedar", s / "policies" / "XX.Nobody.cedar")


# (break, file that must be named, fragments of the message)
SCENARIO_CASES = [
    pytest.param(
        _unknown_party_in_authority,
        "scenario.yaml",
        ("authorities.US.State.party", "unknown party"),
        id="unknown-party-in-authority",
    ),
    pytest.param(
        _cedar_syntax_error, "US.DoD.cedar", ("Cedar syntax error",), id="cedar-syntax-error"
    ),
    pytest.param(
        _unknown_context_attribute,
        "US.DoD.cedar",
        ("policy dod-unarmed-isr", "schema", "colour"),
        id="unknown-context-attribute",
    ),
    pytest.param(
        _resource_of_another_authority,
        "US.DoD.cedar",
        ("policy dod-review", 'resource must be Authority::"US.DoD"'),
        id="resource-is-another-authority",
    ),
    pytest.param(
        _missing_policy_file, "NE.PM.cedar", ("missing policy file",), id="missing-policy-file"
    ),
    pytest.param(
        _self_intersecting_territory,
        "territories.geojson",
        ("features[3].geometry", "Self-intersection"),
        id="self-intersecting-territory",
    ),
    pytest.param(
        _unknown_grantee,
        "scenario.yaml",
        ("grants[1].grantee", "unknown id 'XX.Nobody'"),
        id="unknown-grantee",
    ),
    pytest.param(
        _policy_file_for_unknown_authority,
        "policies",
        ("unknown authority", "XX.Nobody.cedar"),
        id="policy-file-for-unknown-authority",
    ),
]


@pytest.mark.parametrize(("breakage", "file", "fragments"), SCENARIO_CASES)
def test_rejects_broken_scenario_with_one_line_naming_the_file(
    tmp_path: Path, breakage: Callable[[Path], None], file: str, fragments: tuple[str, ...]
) -> None:
    scenario = tmp_path / "niger"
    shutil.copytree(SCENARIO, scenario)
    breakage(scenario)

    line = error_line(evaluate(VALID_REQUEST, tmp_path, scenario), Path(file))

    assert str(scenario) in line
    for fragment in fragments:
        assert fragment in line


def test_rejects_a_scenario_path_that_is_not_a_directory(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-scenario"

    line = error_line(evaluate(VALID_REQUEST, tmp_path, missing), missing)

    assert "must be a directory" in line


def test_unbroken_copy_of_the_scenario_loads_and_clears_the_request(tmp_path: Path) -> None:
    """The untouched copy of the scenario loads, so each case above fails for its break."""
    scenario = tmp_path / "niger"
    shutil.copytree(SCENARIO, scenario)

    result = evaluate(VALID_REQUEST, tmp_path, scenario, "--json")

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["outcome"] == "cleared"
