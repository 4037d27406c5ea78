"""Compare a bench on this tree against another commit, in the same run.

Checks REV out into a temporary ``git worktree`` (removed afterwards), then runs
``bench/BENCH.py`` from each tree in turn (base, head, base, head...), each with its own
``src`` first on ``PYTHONPATH``, so both see the same machine and the same load. Each tree
runs its own bench file (its imports follow its own layout); a base that lacks the file
runs this tree's copy, and the JSON says so; ``--head-bench`` runs this tree's copy in
both (when the bench itself changed; what it imports must exist in the base). "head" is this working tree as it is,
uncommitted changes included (``head.dirty``).

Prints each run's figures as it goes, then one JSON line: per tree, the median of every
number the bench printed (keys joined with dots, such as ``sqlite.submissions_per_s``),
and head/base for each.

    .venv/bin/python bench/compare.py api_load --base b6987e4 --rounds 5 [-- --seconds 10]
    .venv/bin/python bench/compare.py evaluate --base HEAD~1 --small
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH_TIMEOUT_S = 3600


class RefusedError(Exception):
    """Bad input or an unusable checkout: one line on stderr, exit 2."""


def git(*args: str) -> str:
    done = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise RefusedError(f"git {' '.join(args)}: {done.stderr.strip() or 'failed'}")
    return done.stdout.strip()


def numbers(value: object, prefix: str = "") -> Iterator[tuple[str, float]]:
    """Every number in a bench's JSON, by its dotted path (booleans are not numbers)."""
    if isinstance(value, dict):
        for key, child in value.items():
            yield from numbers(child, f"{prefix}{key}.")
    elif isinstance(value, int | float) and not isinstance(value, bool):
        yield prefix[:-1], float(value)


def takes_small(bench: Path) -> bool:
    """Whether a bench file knows ``--small`` (older commits' benches may not)."""
    text = bench.read_text(encoding="utf-8")
    return "benchkit" in text or "--small" in text


def run_once(
    tree: Path, bench: Path, small: bool, extra: list[str], workdir: Path
) -> dict[str, Any]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(tree / "src"), env.get("PYTHONPATH", "")) if p
    )
    args = [sys.executable, str(bench), *(["--small"] if small else []), *extra]
    done = subprocess.run(
        args, cwd=workdir, env=env, capture_output=True, text=True, timeout=BENCH_TIMEOUT_S
    )
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise RuntimeError(
            f"{' '.join(args)} (in {tree}) exited {done.returncode}:\n{done.stderr[-4000:]}"
        )
    figures = json.loads(lines[-1])
    if not isinstance(figures, dict):
        raise RuntimeError(f"{bench} printed {lines[-1][:200]!r}, not a JSON object")
    return figures


def medians(runs: list[dict[str, Any]]) -> dict[str, float]:
    collected: dict[str, list[float]] = {}
    for figures in runs:
        for path, value in numbers(figures):
            collected.setdefault(path, []).append(value)
    return {path: statistics.median(values) for path, values in collected.items()}


def compare(
    name: str,
    base_rev: str,
    rounds: int,
    small: bool,
    extra: list[str],
    head_bench_in_both: bool = False,
) -> dict[str, Any]:
    head_bench = ROOT / "bench" / f"{name}.py"
    if name in ("compare", "benchkit") or not head_bench.is_file():
        benches = sorted(
            p.stem for p in (ROOT / "bench").glob("*.py") if p.stem not in ("compare", "benchkit")
        )
        raise RefusedError(f"BENCH: no bench named {name!r}; one of {', '.join(benches)}")
    if rounds < 1:
        raise RefusedError(f"--rounds: must be at least 1, not {rounds}")
    git("rev-parse", "--git-dir")  # a checkout at all
    try:
        base_commit = git("rev-parse", "--verify", "--quiet", f"{base_rev}^{{commit}}")
    except RefusedError:
        raise RefusedError(f"--base: no commit named {base_rev!r} in {ROOT}") from None
    head_commit = git("rev-parse", "HEAD")
    dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    with tempfile.TemporaryDirectory(prefix="clearance-compare-") as tmp:
        base_tree = Path(tmp) / "base"
        git("worktree", "add", "--quiet", "--detach", str(base_tree), base_commit)
        try:
            base_bench = base_tree / "bench" / f"{name}.py"
            bench_file = {"base": "its own", "head": "its own"}
            if head_bench_in_both:
                base_bench = head_bench
                bench_file["base"] = "head's (--head-bench)"
            elif not base_bench.is_file():
                base_bench = head_bench
                bench_file["base"] = "head's (the base has none)"
            trees = {"base": (base_tree, base_bench), "head": (ROOT, head_bench)}
            small_used = {side: small and takes_small(bench) for side, (_, bench) in trees.items()}
            runs: dict[str, list[dict[str, Any]]] = {"base": [], "head": []}
            for i in range(rounds):
                for side, (tree, bench) in trees.items():
                    workdir = Path(tmp) / f"{side}-{i}"
                    workdir.mkdir()
                    figures = run_once(tree, bench, small_used[side], extra, workdir)
                    runs[side].append(figures)
                    print(f"round {i + 1}/{rounds} {side}: {json.dumps(figures)}", flush=True)
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base_tree)],
                capture_output=True,
            )
            subprocess.run(["git", "-C", str(ROOT), "worktree", "prune"], capture_output=True)
    base_medians, head_medians = medians(runs["base"]), medians(runs["head"])
    ratios = {
        path: round(head_medians[path] / value, 3)
        for path, value in base_medians.items()
        if path in head_medians and value != 0
    }
    return {
        "bench": name,
        "rounds": rounds,
        "small": small_used,
        "args": extra,
        "bench_file": bench_file,
        "base": {"rev": base_rev, "commit": base_commit},
        "head": {"commit": head_commit, "dirty": dirty},
        "medians": {"base": base_medians, "head": head_medians},
        "head_over_base": ratios,
    }


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="Arguments after -- go to the bench, in both trees.",
    )
    ap.add_argument("bench", help="a bench's name in bench/, such as api_load or evaluate")
    ap.add_argument("--base", required=True, help="the commit to compare against (any git rev)")
    ap.add_argument("--rounds", type=int, default=3, help="runs of each tree (default 3)")
    ap.add_argument("--small", action="store_true", help="the benches' small runs (CI)")
    ap.add_argument(
        "--head-bench",
        action="store_true",
        help="run this tree's bench file in the base too (its imports must exist there)",
    )
    argv = sys.argv[1:]
    extra: list[str] = []
    if "--" in argv:
        at = argv.index("--")
        argv, extra = argv[:at], argv[at + 1 :]
    args = ap.parse_args(argv)
    try:
        result = compare(
            args.bench.removesuffix(".py"),
            args.base,
            args.rounds,
            args.small,
            extra,
            args.head_bench,
        )
    except RefusedError as e:
        print(f"error: {e}", file=sys.stderr)
        raise SystemExit(2) from None
    except (RuntimeError, subprocess.TimeoutExpired, json.JSONDecodeError) as e:
        print(f"error: a bench run failed: {e}", file=sys.stderr)  # its stderr included
        raise SystemExit(1) from None
    print(json.dumps(result))


if __name__ == "__main__":
    main()
