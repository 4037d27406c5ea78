"""What a duty officer does with the real ``clearance`` command, in subprocesses, next to a
separately running ``clearance serve`` (SQLite and PostgreSQL): list and revoke principals
(a revoked token is refused by the running server at once, and the log records it),
decide with conditions, read times as the API writes them, and get one clear line (exit 2)
on bad input."""

from __future__ import annotations

import base64
import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.serverproc import CLEARANCE, NIGER, Server, serving

PRINCIPALS = {
    "planner": ("--operator", "US.AFRICOM"),
    "dod": ("--authority", "US.DoD"),
    "dod-relief": ("--authority", "US.DoD"),
}
AGADEZ_2020 = NIGER / "requests" / "05-us-armed-overwatch-agadez-2020.yaml"
RFC3339_Z = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")
OFFSET = re.compile(r"T\d\d:\d\d:\d\d(\.\d+)?[+-]\d\d:\d\d")


@pytest.fixture
def server(db_url: str, tmp_path: Path) -> Iterator[tuple[Server, dict[str, str]]]:
    with serving(db_url, tmp_path, PRINCIPALS) as started:
        yield started


def run(s: Server, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLEARANCE, *args], env=s.env, capture_output=True, text=True, timeout=120, check=False
    )


def refused(done: subprocess.CompletedProcess[str], *words: str, code: int = 2) -> str:
    """Exit ``code`` (2: invalid input), nothing on stdout, one line on stderr holding
    ``words``; returns it."""
    assert done.returncode == code, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: ")
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def me(http: httpx.Client, token: str) -> httpx.Response:
    return http.get("/v1/me", headers={"Authorization": f"Bearer {token}"})


def test_a_revoked_token_is_refused_at_once_by_a_running_server_and_logged(
    server: tuple[Server, dict[str, str]], tmp_path: Path
) -> None:
    s, tokens = server
    with httpx.Client(base_url=s.base, timeout=30) as http:
        # The server has seen the token (the old code remembered it for 10 s).
        assert me(http, tokens["dod"]).json()["name"] == "dod"
        assert me(http, tokens["dod"]).status_code == 200
        done = run(s, "principal", "revoke", "dod")
        assert done.returncode == 0, done.stderr
        assert "revoked principal dod at " in done.stdout
        refusal = me(http, tokens["dod"])  # at once: no waiting, no retry
        assert refusal.status_code == 401
        assert refusal.headers["content-type"].startswith("application/problem+json")
        assert me(http, tokens["dod-relief"]).status_code == 200  # the others keep working

    # Acting as the revoked principal on the command line is refused too.
    line = refused(
        run(s, "request", "submit", str(AGADEZ_2020), "--as", "dod"), "dod", "revoked", code=5
    )
    assert RFC3339_Z.search(line), line

    # The audit log records the revocation, and stays intact.
    export = tmp_path / "export"
    assert run(s, "audit", "export", str(export)).returncode == 0
    lines = (export / "entries.jsonl").read_text().splitlines()
    entries = [json.loads(base64.b64decode(json.loads(x)["data"])) for x in lines]
    revoked = [e for e in entries if e["kind"] == "principal.revoked"]
    assert len(revoked) == 1, entries
    data = revoked[0]
    assert data["name"] == "dod"
    assert RFC3339_Z.fullmatch(data["at"])
    verified = run(s, "audit", "verify")
    assert verified.returncode == 0, verified.stderr


def test_principal_list_json_names_roles_and_revocations(
    server: tuple[Server, dict[str, str]],
) -> None:
    s, _ = server
    assert run(s, "principal", "revoke", "dod-relief").returncode == 0
    listed: list[dict[str, Any]] = json.loads(run(s, "principal", "list", "--json").stdout)
    assert [p["name"] for p in listed] == ["dod", "dod-relief", "planner"]
    by_name = {p["name"]: p for p in listed}
    assert by_name["planner"]["operator"] == "US.AFRICOM"
    assert by_name["planner"]["authority"] is None
    assert by_name["dod"]["authority"] == "US.DoD"
    assert by_name["dod"]["revoked_at"] is None
    assert RFC3339_Z.fullmatch(by_name["dod-relief"]["revoked_at"])
    for p in listed:
        assert set(p) == {"name", "operator", "authority", "created_at", "revoked_at"}
        assert RFC3339_Z.fullmatch(p["created_at"]), p  # never a token, times with Z
    table = run(s, "principal", "list")
    assert table.returncode == 0
    assert "dod-relief" in table.stdout
    assert RFC3339_Z.search(table.stdout)
    assert not OFFSET.search(table.stdout)


