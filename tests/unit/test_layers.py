"""The layer rules of DESIGN.md, read from every module's syntax tree:

- the domain imports nothing of the project outside the domain (``clearance.config``
  included) and no framework;
- the service layer knows no API, CLI or wiring, and no web or CLI framework;
- adapters know no API, CLI or wiring, and no web or CLI framework;
- nothing loads a module by name at run time (``importlib.import_module``,
  ``__import__``), which would hide an import from these rules.

Relative imports are resolved before they are judged.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).parents[2] / "src"
PACKAGE = SRC / "clearance"
ENTRYPOINTS = (
    "clearance.api",
    "clearance.cli",
    "clearance.cli_audit",
    "clearance.cli_demo",
    "clearance.cli_forecast",
    "clearance.cli_grants",
    "clearance.cli_keys",
    "clearance.cli_monitor",
    "clearance.cli_replay",
    "clearance.cli_run",
    "clearance.cli_serve",
    "clearance.cli_webhooks",
    "clearance.cli_witness",
    "clearance.bootstrap",
)
WEB_AND_CLI = ("fastapi", "starlette", "pydantic", "typer", "rich", "uvicorn", "click")
RULES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # layer: (project modules it must not import, third-party roots it must not import)
    "clearance.domain": (
        ("clearance.",),  # anything of the project but the domain itself (allowed below)
        (*WEB_AND_CLI, "sqlalchemy", "alembic", "yaml", "psycopg"),
    ),
    "clearance.service": ((*ENTRYPOINTS,), WEB_AND_CLI),
    "clearance.adapters": ((*ENTRYPOINTS,), WEB_AND_CLI),
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path, name: str) -> set[str]:
    """Every module ``path`` (the module ``name``) imports, relative imports made
    absolute, and for ``from X import Y`` both ``X`` and ``X.Y`` (Y may be a module)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names)
    return found


def dynamic_imports(path: Path) -> list[int]:
    """Lines that load a module by a name computed at run time."""
    lines = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            f = node.func
            called = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
            if called in ("import_module", "__import__"):
                lines.append(node.lineno)
    return lines


def broken_rules(path: Path, name: str) -> list[str]:
    layer = next((layer for layer in RULES if name.startswith(layer)), None)
    if layer is None:
        return []
    project, third_party = RULES[layer]
    bad = []
    for imported in sorted(imports(path, name)):
        if imported == layer or imported.startswith(layer + "."):
            continue
        if imported.startswith(project) or imported.split(".")[0] in third_party:
            bad.append(imported)
    return bad


MODULES = sorted(PACKAGE.rglob("*.py"))
LAYERED = [p for p in MODULES if module_name(p).startswith(tuple(RULES))]


@pytest.mark.parametrize("path", LAYERED, ids=lambda p: module_name(p))
def test_module_keeps_the_rules_of_its_layer(path: Path) -> None:
    assert broken_rules(path, module_name(path)) == [], f"{module_name(path)} breaks its layer"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: module_name(p))
def test_no_module_imports_by_a_name_computed_at_run_time(path: Path) -> None:
    assert dynamic_imports(path) == [], f"{module_name(path)} lines {dynamic_imports(path)}"


def test_the_rules_see_relative_imports_and_the_configuration(tmp_path: Path) -> None:
    """The checker itself: what it used to miss is now caught."""
    fake = tmp_path / "probe.py"  # read as the module clearance.domain.probe
    cases = {
        "from ..config import Settings\n": ["clearance.config", "clearance.config.Settings"],
        "from .. import api\n": ["clearance.api"],
        "import clearance.config\n": ["clearance.config"],
        "from . import volumes\n": [],
        "import sqlalchemy as sa\n": ["sqlalchemy"],
    }
    for source, expected in cases.items():
        fake.write_text(source, encoding="utf-8")
        assert broken_rules(fake, "clearance.domain.probe") == expected, source
    fake.write_text("import importlib\nm = importlib.import_module('clearance.api')\n")
    assert dynamic_imports(fake) == [2]


def test_every_layer_has_modules_to_check() -> None:
    for layer in RULES:
        assert sum(module_name(p).startswith(layer) for p in LAYERED) >= 3, layer


def _calls_commit(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "commit"
    ]


def test_the_reads_never_commit_and_every_handler_does(tmp_path: Path) -> None:
    """Reads apart from writes: ``service.queries`` commits nothing; each handler module
    commits its change (or calls a handler that does)."""
    assert _calls_commit(PACKAGE / "service" / "queries.py") == []
    handlers = sorted((PACKAGE / "service" / "handlers").glob("[!_]*.py"))
    assert len(handlers) >= 8
    for path in handlers:
        assert _calls_commit(path), f"{path.name} changes nothing"
    writer = tmp_path / "queries.py"
    writer.write_text("def get(uow):\n    uow.commit()\n")
    assert _calls_commit(writer) == [2]
