"""One configuration: only ``clearance/config.py`` reads the environment, and it refuses a
bad value naming the variable."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import clearance
from clearance.config import Settings
from clearance.domain.errors import InputError

SRC = Path(clearance.__file__).parent
CONFIG = SRC / "config.py"
READERS = {"environ", "getenv", "getenvb", "environb", "putenv", "unsetenv"}


def environment_reads(path: Path) -> list[str]:
    """Where ``path`` touches the environment: ``os.environ``/``os.getenv`` (however
    imported), and Click's ``envvar=`` (an option read from the environment)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Attribute) and node.attr in READERS:
            found.append(f"{path.name}:{node.lineno}: .{node.attr}")
        elif isinstance(node, ast.ImportFrom) and node.module == "os":
            found.extend(
                f"{path.name}:{node.lineno}: from os import {a.name}"
                for a in node.names
                if a.name in READERS
            )
        elif isinstance(node, ast.keyword) and node.arg in ("envvar", "auto_envvar_prefix"):
            found.append(f"{path.name}:{node.lineno}: {node.arg}=")
    return found


def test_only_config_reads_the_environment() -> None:
    offenders = [
        hit
        for path in sorted(SRC.rglob("*.py"))
        if path != CONFIG
        for hit in environment_reads(path)
    ]
    assert offenders == []
    assert environment_reads(CONFIG)  # the test sees a read where there is one


def test_the_finder_sees_each_way_of_reading_the_environment(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import os\nfrom os import getenv\nimport typer\n"
        "a = os.environ.get('X')\nb = os.getenv('Y')\nc = typer.Option(envvar='Z')\n"
    )
    assert len(environment_reads(sample)) == 4


def test_settings_read_every_variable() -> None:
    settings = Settings.from_env(
        {
            "CLEARANCE_DATABASE_URL": "sqlite:///x.db",
            "CLEARANCE_NOW": "2020-03-01T00:00:00+01:00",
            "CLEARANCE_KEY_DIR": "/k",
            "CLEARANCE_LOG_ORIGIN": "example.org/log",
            "CLEARANCE_SQLITE_SYNCHRONOUS": "normal",
            "CLEARANCE_PORT": "8123",
            "CLEARANCE_DEBUG": "1",
            "CLEARANCE_WITNESSES": "/etc/clearance/witnesses.policy",
            "CLEARANCE_WEBHOOK_PRIVATE": "1",
        }
    )
    assert settings.database_url == "sqlite:///x.db"
    assert settings.now is not None
    assert settings.now.isoformat() == "2020-02-29T23:00:00+00:00"
    assert settings.key_dir == Path("/k")
    assert settings.log_origin == "example.org/log"
    assert settings.sqlite_synchronous == "NORMAL"
    assert settings.port == 8123
    assert settings.debug is True
    assert settings.witnesses == Path("/etc/clearance/witnesses.policy")
    assert settings.webhook_private is True


def test_settings_default_without_any_variable(tmp_path: Path) -> None:
    settings = Settings.from_env({"XDG_DATA_HOME": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path / 'clearance' / 'clearance.db'}"
    assert settings.key_dir == tmp_path / "clearance" / "keys"
    assert settings.witnesses is None
    assert settings.webhook_private is False
    assert (settings.now, settings.sqlite_synchronous, settings.port, settings.debug) == (
        None,
        "FULL",
        8000,
        False,
    )


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("CLEARANCE_NOW", "yesterday", "RFC 3339"),
        ("CLEARANCE_NOW", "2020-03-01T00:00:00", "RFC 3339"),
        ("CLEARANCE_SQLITE_SYNCHRONOUS", "OFF", "FULL, NORMAL, EXTRA"),
        ("CLEARANCE_PORT", "http", "1..65535"),
        ("CLEARANCE_PORT", "0", "1..65535"),
        ("CLEARANCE_PORT", "70000", "1..65535"),
        ("CLEARANCE_PORT", "\uff18\uff10", "1..65535"),
        ("CLEARANCE_WEBHOOK_PRIVATE", "yes", "0 or 1"),  # full-width "80": str.isdigit's digits
    ],
)
def test_a_bad_value_is_refused_naming_the_variable(variable: str, value: str, words: str) -> None:
    with pytest.raises(InputError) as raised:
        Settings.from_env({variable: value})
    assert raised.value.field == variable
    assert raised.value.source == "environment"
    assert words in str(raised.value)
