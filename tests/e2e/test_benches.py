"""Every bench in bench/ runs in its small mode and ends with its JSON line, so a refactor
cannot break one unnoticed (bench/conformance.py once imported a function that had
moved). The figures of a small run mean nothing and are not asserted. The benches run
two at a time (most of a small run is starting Python and servers), each in its own
directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# heavy_load.py is run, JSON line included, by tests/e2e/test_heavy_load.py.
BENCHES = sorted(
    p for p in (ROOT / "bench").glob("*.py") if p.name not in ("benchkit.py", "heavy_load.py")
)
# The HTTP bench measures PostgreSQL too, on a throwaway server like the tests' own.
EXTRA = {"api_load.py": ["--postgres", "auto"]}


def test_the_bench_folder_holds_the_benches_the_readme_names() -> None:
    names = {p.name for p in BENCHES}
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert names >= {"evaluate.py", "api_load.py", "deconfliction.py", "conformance.py"}
    for name in [*names, "heavy_load.py"]:
        assert f"bench/{name}" in readme, f"README names no bench/{name}"


def _run(bench: Path, workdir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(bench), "--small", *EXTRA.get(bench.name, [])],
        cwd=workdir,  # a bench must not depend on the directory it is started from
        env={**os.environ, "CLEARANCE_KEY_DIR": str(workdir / "keys")},
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def runs() -> Iterator[dict[str, Future[subprocess.CompletedProcess[str]]]]:
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(max_workers=2) as pool:
        futures = {}
        for bench in BENCHES:
            workdir = Path(tmp) / bench.stem
            workdir.mkdir()
            futures[bench.name] = pool.submit(_run, bench, workdir)
        yield futures


@pytest.mark.parametrize("bench", BENCHES, ids=lambda p: p.name)
def test_bench_runs_in_small_mode_and_prints_its_json_line(
    bench: Path, runs: dict[str, Future[subprocess.CompletedProcess[str]]]
) -> None:
    done = runs[bench.name].result()
    assert done.returncode == 0, f"{bench.name} exited {done.returncode}:\n{done.stderr[-4000:]}"
    lines = done.stdout.strip().splitlines()
    assert lines, f"{bench.name} printed nothing"
    figures = json.loads(lines[-1])
    assert isinstance(figures, dict)
    assert figures, f"{bench.name}'s JSON line is empty"
