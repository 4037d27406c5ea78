"""The timeline format: every error names the file, the step and the field."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from clearance import bootstrap
from clearance.adapters.timeline_files import read_timeline
from clearance.config import Settings
from clearance.domain.clearance.timeline import moved, parse_timeline
from clearance.domain.errors import TimelineError
from clearance.service.replay import ScriptClock

AT = "2017-10-02T09:00:00Z"


def submit(ref: str = "a", at: str = AT) -> dict[str, Any]:
    return {"at": at, "submit": {"ref": ref, "request": "01-us-isr-ouallam"}}


def error(data: object) -> TimelineError:
    with pytest.raises(TimelineError) as raised:
        parse_timeline(data, "t.yaml")
    return raised.value


def test_a_timeline_reads_its_steps_in_order_with_their_planner() -> None:
    timeline = parse_timeline(
        {
            "planners": {"US.AFRICOM": "planner-1"},
            "steps": [
                {**submit(), "illustrative": True, "note": "n"},
                {
                    "at": "2017-10-03T09:00:00Z",
                    "decide": {
                        "ref": "a",
                        "authority": "US.DoD",
                        "as": "dod",
                        "decision": "deny",
                        "comment": "no",
                    },
                },
                {"at": "2017-10-03T09:00:00Z", "withdraw": {"ref": "a"}},
            ],
        },
        "t.yaml",
    )
    assert [s.action for s in timeline.steps] == ["submit", "decide", "withdraw"]
    assert timeline.steps[0].illustrative
    assert timeline.steps[0].note == "n"
    assert timeline.steps[1].by == "dod"
    assert timeline.steps[1].decision == "deny"
    assert timeline.start == datetime(2017, 10, 2, 9, tzinfo=UTC)
    assert timeline.end == datetime(2017, 10, 3, 9, tzinfo=UTC)
    assert timeline.planner("US.AFRICOM") == "planner-1"
    assert timeline.planner("FR.Barkhane") == "barkhane-planner"
    assert timeline.references() == {"01-us-isr-ouallam"}


@pytest.mark.parametrize(
    ("steps", "field", "rule"),
    [
        ([submit(), submit("b", "2017-10-01T00:00:00Z")], "steps[1].at", "time order"),
        ([submit(), submit()], "steps[1].submit.ref", "submitted twice"),
        ([{"at": AT, "withdraw": {"ref": "x"}}], "steps[0].withdraw.ref", "not submitted above"),
        ([{"at": AT}], "steps[0]", "exactly one action"),
        ([{**submit(), "withdraw": {"ref": "a"}}], "steps[0]", "exactly one action"),
        ([{"at": "yesterday", "submit": {"ref": "a", "request": "r"}}], "steps[0].at", "RFC 3339"),
        ([{"at": AT, "submit": {"ref": "a"}}], "steps[0].submit.request", "required"),
        ([{"at": AT, "submit": {"ref": "a", "request": "r", "x": 1}}], "steps[0].submit.x", "unknown"),
        (
            [submit(), {"at": AT, "decide": {"ref": "a", "authority": "US.DoD", "as": "d", "decision": "maybe"}}],
            "steps[1].decide.decision",
            "one of approve, deny",
        ),
        (
            [submit(), {"at": AT, "decide": {"ref": "a", "authority": "US.DoD", "decision": "deny"}}],
            "steps[1].decide.as",
            "required",
        ),
        (
            [submit(), {"at": AT, "decide": {"ref": "a", "authority": "US.DoD", "as": "d", "decision": "approve", "conditions": "x"}}],
            "steps[1].decide.conditions",
            "mapping",
        ),
    ],
)  # fmt: skip
def test_a_bad_step_is_named_by_file_step_and_field(
    steps: list[dict[str, Any]], field: str, rule: str
) -> None:
    e = error({"steps": steps})
    assert e.source == "t.yaml"
    assert e.field == field
    assert rule in e.rule


def test_a_timeline_without_steps_or_of_another_shape_is_refused() -> None:
    assert error({"steps": []}).field == "steps"
    assert error({"steps": "x"}).field == "steps"
    assert error([1]).field == ""
    assert error({"steps": [submit()], "stepz": 1}).field == "stepz"
    assert error({"planners": {"US.AFRICOM": 3}, "steps": [submit()]}).field == (
        "planners.US.AFRICOM"
    )


def test_moved_shifts_every_volume_by_one_amount() -> None:
    document = {
        "volumes": [
            {
                "time_start": {"value": "2017-11-21T06:00:00Z"},
                "time_end": {"value": "2017-11-21T12:00:00Z"},
            },
            {
                "time_start": {"value": "2017-11-21T10:00:00Z"},
                "time_end": {"value": "2017-11-22T00:00:00Z"},
            },
        ]
    }
    out = moved(document, datetime(2017, 10, 4, 5, tzinfo=UTC))
    assert [(v["time_start"]["value"], v["time_end"]["value"]) for v in out["volumes"]] == [
        ("2017-10-04T05:00:00Z", "2017-10-04T11:00:00Z"),
        ("2017-10-04T09:00:00Z", "2017-10-04T23:00:00Z"),
    ]
    assert document["volumes"][0]["time_start"]["value"] == "2017-11-21T06:00:00Z"  # a copy


def test_moved_leaves_a_document_without_readable_times_to_its_validation() -> None:
    document = {"volumes": [{"time_start": {"value": "soon"}}]}
    assert moved(document, datetime(2017, 10, 4, tzinfo=UTC)) == document


def read_error(path: Path, scenario: Path | None = None) -> TimelineError:
    with pytest.raises(TimelineError) as raised:
        read_timeline(path, scenario)
    return raised.value


def test_a_timeline_file_that_cannot_be_read_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "none.yaml"
    assert read_error(missing).source == str(missing)
    broken = tmp_path / "broken.yaml"
    broken.write_text("steps: [\n", encoding="utf-8")
    assert "malformed YAML" in read_error(broken).rule
    assert read_error(tmp_path).rule.startswith("is a directory")


def test_what_a_timeline_names_on_disk_must_be_there(tmp_path: Path) -> None:
    scenario = tmp_path / "scenario"
    (scenario / "requests").mkdir(parents=True)
    (scenario / "requests" / "bad.yaml").write_text("operator: [\n", encoding="utf-8")
    path = tmp_path / "t.yaml"
    path.write_text(
        f"scenario: {scenario}\n"
        "steps:\n"
        f"  - {{at: {AT}, submit: {{ref: a, request: bad}}}}\n"
        f"  - {{at: {AT}, submit: {{ref: b, request: ../t}}}}\n",
        encoding="utf-8",
    )
    e = read_error(path)
    assert (e.source, e.field) == (str(path), "steps[0].submit.request")
    assert "malformed YAML" in e.rule
    (scenario / "requests" / "bad.yaml").write_text("operator: x\n", encoding="utf-8")
    e = read_error(path)
    assert (e.field, e.rule) == (
        "steps[1].submit.request",
        f"no example request '../t' in {scenario / 'requests'}",
    )
    e = read_error(path, tmp_path / "nowhere")
    assert e.field == "--scenario"
    path.write_text(f"scenario: nowhere\nsteps: [{{at: {AT}, withdraw: {{ref: a}}}}]\n", "utf-8")
    assert read_error(path).field == "steps[0].withdraw.ref"
    path.write_text(
        f"scenario: nowhere\nsteps: [{{at: {AT}, submit: {{ref: a, request: x}}}}]\n", "utf-8"
    )
    assert read_error(path).field == "scenario"


def test_the_demo_clock_goes_on_from_the_timelines_end_unless_pinned() -> None:
    timeline = parse_timeline({"steps": [submit()]}, "t.yaml")
    settings = Settings(database_url="sqlite://", now=None)
    hour_ago = datetime.now(UTC) - timedelta(hours=1)
    clock = bootstrap.demo_clock(timeline, settings, hour_ago)
    assert clock.rate == 1.0
    elapsed = clock.now() - timeline.end
    assert timedelta(hours=1) <= elapsed < timedelta(hours=2)  # the replay ran an hour ago
    pinned_at = datetime(2017, 11, 21, tzinfo=UTC)
    pinned = bootstrap.demo_clock(timeline, replace(settings, now=pinned_at), hour_ago)
    assert pinned.now() == pinned_at
    assert pinned.rate == 0.0


def test_a_script_clock_never_goes_back() -> None:
    clock = ScriptClock(datetime(2017, 10, 2, tzinfo=UTC))
    clock.set(datetime(2017, 10, 3, tzinfo=UTC))
    assert clock.now() == datetime(2017, 10, 3, tzinfo=UTC)
    with pytest.raises(ValueError, match="does not go back"):
        clock.set(datetime(2017, 10, 2, tzinfo=UTC))
