"""`clearance monitor` as a party runs it from cron, in a subprocess against a real
server (SQLite): exit 0 with one line (size, root) pass after pass; exit 1 with one line
naming the rollback when the log is rolled back and re-signed; exit 2 on bad arguments
and files. Never a traceback."""

from __future__ import annotations

import subprocess
from pathlib import Path
from types import SimpleNamespace

import httpx
import sqlalchemy as sa

from tests.integration.test_witnessed_log import forge
from tests.serverproc import CLEARANCE, Server, serving

PRINCIPALS = {"ne": ("--authority", "NE.Defense")}


def monitor(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in server.env.items() if k != "CLEARANCE_DEBUG"}
    return subprocess.run(
        [*CLEARANCE, "monitor", *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_monitor_exit_codes_from_cron(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'clearance.db'}"
    with serving(url, tmp_path, PRINCIPALS) as (server, tokens):
        log_vkey = httpx.get(f"{server.base}/v1/keys", timeout=30).json()["log"]["vkey"]
        policy = tmp_path / "ne.policy"
        policy.write_text(f"log {log_vkey}\nquorum none\n")
        state = tmp_path / "ne-monitor"
        args = ["--log", server.base, "--state", str(state), "--policy", str(policy)]
        done = monitor(server, *args, "--token", tokens["ne"], "--once")
        assert done.returncode == 0, done.stderr
        (line,) = done.stdout.splitlines()
        assert line.startswith("monitor: log consistent: size ")
        size = int(line.split("size ")[1].split(",")[0])
        assert (state / "checkpoint").read_text().split("\n")[1] == str(size)

        # bad arguments and files: exit 2, one line naming the option or file
        for bad, said in (
            (["--log", "ftp://x"], "--log"),
            (["--policy", str(tmp_path / "missing.policy")], "missing.policy"),
            (["--gossip", str(policy)], "--gossip"),
        ):
            wrong = monitor(server, *args, *bad, "--token", tokens["ne"], "--once")
            assert wrong.returncode == 2, wrong.stderr
            assert said in wrong.stderr
            assert "Traceback" not in wrong.stderr
        fresh = ["--state", str(tmp_path / "fresh")]  # entries to read: a token is needed
        no_token = monitor(server, *args, *fresh, "--once")
        assert no_token.returncode == 2
        assert "--token" in no_token.stderr
        # the token from a file, kept off the command line that other users can read
        token_file = tmp_path / "ne.token"
        token_file.write_text(tokens["ne"] + "\n")
        by_file = monitor(server, *args, *fresh, "--token-file", str(token_file), "--once")
        assert by_file.returncode == 0, by_file.stderr
        assert by_file.stdout.startswith("monitor: log consistent: size ")
        for bad_file, said in (
            (tmp_path / "no.token", "no.token"),
            (policy.with_name("empty.token"), "first line must be the token"),
        ):
            if said.startswith("first"):
                bad_file.write_text("\n")
            wrong = monitor(server, *args, *fresh, "--token-file", str(bad_file), "--once")
            assert wrong.returncode == 2, wrong.stderr
            assert said in wrong.stderr
            assert "--token-file" in wrong.stderr
            assert "Traceback" not in wrong.stderr

    # the operator of the server drops the newest entry and signs the smaller tree
    engine = sa.create_engine(url)
    try:
        forge(SimpleNamespace(engine=engine), "rollback")  # type: ignore[arg-type]
    finally:
        engine.dispose()
    again = Server(url, tmp_path / "again.log")  # no `scenario load`: nothing appended
    again.start()
    try:
        args[1] = again.base
        done = monitor(again, *args, "--token", tokens["ne"], "--once")
    finally:
        again.stop()
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"monitor: FAILED: rollback: checkpoint of size {size - 1} ")
