"""``clearance evaluate --suggest`` (and its alias ``check``), run in a subprocess: what
would clear each request not cleared, as a table or JSON; exit 2 on bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from clearance.domain.clearance.alternatives import Change, apply_changes

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "examples" / "niger"
REQUESTS = SCENARIO / "requests"


def run_cli(*args: object, now: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CLEARANCE_DEBUG", "CLEARANCE_NOW")}
    if now:
        env["CLEARANCE_NOW"] = now
    return subprocess.run(
        [sys.executable, "-m", "clearance.cli", *(str(a) for a in args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_suggestions_as_json_say_what_each_change_would_get() -> None:
    done = run_cli(
        "evaluate", "--suggest", "--json", REQUESTS / "09-us-isr-crossing-into-mali.yaml",
        REQUESTS / "01-us-isr-ouallam.yaml", "--scenario", SCENARIO,
        now="2017-11-20T00:00:00Z",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    crossing, cleared = json.loads(done.stdout)
    assert cleared["alternatives"]["suggestions"] == []
    assert crossing["outcome"] == "denied"
    (best, *_) = crossing["alternatives"]["suggestions"]
    assert best["outcome"] == "cleared"
    assert best["description"] == "volume 0 clipped to leave ML's territory (Mali)"
    doc = yaml.safe_load((REQUESTS / "09-us-isr-crossing-into-mali.yaml").read_text("utf-8"))
    changes = [Change(c["op"], c["path"], c.get("value")) for c in best["changes"]]
    assert apply_changes(doc, changes) == best["document"]


def test_the_table_names_the_change_for_each_request_not_cleared(tmp_path: Path) -> None:
    done = run_cli("check", "--suggest", REQUESTS, "--scenario", SCENARIO)
    assert done.returncode == 0, done.stderr
    assert "What would clear it" in done.stdout
    for words in ("payload unarmed and purpose isr", "moved 90 km to leave ML's territory"):
        assert words in done.stdout


def test_bad_input_with_suggest_exits_2_with_one_line(tmp_path: Path) -> None:
    doc = yaml.safe_load((REQUESTS / "05-us-armed-overwatch-agadez-2020.yaml").read_text("utf-8"))
    doc["aircraft"] = "nope"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(doc), "utf-8")
    done = run_cli("evaluate", "--suggest", bad, "--scenario", SCENARIO)
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("error: ")
    assert "aircraft" in line
    assert done.stdout == ""
