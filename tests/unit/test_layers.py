"""The domain stays pure: it never imports a framework or the outer layers."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

DOMAIN = Path(__file__).parents[2] / "src" / "clearance" / "domain"
FORBIDDEN = ("sqlalchemy", "fastapi", "typer", "pydantic", "rich", "yaml", "alembic", "starlette")
OUTER = (
    "clearance.adapters",
    "clearance.service",
    "clearance.api",
    "clearance.cli",
    "clearance.bootstrap",
)


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", sorted(DOMAIN.glob("*.py")), ids=lambda p: p.name)
def test_domain_module_imports_no_framework_or_outer_layer(path: Path) -> None:
    bad = [m for m in imported_modules(path) if m.split(".")[0] in FORBIDDEN or m.startswith(OUTER)]
    assert bad == [], f"{path.name} imports {bad}"


def test_the_domain_has_modules_to_check() -> None:
    assert len(list(DOMAIN.glob("*.py"))) >= 8
