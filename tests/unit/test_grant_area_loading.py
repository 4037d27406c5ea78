"""A grant may carry its own area, written inline as a GeoJSON geometry (what ``clearance
grant suggest`` proposes): the loader names the area after the grant."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from clearance.adapters.scenario_loader import load_scenario
from clearance.domain.errors import ScenarioError

NIGER = Path(__file__).parents[2] / "examples" / "niger"
SQUARE = {"type": "Polygon", "coordinates": [[[2, 13], [3, 13], [3, 14], [2, 14], [2, 13]]]}


def with_grant(tmp_path: Path, **fields: Any) -> Path:
    target = tmp_path / "niger"
    shutil.copytree(NIGER, target)
    main = yaml.safe_load((target / "scenario.yaml").read_text("utf-8"))
    grant = {
        "id": "ne-us-overwatch",
        "grantor": "NE.Defense",
        "grantee": "US.AFRICOM",
        "purposes": ["armed-overwatch"],
        "payloads": ["armed"],
        "area": SQUARE,
        "valid_from": "2017-01-01T00:00:00Z",
    }
    main["grants"].append(grant | fields)
    (target / "scenario.yaml").write_text(yaml.safe_dump(main), "utf-8")
    return target


def test_a_grant_with_an_inline_area_names_it_after_itself(tmp_path: Path) -> None:
    scenario = load_scenario(with_grant(tmp_path))
    grant = scenario.grants["ne-us-overwatch"]
    assert grant.area == "ne-us-overwatch"
    assert scenario.area_geometry(grant.area).bounds == (2.0, 13.0, 3.0, 14.0)


@pytest.mark.parametrize(
    ("fields", "field", "rule"),
    [
        ({"area": {"type": "Point", "coordinates": [2, 13]}}, "grants[2].area", "Polygon"),
        ({"area": {"type": "Polygon"}}, "grants[2].area", "not a GeoJSON geometry"),
        (
            {
                "area": {
                    "type": "Polygon",
                    "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]],
                }
            },
            "grants[2].area",
            "invalid geometry",
        ),
        ({"id": "tillaberi-border-zone"}, "grants[2].id", "already named"),
        ({"id": "NE"}, "grants[2].id", "already named"),
    ],
)
def test_a_bad_inline_area_is_refused_naming_the_field(
    tmp_path: Path, fields: dict[str, Any], field: str, rule: str
) -> None:
    with pytest.raises(ScenarioError, match=rule) as caught:
        load_scenario(with_grant(tmp_path, **fields))
    assert field in str(caught.value)
