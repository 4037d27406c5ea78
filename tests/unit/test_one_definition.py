"""Each piece of logic lives in one place in src/ (issue 12: ``duplicates`` showed the same
lines written again). Read from each module's syntax tree: how a time is written out
(``documents.instant``), the raw bytes of an Ed25519 public key
(``checkpoint.raw_public``), a body's media type (``deps.media_type``), the problem
media type and a decision's conditions as JSON (``signatures.conditions_json``)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "clearance"
# service/audit.py keeps its own raw_public until the log-is-the-record change (issue 12,
# item 2) rewrites that module.
ELSEWHERE: set[str] = set()


def _modules() -> list[tuple[str, ast.Module, str]]:
    out = []
    for path in sorted(SRC.rglob("*.py")):
        name = path.relative_to(SRC).as_posix()
        if name.startswith("adapters/migrations/"):  # frozen history
            continue
        text = path.read_text(encoding="utf-8")
        out.append((name, ast.parse(text), text))
    return out


def _functions_whose_source_holds(needle: str) -> list[str]:
    found = []
    for name, tree, text in _modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                source = ast.get_source_segment(text, node) or ""
                inner = [
                    n
                    for n in ast.walk(node)
                    if n is not node and isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
                ]
                if needle in source and not any(
                    needle in (ast.get_source_segment(text, n) or "") for n in inner
                ):
                    found.append(f"{name}:{node.name}")
    return found


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
