"""Every exit code of the real ``clearance`` command (README "Exit codes"), each reached
the way a user reaches it, in a subprocess: one line on stderr, never a traceback."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.serverproc import CLEARANCE, NIGER, Server

AGADEZ = NIGER / "requests" / "05-us-armed-overwatch-agadez-2020.yaml"
PRINCIPALS = {"planner": ("--operator", "US.AFRICOM"), "dod": ("--authority", "US.DoD")}


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> tuple[Server, str]:
    """A SQLite database with the Niger scenario, two principals and one pending request."""
    directory = tmp_path_factory.mktemp("exit-codes")
    server = Server(f"sqlite:///{directory / 'clearance.db'}", directory / "log")
    server.prepare(PRINCIPALS)
    submitted = json.loads(
        server.cli("request", "submit", str(AGADEZ), "--as", "planner", "--json")
    )
    return server, str(submitted["id"])


def run(
    server: Server, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in server.env.items() if k != "CLEARANCE_DEBUG"}
    return subprocess.run(
        [*CLEARANCE, *args],
        env={**environment, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def failed(done: subprocess.CompletedProcess[str], code: int, *words: str) -> str:
    """Exit ``code``, nothing on stdout, one line on stderr holding ``words``."""
    assert done.returncode == code, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def test_0_when_the_command_did_its_job(stored: tuple[Server, str]) -> None:
    server, rid = stored
    done = run(server, "request", "show", rid, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["id"] == rid


def test_2_for_a_bad_file(stored: tuple[Server, str], tmp_path: Path) -> None:
    server, _ = stored
    bad = tmp_path / "bad.yaml"
    bad.write_text("operator: [unclosed\n", encoding="utf-8")
    line = failed(run(server, "request", "submit", str(bad), "--as", "planner"), 2, "bad.yaml")
    assert line.startswith("error: ")


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("CLEARANCE_NOW", "tomorrow"),
        ("CLEARANCE_SQLITE_SYNCHRONOUS", "OFF"),
        ("CLEARANCE_PORT", "http"),
    ],
)
def test_2_for_a_bad_environment_variable_naming_it(
    stored: tuple[Server, str], variable: str, value: str
) -> None:
    server, _ = stored
    done = run(server, "request", "list", env={variable: value})
    failed(done, 2, "environment", variable)


def test_3_for_an_id_that_names_nothing(stored: tuple[Server, str]) -> None:
    server, _ = stored
    failed(run(server, "request", "show", "req-nothing"), 3, "req-nothing")
    failed(run(server, "principal", "revoke", "nobody"), 3, "nobody")


@pytest.mark.parametrize("command", [("request", "list"), ("audit", "verify")])
def test_3_for_a_database_never_upgraded_naming_the_fix(
    stored: tuple[Server, str], tmp_path: Path, command: tuple[str, ...]
) -> None:
    """An empty database file (a typo'd URL, or `db upgrade` never run) is named with the
    fix, not met as a missing table (which was an internal error, exit 70)."""
    server, _ = stored
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    done = run(server, *command, env={"CLEARANCE_DATABASE_URL": f"sqlite:///{empty}"})
    failed(done, 3, "empty.db", "has no Clearance schema", "clearance db upgrade")


def test_4_for_an_action_the_state_does_not_allow(stored: tuple[Server, str]) -> None:
    server, _ = stored
    submitted = json.loads(
        server.cli("request", "submit", str(AGADEZ), "--as", "planner", "--json")
    )
    rid = submitted["id"]
    # The second copy may be refused as it stands (it conflicts with the first); once
    # withdrawn or not, withdrawing it (again) is refused by its state.
    assert run(server, "request", "withdraw", rid, "--as", "planner").returncode in (0, 4)
    failed(run(server, "request", "withdraw", rid, "--as", "planner"), 4, rid)


def test_5_for_a_principal_that_may_not_act(stored: tuple[Server, str]) -> None:
    server, rid = stored
    decide = ["request", "decide", rid, "--authority", "US.DoD", "--approve"]
    failed(run(server, *decide, "--as", "planner"), 5, "planner", "US.DoD")


def test_1_when_the_record_does_not_verify(stored: tuple[Server, str], tmp_path: Path) -> None:
    server, _ = stored
    # A copy of the database, so the other tests keep an intact one.
    copy = tmp_path / "copy.db"
    original = server.database_url.removeprefix("sqlite:///")
    with sqlite3.connect(original) as source, sqlite3.connect(copy) as target:
        source.backup(target)
    env = {"CLEARANCE_DATABASE_URL": f"sqlite:///{copy}"}
    assert run(server, "audit", "checkpoint", env=env).returncode == 0
    assert run(server, "audit", "verify", env=env).returncode == 0
    with sqlite3.connect(copy) as db:
        (data,) = db.execute("SELECT data FROM audit_entries WHERE log_index = 0").fetchone()
        changed = bytes(data).replace(b'"', b"'", 1)  # one byte, still a blob
        db.execute("UPDATE audit_entries SET data = ? WHERE log_index = 0", (changed,))
    done = run(server, "audit", "verify", env=env)
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "log index 0" in done.stderr
    assert "Traceback" not in done.stderr


def test_70_for_an_internal_error_and_its_traceback_on_demand(
    stored: tuple[Server, str], tmp_path: Path
) -> None:
    server, _ = stored
    garbage = tmp_path / "not-a-database.db"
    garbage.write_bytes(os.urandom(4096))
    env = {"CLEARANCE_DATABASE_URL": f"sqlite:///{garbage}"}
    line = failed(run(server, "request", "list", env=env), 70, "internal error:")
    assert "CLEARANCE_DEBUG=1" in line
    debug = run(server, "request", "list", env={**env, "CLEARANCE_DEBUG": "1"})
    assert debug.returncode != 0
    assert "Traceback" in debug.stderr


def test_usage_errors_are_2_with_clicks_usage_line(stored: tuple[Server, str]) -> None:
    server, _ = stored
    done = run(server, "request", "show")
    assert done.returncode == 2
    assert "Usage:" in done.stderr


def test_the_help_lists_every_exit_code(stored: tuple[Server, str]) -> None:
    server, _ = stored
    done = run(server, "--help")
    assert done.returncode == 0
    text = " ".join(done.stdout.split())
    for code in ("0 done", "1 verification failed", "2 invalid input", "3 not found"):
        assert code in text, text
    for code in ("4 conflict", "5 not allowed", "70 internal error"):
        assert code in text, text


def test_serve_takes_its_port_from_clearance_port(stored: tuple[Server, str]) -> None:
    server, _ = stored
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run(server, "serve", env={"CLEARANCE_PORT": str(port)})
    failed(done, 2, f"port {port} on 127.0.0.1 is in use")
