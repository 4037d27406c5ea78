"""tests/serverproc.py's Server.cli_each: several `clearance` commands in one process, each
as it would run alone; the first that fails stops the rest and is named."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.serverproc import Server


def test_cli_each_runs_every_command_in_order_and_names_the_first_that_fails(
    tmp_path: Path,
) -> None:
    server = Server(f"sqlite:///{tmp_path / 'each.db'}", tmp_path / "server.log")
    tokens = server.prepare({"a": ("--operator", "US.AFRICOM"), "b": ("--authority", "US.DoD")})
    assert len(set(tokens.values())) == 2
    with pytest.raises(RuntimeError, match=r"clearance principal add a --operator FR\.Barkhane"):
        server.cli_each(
            ["principal", "add", "c", "--operator", "FR.Barkhane"],
            ["principal", "add", "a", "--operator", "FR.Barkhane"],  # a exists: exit 4
            ["principal", "add", "d", "--operator", "FR.Barkhane"],  # never runs
        )
    rows = [line.split("│") for line in server.cli("principal", "list").splitlines()]
    assert sorted(row[1].strip() for row in rows if len(row) > 2) == ["a", "b", "c"]
