"""Every bench in bench/ runs in its small mode and ends with its JSON line, so a refactor
cannot break one unnoticed (bench/conformance.py once imported a function that had
moved). The figures of a small run mean nothing and are not asserted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCHES = sorted(p for p in (ROOT / "bench").glob("*.py") if p.name != "benchkit.py")
# The HTTP bench measures PostgreSQL too, on a throwaway server like the tests' own.
EXTRA = {"api_load.py": ["--postgres", "auto"]}


def test_the_bench_folder_holds_the_benches_the_readme_names() -> None:
    names = {p.name for p in BENCHES}
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert names >= {"evaluate.py", "api_load.py", "deconfliction.py", "conformance.py"}
    for name in names:
        assert f"bench/{name}" in readme, f"README names no bench/{name}"


@pytest.mark.parametrize("bench", BENCHES, ids=lambda p: p.name)
def test_bench_runs_in_small_mode_and_prints_its_json_line(bench: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(bench), "--small", *EXTRA.get(bench.name, [])],
        cwd=tmp_path,  # a bench must not depend on the directory it is started from
        env={**os.environ, "CLEARANCE_KEY_DIR": str(tmp_path / "keys")},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, f"{bench.name} exited {done.returncode}:\n{done.stderr[-4000:]}"
    lines = done.stdout.strip().splitlines()
    assert lines, f"{bench.name} printed nothing"
    figures = json.loads(lines[-1])
    assert isinstance(figures, dict)
    assert figures, f"{bench.name}'s JSON line is empty"