@pytest.mark.parametrize(
    ("args", "words", "code"),
    [
        (["principal", "revoke", "nobody"], ["no principal named 'nobody'"], 3),
        (["principal", "revoke", "dod"], ["already revoked"], 4),  # the second time
        (["request", "submit", str(AGADEZ_2020), "--as", "nobody"], ["nobody"], 3),
    ],
    ids=["unknown principal", "revoked twice", "acting as nobody"],
)
def test_bad_principals_get_one_clear_line(
    server: tuple[Server, dict[str, str]], args: list[str], words: list[str], code: int
) -> None:
    s, _ = server
    if "already revoked" in words:
        assert run(s, "principal", "revoke", "dod").returncode == 0
    refused(run(s, *args), *words, code=code)


def test_decide_with_conditions_as_the_api_takes_them(
    server: tuple[Server, dict[str, str]],
) -> None:
    s, tokens = server
    submitted = json.loads(
        run(s, "request", "submit", str(AGADEZ_2020), "--as", "planner", "--json").stdout
    )
    rid = submitted["id"]
    assert RFC3339_Z.fullmatch(submitted["created_at"])
    decide = ["request", "decide", rid, "--as", "dod", "--authority", "US.DoD", "--approve"]

    # Bad conditions: one line naming the option, nothing decided.
    refused(run(s, *decide, "--not-before", "2020-03-02T05:00:00Z"), "--conditions")
    refused(
        run(s, *decide, "--conditions", "x", "--not-before", "soon"), "--not-before", "RFC 3339"
    )
    refused(
        run(s, *decide, "--conditions", "x", "--not-after", "2021-01-01T00:00:00Z"),
        "--not-before/--not-after",
        "2020-03-02T04:00:00Z",  # the request's window, as the API writes it
    )
    refused(run(s, *decide, "--conditions", " "), "--conditions", "non-empty")
    with httpx.Client(base_url=s.base, timeout=30) as http:
        auth = {"Authorization": f"Bearer {tokens['dod']}"}
        assert http.get(f"/v1/requests/{rid}", headers=auth).json()["version"] == 1

        done = run(
            s, *decide, "--conditions", "no strikes near Agadez town",
            "--not-before", "2020-03-02T05:00:00+01:00", "--not-after", "2020-03-02T12:00:00Z",
            "--json",
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        from_cli = json.loads(done.stdout)
        from_api = http.get(f"/v1/requests/{rid}", headers=auth).json()
    dod = next(a for a in from_api["approvals"] if a["authority"] == "US.DoD")
    assert dod["status"] == "approved"
    assert dod["conditions"] == {
        "text": "no strikes near Agadez town",
        "time_start": "2020-03-02T04:00:00Z",
        "time_end": "2020-03-02T12:00:00Z",
        "volume": None,
    }
    assert next(a for a in from_cli["approvals"] if a["authority"] == "US.DoD") == dod

    shown = run(s, "request", "show", rid)
    assert shown.returncode == 0
    assert "conditions of US.DoD: no strikes near Agadez town" in shown.stdout
    # the state first, then the last evaluation apart with its time (not a second state)
    assert re.search(r"last evaluation \(\d{4}-\d\d-\d\dT[\d:.]+Z\): pending", shown.stdout)
    listed = run(s, "request", "list")
    for text in (shown.stdout, listed.stdout):
        assert RFC3339_Z.search(text)
        assert not OFFSET.search(text), text


def test_evaluate_names_what_holds_infeasible_and_denied_requests_not_a_review(
    tmp_path: Path,
) -> None:
    done = subprocess.run(
        [*CLEARANCE, "evaluate", str(NIGER / "requests"), "--scenario", str(NIGER)],
        capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = re.split(r"\n[├└]", done.stdout)
    seen = set()
    for row in rows:
        outcome = re.search(r"│ (cleared|pending|denied|infeasible) ", row)
        if outcome is None:
            continue
        seen.add(outcome.group(1))
        if outcome.group(1) in ("infeasible", "denied"):
            assert "awaiting review" not in row, row
        if outcome.group(1) == "denied":
            assert "denied by ML.Defense" in row, row
        if outcome.group(1) == "pending":
            assert "awaiting review" in row, row
    assert seen == {"cleared", "pending", "denied", "infeasible"}
    assert not OFFSET.search(done.stdout)  # site_not_operational names its time with Z


def test_help_describes_todays_commands() -> None:
    def help_of(*args: str) -> str:
        done = subprocess.run(
            [*CLEARANCE, *args, "--help"], capture_output=True, text=True, timeout=60, check=False
        )
        assert done.returncode == 0, done.stderr
        return " ".join(done.stdout.split())

    top = help_of()
    assert "evaluate Evaluate requests against a scenario, storing nothing" in top
    assert "check Same as `evaluate` (its earlier name, kept for scripts)." in top
    serve = help_of("serve")
    assert "later" not in serve
    assert "the page" in serve
    assert "/docs" in serve
    principal = help_of("principal")
    assert "list" in principal
    assert "revoke" in principal
    decide = help_of("request", "decide")
    for option in ("--conditions", "--not-before", "--not-after"):
        assert option in decide
    demo = help_of("demo")
    for option in ("--port", "--fresh"):
        assert option in demo
