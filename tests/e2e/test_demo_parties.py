"""``./run`` as the parties' demo (issue 13 item 7): the authorities' root keys and the
members' keys are made in ``var/parties/`` (their own machines), never in the server's key
directory, which holds the log's key alone; the members are enrolled by root-signed
statements; three witnesses (US, NE, FR) run beside the server, the policy they are named
in is served, and checkpoints carry a quorum of their cosignatures, one including a
decision signed with a member's key file. When the demo stops, so do the witnesses."""

from __future__ import annotations

import base64
import socket
import subprocess
import time
from datetime import datetime
from pathlib import Path

import httpx
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from clearance.adapters.key_files import read_key_file
from clearance.domain.errors import QuorumError
from clearance.domain.ledger.checkpoint import raw_public
from clearance.domain.ledger.policy import check_quorum, parse_policy
from clearance.domain.ledger.signatures import document_digest, sign_statement, statement_for
from tests.e2e.test_demo_run import Demo, demo, tokens_in

__all__ = ["demo"]  # fixture

NE = "NE.Defense"
NE_MEMBER = "ne-defense-staff"


def public_text(key: Ed25519PrivateKey) -> str:
    return base64.b64encode(raw_public(key)).decode()


def private_keys_under(folder: Path) -> dict[Path, str]:
    """Every file under ``folder`` that holds a private key, with its public key."""
    found = {}
    for path in folder.rglob("*"):
        if not path.is_file():
            continue
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except (ValueError, TypeError):
            continue
        assert isinstance(key, Ed25519PrivateKey), path
        found[path] = public_text(key)
    return found


def test_the_demo_keeps_the_parties_keys_off_the_server_and_is_witnessed_by_a_quorum(
    demo: Demo,
) -> None:
    tokens = demo.start()
    var = demo.directory
    scenario = yaml.safe_load((var / "scenario" / "scenario.yaml").read_text(encoding="utf-8"))
    roots = {a: e["root_key"] for a, e in scenario["authorities"].items()}
    assert len(roots) == 16
    assert all(roots.values())
    with httpx.Client(base_url=demo.base, timeout=30) as http:
        log_key = http.get("/v1/keys").json()["log"]["public_key"]
        enrolled = {}
        for authority in roots:
            listed = http.get(
                f"/v1/authorities/{authority}/members",
                headers={"Authorization": f"Bearer {tokens['africom-planner']}"},
            ).json()
            assert listed["root_key"] == roots[authority]
            enrolled |= {
                k["member"]: k["public_key"] for k in listed["keys"] if not k["revoked_at"]
            }

        # the server's key directory holds the log's key and nothing else
        server_side = private_keys_under(var / "demo-keys")
        assert list(server_side.values()) == [log_key], server_side
        # every authority's root key and every member's key is in the parties' folders
        parties = private_keys_under(var / "parties")
        for authority, root in roots.items():
            assert parties[var / "parties" / authority / "root.key"] == root
        # the demo's members, and those the replayed timeline enrolled for its decisions
        assert {
            "dod-duty-officer", "state-africa-desk", NE_MEMBER, "ne-pm-office",
            "fr-defense-staff", "ml-defense-staff",
        } <= set(enrolled)  # fmt: skip
        for member, public in enrolled.items():
            (path,) = (p for p, k in parties.items() if p.stem == member)
            assert parties[path] == public
        assert not set(server_side.values()) & set(parties.values())

        # the policy served is the one the witnesses were started under: 2 of US, NE, FR
        text = http.get("/v1/audit/policy").text
        assert text == (var / "witnesses.policy").read_text(encoding="utf-8")
        policy = parse_policy(text, "served policy")
        assert policy.describe() == "parties (2 of US, NE, FR)"

        # a decision signed with the member's key file (as the page or the CLI would)
        headers = {"Authorization": f"Bearer {tokens[NE_MEMBER]}"}
        queue = http.get(f"/v1/authorities/{NE}/queue", headers=headers).json()["items"]
        rid = queue[0]["id"]
        seen = http.get(f"/v1/requests/{rid}", headers=headers).json()
        now = http.get("/v1/me", headers=headers).json()["now"]
        at = now.split(".")[0].rstrip("Z") + "Z"
        key = read_key_file(var / "parties" / NE / f"{NE_MEMBER}.key")
        statement = statement_for(
            rid, seen["version"] + 1, document_digest(seen["document"]), NE, "approve",
            "witnessed", None, NE_MEMBER, _instant(at),
        )  # fmt: skip
        body = {
            "authority": NE, "decision": "approve", "comment": "witnessed", "at": at,
            "signature": sign_statement(key, statement),
        }  # fmt: skip
        decided = http.post(f"/v1/requests/{rid}/decisions", json=body, headers=headers)
        assert decided.status_code == 200, decided.text

        # a checkpoint including it, with the quorum's cosignatures
        deadline = time.monotonic() + 300  # the witnesses start beside it, on a loaded machine
        while True:
            audit = http.get(f"/v1/requests/{rid}/audit", headers=headers).json()
            note = audit["checkpoint"]["note"]
            last = max(e["index"] for e in audit["entries"])
            try:
                quorum = check_quorum(policy, note)
            except QuorumError as e:
                problem: str | None = str(e)
            else:
                problem = None if last < audit["checkpoint"]["size"] else "not included yet"
            if problem is None:
                break
            assert time.monotonic() < deadline, problem
            time.sleep(0.5)
        assert len(quorum.cosigned) >= 2

    ports = [int(line.rsplit(":", 1)[1]) for line in text.splitlines() if "http://" in line]
    assert len(ports) == 3
    demo.stop()
    deadline = time.monotonic() + 30
    while any(_listening(p) for p in ports):
        assert time.monotonic() < deadline, "a witness outlived the demo"
        time.sleep(0.2)


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def test_fresh_starts_the_parties_over_and_no_run_leaves_an_authority_key_server_side(
    demo: Demo,
) -> None:
    first = demo.start()
    assert first
    demo.stop()
    root = (demo.directory / "parties" / "US.DoD" / "root.key").read_bytes()
    done = subprocess.run(
        [str(Path(__file__).parents[2] / "run"), "--dir", str(demo.directory), "--no-serve",
         "--fresh"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "dod-duty-officer" in done.stdout
    assert tokens_in(done.stdout)
    assert (demo.directory / "parties" / "US.DoD" / "root.key").read_bytes() != root
    assert not (demo.directory / "demo-keys" / "authorities").exists()
