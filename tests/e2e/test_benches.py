"""Every bench in bench/ runs in its small mode and ends with its JSON line, so a refactor
cannot break one unnoticed (bench/conformance.py once imported a function that had
moved). The figures of a small run mean nothing and are not asserted. The benches run
two at a time (most of a small run is starting Python and servers), each in its own
directory. bench/compare.py runs one of them against the previous commit (this commit
when the history is shallow), and on a toy repository whose two commits differ in what
their bench prints."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from clearance.adapters.scenario_loader import load_scenario
from clearance.domain.clearance.requests import parse_request

ROOT = Path(__file__).resolve().parents[2]
# heavy_load.py is run, JSON line included, by tests/e2e/test_heavy_load.py; compare.py
# runs a bench, below.
BENCHES = sorted(
    p
    for p in (ROOT / "bench").glob("*.py")
    if p.name not in ("benchkit.py", "heavy_load.py", "compare.py")
)
NOW = datetime(2017, 11, 20, tzinfo=UTC)  # the Niger scenario's clock
COMPARE = ROOT / "bench" / "compare.py"
# The HTTP bench measures PostgreSQL too, on a throwaway server like the tests' own.
EXTRA = {"api_load.py": ["--postgres", "auto"]}


def test_the_bench_folder_holds_the_benches_the_readme_names() -> None:
    names = {p.name for p in BENCHES}
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert names >= {"evaluate.py", "api_load.py", "deconfliction.py", "conformance.py"}
    for name in [*names, "heavy_load.py", "compare.py"]:
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


def _previous_commit() -> str:
    """HEAD~1, or HEAD where the history is shallow (.ci/run's local clone has it all)."""
    done = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--verify", "--quiet", "HEAD~1^{commit}"],
        capture_output=True,
        text=True,
    )
    return "HEAD~1" if done.returncode == 0 else "HEAD"


def _worktrees() -> str:
    return subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "list", "--porcelain"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def _compare(workdir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(COMPARE), "evaluate", "--base", _previous_commit(), "--small"],
        cwd=workdir,
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
        workdir = Path(tmp) / "compare"
        workdir.mkdir()
        futures["compare.py"] = pool.submit(_compare, workdir)
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


def test_compare_runs_the_evaluate_bench_against_the_previous_commit_and_removes_its_tree(
    runs: dict[str, Future[subprocess.CompletedProcess[str]]],
) -> None:
    done = runs["compare.py"].result()
    assert done.returncode == 0, f"compare.py exited {done.returncode}:\n{done.stderr[-4000:]}"
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["bench"] == "evaluate"
    assert result["small"] == {"base": True, "head": True}
    for side in ("base", "head"):
        assert result["medians"][side]["requests"] == 300  # the small run's count
    assert result["head_over_base"]["requests"] == 1.0
    assert result["head_over_base"]["cache_on.requests_per_s_batched"] > 0
    assert "clearance-compare-" not in _worktrees()


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def _toy_repo(tmp_path: Path) -> Path:
    """A repository holding compare.py and a bench that prints its tree's ``toy.VALUE``:
    1 in the first commit, 3 in the second (head)."""
    repo = tmp_path / "repo"
    (repo / "bench").mkdir(parents=True)
    (repo / "src" / "toy").mkdir(parents=True)
    (repo / "bench" / "compare.py").write_bytes(COMPARE.read_bytes())
    (repo / "bench" / "value.py").write_text(
        "import json, sys, toy\n"
        "print('warming up')\n"
        "print(json.dumps({'value': toy.VALUE, 'nested': {'args': len(sys.argv)}}))\n"
    )
    _git(repo, "init", "--quiet")
    for value in (1, 3):
        (repo / "src" / "toy" / "__init__.py").write_text(f"VALUE = {value}\n")
        _git(repo, "add", "-A")
        _git(repo, "commit", "--quiet", "-m", f"value {value}")
    return repo


def _toy_compare(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(repo / "bench" / "compare.py"), *args],
        cwd=repo.parent,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_compare_runs_each_tree_with_its_own_src_alternately_and_gives_medians_and_ratios(
    tmp_path: Path,
) -> None:
    repo = _toy_repo(tmp_path)
    done = _toy_compare(repo, "value", "--base", "HEAD~1", "--rounds", "2", "--", "x", "y")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert [line.split(":")[0] for line in lines[:-1]] == [
        "round 1/2 base",
        "round 1/2 head",
        "round 2/2 base",
        "round 2/2 head",
    ]
    result = json.loads(lines[-1])
    assert result["medians"] == {
        "base": {"value": 1.0, "nested.args": 3.0},  # the arguments after -- reach it
        "head": {"value": 3.0, "nested.args": 3.0},
    }
    assert result["head_over_base"] == {"value": 3.0, "nested.args": 1.0}
    assert result["bench_file"] == {"base": "its own", "head": "its own"}
    assert result["base"]["commit"] == _git(repo, "rev-parse", "HEAD~1")
    assert result["head"]["dirty"] is False
    assert "clearance-compare-" not in _git(repo, "worktree", "list")


def test_compare_runs_heads_bench_file_on_a_base_that_lacks_it_and_says_so(
    tmp_path: Path,
) -> None:
    repo = _toy_repo(tmp_path)
    (repo / "bench" / "later.py").write_text(
        "import json, toy\nprint(json.dumps({'value': toy.VALUE * 10}))\n"
    )
    _git(repo, "add", "-A")
    _git(repo, "commit", "--quiet", "-m", "a later bench")
    done = _toy_compare(repo, "later", "--base", "HEAD~2", "--rounds", "1")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["bench_file"] == {"base": "head's (the base has none)", "head": "its own"}
    assert result["medians"] == {"base": {"value": 10.0}, "head": {"value": 30.0}}


