"""The server holds no authority's private key (issue 13): a whole story run over HTTP
by a server process leaves nothing in its key directory but the log's own key; an
authority that keeps a root key has its decision signed by its member (keys held by the
test, the parties: tests/parties.py), one that names none has its decisions recorded
unsigned, which `clearance serve` warns of and `clearance audit verify` reports, naming
the authority, without failing. SQLite and PostgreSQL."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import httpx

from clearance.domain.documents import instant
from tests import parties
from tests.e2e.conftest import NOW, SCENARIO, document
from tests.serverproc import CLEARANCE, Server

SIGNER = "US.DoD"  # keeps a root key in this test's scenario
OFFICER = "dod-officer"


def cli(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLEARANCE, *args], env=server.env, capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip


def decide_all(server: Server, tokens: dict[str, str], rid: str) -> dict[str, Any]:
    """Every approval awaiting a person, decided over HTTP by its authority's member, in
    chain order: US.DoD's signed with its officer's own key, the others unsigned."""
    with httpx.Client(base_url=server.base, timeout=60) as http:
        for _ in range(10):
            shown = http.get(
                f"/v1/requests/{rid}", headers={"Authorization": f"Bearer {tokens['planner']}"}
            ).json()
            if shown["state"] != "pending":
                return dict(shown)
            waiting = [a for a in shown["approvals"] if a["status"] == "needs_review"]
            stage = min(a["stage"] for a in waiting)
            for a in (a for a in waiting if a["stage"] == stage):
                authority = a["authority"]
                member = OFFICER if authority == SIGNER else f"{authority}-member"
                body: dict[str, Any] = {"authority": authority, "decision": "approve"}
                if authority == SIGNER:
                    seen = http.get(
                        f"/v1/requests/{rid}",
                        headers={"Authorization": f"Bearer {tokens[member]}"},
                    ).json()
                    body, _ = parties.signed_decision(seen, authority, member, NOW)
                done = http.post(
                    f"/v1/requests/{rid}/decisions", json=body,
                    headers={"Authorization": f"Bearer {tokens[member]}"},
                )  # fmt: skip
                assert done.status_code == 200, done.text
    raise AssertionError(f"request {rid} is still pending")


def test_a_story_over_http_leaves_no_authority_key_server_side_and_unsigned_is_reported(
    db_url: str, tmp_path: Path
) -> None:
    service_keys = tmp_path / "service-keys"  # the server's own key directory
    scenario = parties.scenario_with_roots(SCENARIO, tmp_path / "scenario", [SIGNER])
    root = parties.key_file(parties.root_key(SIGNER), tmp_path / "parties" / "root.pem")
    server = Server(
        db_url,
        tmp_path / "server.log",
        extra_env={"CLEARANCE_KEY_DIR": str(service_keys), "CLEARANCE_NOW": instant(NOW)},
    )
    server.cli("db", "upgrade")
    server.cli("scenario", "load", str(scenario))
    tokens = {"planner": server.cli("principal", "add", "planner", "--operator", "US.AFRICOM")}
    tokens[OFFICER] = server.cli("principal", "add", OFFICER, "--authority", SIGNER)
    for authority in ("US.State", "NE.Defense", "NE.PM", "FR.Defense"):
        name = f"{authority}-member"
        tokens[name] = server.cli("principal", "add", name, "--authority", authority)
    tokens = {k: v.strip().splitlines()[-1] for k, v in tokens.items()}
    enrolled = cli(
        server, "member", "enroll", OFFICER, "--authority", SIGNER,
        "--public-key", parties.public(parties.member_key(SIGNER, OFFICER)),
        "--root-key", str(root),
    )  # fmt: skip
    assert enrolled.returncode == 0, enrolled.stderr

    server.start()
    try:
        with httpx.Client(base_url=server.base, timeout=60) as http:
            made = http.post(
                "/v1/requests", json=document("05"),
                headers={"Authorization": f"Bearer {tokens['planner']}"},
            )  # fmt: skip
            assert made.status_code == 201, made.text
        final = decide_all(server, tokens, made.json()["id"])
    finally:
        server.stop()
    assert final["state"] == "cleared", final
    decided = {a["authority"]: a for a in final["approvals"] if a["by"]}
    assert decided[SIGNER]["signature"]
    keyless = sorted(a for a in decided if a != SIGNER)
    assert keyless
    assert all(decided[a]["signature"] is None for a in keyless)

    # the server warned once, at start, naming the authorities without a root key
    log = (tmp_path / "server.log").read_text()
    warnings = [line for line in log.splitlines() if "name no root key" in line]
    assert len(warnings) == 1, log
    assert SIGNER not in warnings[0]
    assert "recorded unsigned" in warnings[0]
    assert "clearance key new" in warnings[0]

    # no authority's key was made or kept by the server: only the log's own key
    assert not (service_keys / "authorities").exists()
    assert sorted(p.name for p in service_keys.rglob("*") if p.is_file()) == ["instance.pem"]

    verified = cli(server, "audit", "verify")
    assert verified.returncode == 0, verified.stderr
    assert "1 signed decisions" in verified.stdout
    total = len(keyless)
    named = ", ".join(f"{a} (1)" for a in keyless) if total > 1 else keyless[0]
    assert f"{total} decisions unsigned: {named}" in verified.stdout, verified.stdout
    as_json = json.loads(cli(server, "audit", "verify", "--json").stdout)
    assert as_json["ok"]
    assert as_json["unsigned"] == dict.fromkeys(keyless, 1)


def test_the_cli_has_no_authority_keygen() -> None:
    done = subprocess.run(
        [*CLEARANCE, "authority", "keygen", "US.State"], capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "No such command" in done.stderr
