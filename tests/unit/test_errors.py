"""One error tree: every exception class of the project derives from ``ClearanceError``,
``domain/errors.py``'s docstring draws all of it, and the API and the CLI map every
class of it by class (none falls through to a 500 or an internal error)."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest

import clearance
from clearance.api.problems import DOMAIN_ERRORS, ApiError
from clearance.cli_run import EPILOG, ExitCode, exit_code
from clearance.domain import errors
from clearance.domain.errors import (
    AuditError,
    ClearanceError,
    DecisionSignatureError,
    DuplicateKeyError,
    InputError,
    NoteError,
    ProofError,
    TamperedError,
)

SRC = Path(clearance.__file__).parent
README = SRC.parents[1] / "README.md"


def project_modules() -> list[str]:
    names = [clearance.__name__]
    for info in pkgutil.walk_packages(clearance.__path__, prefix="clearance."):
        if ".migrations" not in info.name:  # Alembic's env.py runs only under Alembic
            names.append(info.name)
    return names


def project_exceptions() -> set[type[BaseException]]:
    found: set[type[BaseException]] = set()
    for name in project_modules():
        module = importlib.import_module(name)
        for _, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, BaseException) and value.__module__.startswith("clearance"):
                found.add(value)
    return found


def test_the_project_defines_its_exceptions_in_the_tree_of_one_root() -> None:
    found = project_exceptions()
    assert {ApiError, TamperedError, AuditError, NoteError, DuplicateKeyError} <= found
    strays = sorted(c.__qualname__ for c in found if not issubclass(c, ClearanceError))
    assert strays == []


def test_no_module_but_domain_errors_and_the_api_layer_defines_an_exception_class() -> None:
    defined: list[str] = []
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and node.name.endswith("Error"):
                defined.append(f"{path.relative_to(SRC)}:{node.name}")
    others = [d for d in defined if not d.startswith("domain/errors.py:")]
    assert others == ["api/problems.py:ApiError"]


def test_the_docstring_of_domain_errors_draws_every_class_of_the_tree() -> None:
    doc = errors.__doc__ or ""
    drawn = set(re.findall(r"\+-- (\w+)", doc)) | {"ClearanceError"}
    classes = {c.__name__ for c in project_exceptions()}
    assert classes - {"ApiError"} == drawn
    assert "api.problems.ApiError" in doc


@pytest.mark.parametrize(
    "cls", sorted((c for c in vars(errors).values() if isinstance(c, type)), key=str)
)
def test_every_class_of_the_tree_has_an_api_status_and_a_cli_exit_code(cls: type) -> None:
    if not issubclass(cls, ClearanceError) or cls is ClearanceError:
        return
    assert any(issubclass(cls, mapped) for mapped, *_ in DOMAIN_ERRORS), cls
    error = cls.__new__(cls)
    assert exit_code(error) is not ExitCode.INTERNAL_ERROR, cls


def test_the_ledger_errors_stay_value_errors_where_callers_catch_them_so() -> None:
    assert issubclass(ProofError, ValueError)
    assert issubclass(NoteError, ProofError)
    assert issubclass(DecisionSignatureError, ValueError)


def test_a_repeated_key_is_invalid_input_that_can_be_located() -> None:
    error = DuplicateKeyError("radius")
    assert isinstance(error, InputError)
    assert exit_code(error) is ExitCode.INVALID_INPUT
    located = error.located("req.yaml", "volumes[0]")
    assert str(located) == (
        "req.yaml: volumes[0]: the key 'radius' appears twice in one mapping; "
        "each key may appear once"
    )


def test_every_exit_code_is_documented_in_the_help_and_the_readme() -> None:
    readme = README.read_text(encoding="utf-8")
    section = readme.split("### Exit codes", 1)[1].split("\n#", 1)[0]
    for code in ExitCode:
        assert f"{int(code)} " in EPILOG
        assert re.search(rf"^\| {int(code)} \|", section, re.MULTILINE), code
    assert len(set(ExitCode)) == len({int(c) for c in ExitCode})