def test_compare_runs_heads_bench_file_in_both_trees_when_asked(tmp_path: Path) -> None:
    repo = _toy_repo(tmp_path)
    (repo / "bench" / "value.py").write_text(
        "import json, toy\nprint(json.dumps({'value': toy.VALUE + 100}))\n"
    )  # uncommitted: head is the working tree
    done = _toy_compare(repo, "value", "--base", "HEAD~1", "--rounds", "1", "--head-bench")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["bench_file"] == {"base": "head's (--head-bench)", "head": "its own"}
    assert result["medians"] == {"base": {"value": 101.0}, "head": {"value": 103.0}}
    assert result["head"]["dirty"] is True


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nosuch", "--base", "HEAD"], "BENCH: no bench named 'nosuch'; one of value"),
        (["value", "--base", "nosuch"], "--base: no commit named 'nosuch'"),
        (["value", "--base", "HEAD", "--rounds", "0"], "--rounds: must be at least 1, not 0"),
    ],
)
def test_compare_refuses_bad_input_with_one_line_and_exit_2(
    tmp_path: Path, args: list[str], message: str
) -> None:
    repo = _toy_repo(tmp_path)
    done = _toy_compare(repo, *args)
    assert done.returncode == 2
    assert done.stderr.startswith(f"error: {message}"), done.stderr
    assert "Traceback" not in done.stderr
    assert "clearance-compare-" not in _git(repo, "worktree", "list")


def test_the_api_bench_measures_one_and_two_workers_on_both_databases_in_one_run(
    runs: dict[str, Future[subprocess.CompletedProcess[str]]],
) -> None:
    done = runs["api_load.py"].result()
    assert done.returncode == 0, done.stderr[-4000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])["summary"]
    assert set(summary) == {"sqlite", "postgresql"}
    for run in summary.values():
        assert set(run) == {"workers_1", "workers_2", "ratio"}
        one, two = run["workers_1"], run["workers_2"]
        assert one[0] > 0
        assert two[0] > 0
        assert run["ratio"] == round(two[0] / one[0], 2)


def _workload_module() -> Any:
    spec = importlib.util.spec_from_file_location("workload", ROOT / "bench" / "workload.py")
    assert spec is not None
    assert spec.loader is not None
    sys.path.insert(0, str(ROOT / "bench"))  # it imports benchkit beside it
    try:
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(ROOT / "bench"))
    return module


def test_time_to_clearance_workload_varies_the_examples_into_valid_seeded_documents() -> None:
    workload = _workload_module()
    made = workload.generate(260, seed=3, weeks=workload.MAX_WEEKS)
    assert made == workload.generate(260, seed=3, weeks=workload.MAX_WEEKS)
    assert made != workload.generate(260, seed=4, weeks=workload.MAX_WEEKS)
    examples = dict(workload.examples())
    assert {name for name, _ in made} == set(examples)  # every example in the mix
    scenario = load_scenario(workload.NIGER)
    lands = workload.territories()
    moved = 0
    for name, doc in made:
        original = examples[name]
        for field in ("operator", "aircraft", "payload", "purpose", "launch_site"):
            assert doc[field] == original[field]
        parse_request(doc, scenario, limits=scenario.limits, now=NOW)
        for entry, was in zip(doc["volumes"], original["volumes"], strict=True):
            shifted = datetime.fromisoformat(entry["time_start"]["value"])
            start = datetime.fromisoformat(was["time_start"]["value"])
            assert start <= shifted < start + timedelta(weeks=workload.MAX_WEEKS)
            volume, before = entry["volume"], was["volume"]
            assert workload.touches(workload.outline(volume), lands) == workload.touches(
                workload.outline(before), lands
            ), f"{name}: a moved volume left its parties' territories"
            moved += workload.outline(volume) != workload.outline(before)
            low, high = volume["altitude_lower"]["value"], volume["altitude_upper"]["value"]
            assert high - low >= 300
    assert moved > 0.9 * sum(len(doc["volumes"]) for _, doc in made)


def test_time_to_clearance_submits_the_workload_and_gives_its_figures(
    runs: dict[str, Future[subprocess.CompletedProcess[str]]],
) -> None:
    done = runs["time_to_clearance.py"].result()
    assert done.returncode == 0, done.stderr[-4000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["calibration_80"] is not None  # the backtest, still there
    run = figures["workload"]
    assert run["requests"] == 80
    assert sum(run["states"].values()) == 80
    assert len(run["by_example"]) == 13
    assert set(run["states"]) >= {"cleared", "denied", "infeasible", "pending"}
    assert 0 < run["resolved_share"] < 1
    assert run["latency_ms"]["p50"] > 0
    assert run["alternatives_sampled"] == 3
    assert run["alternatives_ms_p95"] > 0


@pytest.mark.parametrize("bench", ["workload.py", "time_to_clearance.py"])
def test_time_to_clearance_workload_refuses_weeks_out_of_range_with_exit_2(bench: str) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / bench), "--weeks", "97"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "--weeks: must be 1 to 96, not 97" in done.stderr
    assert "Traceback" not in done.stderr
