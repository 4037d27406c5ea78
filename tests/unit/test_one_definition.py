"""Each piece of logic lives in one place in src/ (issue 12: ``duplicates`` showed the same
lines written again). Read from each module's syntax tree: how a time is written out
(``documents.instant``), the raw bytes of an Ed25519 public key
(``checkpoint.raw_public``), a body's media type (``deps.media_type``), the problem
media type and a decision's conditions as JSON (``signatures.conditions_json``)."""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "clearance"
# service/audit.py keeps its own raw_public until the log-is-the-record change (issue 12,
# item 2) rewrites that module.
ELSEWHERE: set[str] = set()


@functools.cache
def _modules() -> list[tuple[str, ast.Module, str]]:
    out = []
    for path in sorted(SRC.rglob("*.py")):
        name = path.relative_to(SRC).as_posix()
        if name.startswith("adapters/migrations/"):  # frozen history
            continue
        text = path.read_text(encoding="utf-8")
        out.append((name, ast.parse(text), text))
    return out


def _segment(lines: list[bytes], node: ast.stmt) -> str:
    """``ast.get_source_segment`` over lines split once (it splits the whole file at each
    call, which made this file take ~100 s)."""
    assert node.end_lineno is not None
    assert node.end_col_offset is not None
    first, last = node.lineno - 1, node.end_lineno - 1
    if first == last:
        return lines[first][node.col_offset : node.end_col_offset].decode()
    middle = b"".join(lines[first + 1 : last])
    return (lines[first][node.col_offset :] + middle + lines[last][: node.end_col_offset]).decode()


@functools.cache
def _functions() -> list[tuple[str, str, list[str]]]:
    """Every function in src/: ``module:name``, its source, and its inner functions' sources."""
    found = []
    for name, tree, text in _modules():
        lines = [line.encode() for line in text.splitlines(keepends=True)]
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                inner = [
                    _segment(lines, n)
                    for n in ast.walk(node)
                    if n is not node and isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
                ]
                found.append((f"{name}:{node.name}", _segment(lines, node), inner))
    return found


def _functions_whose_source_holds(needle: str) -> list[str]:
    return [
        where
        for where, source, inner in _functions()
        if needle in source and not any(needle in segment for segment in inner)
    ]


@pytest.mark.parametrize(
    ("needle", "home"),
    [
        ('.replace("+00:00", "Z")', ["domain/documents.py:instant"]),
        ("PublicFormat.Raw", []),
        ("public_bytes_raw()", ["domain/ledger/checkpoint.py:raw_public"]),
        ('headers.get("content-type"', ["api/deps.py:media_type"]),
        ('"text": c.text', ["domain/ledger/signatures.py:conditions_json"]),
    ],
)
def test_the_logic_is_written_once(needle: str, home: list[str]) -> None:
    found = [f for f in _functions_whose_source_holds(needle) if f.split(":")[0] not in ELSEWHERE]
    assert found == home


def test_the_problem_media_type_is_named_once() -> None:
    assigned = [
        name
        for name, tree, _ in _modules()
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "PROBLEM_JSON" for t in node.targets)
    ]
    assert assigned == ["api/problems.py"]
