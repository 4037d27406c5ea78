"""``clearance replay`` as a user runs it: a table or JSON of time to clearance, and a bad
timeline named on one line (file, step, field) with exit 2 and nothing written."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import yaml

from tests.serverproc import CLEARANCE, ROOT

NIGER = ROOT / "examples" / "niger"
STEPS = [
    {"at": "2017-09-01T08:00:00Z",
     "submit": {"ref": "n1", "request": "13-us-isr-into-nigeria", "start": "2017-09-10T06:00:00Z"}},
    {"at": "2017-09-02T08:00:00Z",
     "decide": {"ref": "n1", "authority": "NE.Defense", "as": "ne-defense-staff",
                "decision": "approve"}},
    {"at": "2017-09-03T20:00:00Z",
     "decide": {"ref": "n1", "authority": "NG.Defense", "as": "ng-defense-staff",
                "decision": "approve"}},
]  # fmt: skip


def replay(*args: object, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLEARANCE, "replay", *map(str, args)],
        capture_output=True, text=True, timeout=300, check=False, cwd=cwd,
    )  # fmt: skip


def timeline(tmp_path: Path, steps: list[dict[str, object]]) -> Path:
    path = tmp_path / "timeline.yaml"
    path.write_text(yaml.safe_dump({"scenario": str(NIGER), "steps": steps}), "utf-8")
    return path


def test_replay_prints_time_to_clearance_as_json_and_as_tables(tmp_path: Path) -> None:
    path = timeline(tmp_path, STEPS)
    done = replay(path, "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    (request,) = out["requests"]
    assert request["state"] == "cleared"
    assert request["seconds_to_clearance"] == 60 * 3600.0  # 1 Sep 08:00 to 3 Sep 20:00
    waits = {a["authority"]: a for a in out["authorities"]}
    assert waits["NE.Defense"]["median_wait_seconds"] == 24 * 3600.0
    assert waits["NG.Defense"]["median_wait_seconds"] == 60 * 3600.0
    assert out["database_url"].startswith("sqlite:///")
    assert Path(out["database_url"].removeprefix("sqlite:///")).is_file()  # kept to inspect

    db = tmp_path / "given.db"
    table = replay(path, "--database", f"sqlite:///{db}", cwd=tmp_path)
    assert table.returncode == 0, table.stderr
    assert "Waits per authority" in table.stdout
    assert "2d 12h" in table.stdout  # n1's time to clearance and NG.Defense's wait
    assert db.is_file()


def test_a_bad_timeline_is_named_on_one_line_with_exit_2_and_nothing_written(
    tmp_path: Path,
) -> None:
    db = tmp_path / "given.db"
    url = f"sqlite:///{db}"
    cases = {
        "steps[1].decide.decision": [STEPS[0], {**STEPS[1], "decide": {
            **STEPS[1]["decide"], "decision": "perhaps"}}],  # type: ignore[dict-item]
        "steps[0].submit.request": [{**STEPS[0], "submit": {
            "ref": "n1", "request": "99-no-such-request"}}],
        "steps[2].at": [STEPS[0], STEPS[2], STEPS[1]],  # NG before NE: not in time order
        "steps[1].decide": [STEPS[0], {"at": "2017-09-02T08:00:00Z", "decide": {
            "ref": "n1", "authority": "ML.Defense", "as": "ml-defense-staff",
            "decision": "approve"}}],  # Mali is not in this request's chain
    }  # fmt: skip
    for field, steps in cases.items():
        path = timeline(tmp_path, steps)
        done = replay(path, "--database", url, cwd=tmp_path)
        assert done.returncode == 2, (field, done.stdout, done.stderr)
        (line,) = done.stderr.splitlines()
        assert line.startswith(f"error: {path}: "), line
        assert field in line, line
        assert "Traceback" not in done.stderr
        assert not db.exists(), field  # nothing written, not even an empty database
