"""Schemathesis 4 against a live ``clearance serve``: every check it has (``--checks
all``), positive and negative data, in every phase (examples, coverage, fuzzing,
stateful), as an operator and as a member of an authority. Any finding fails.

It runs the ``st`` command against the server's own ``/openapi.json``, as a user of the
service would, in deterministic mode (no seed, no example database) so CI repeats the
same cases.
Two settings, each explained where it is made:

- ``missing_required_header`` also accepts 428, the status RFC 6585 defines for a
  missing ``If-Match`` (its default list predates it);
- ``schemathesis_hooks.py`` drops a refusal of schema-valid data only when the rule the
  server names is one JSON Schema cannot state (an order between two fields, geometry,
  the calendar, the lines of a CSV body); the OpenAPI says those rules in words.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

from tests.serverproc import NIGER, ROOT, Server

ST = Path(sys.executable).with_name("st")
# Per operation and phase (the coverage phase adds its own boundary cases): the whole
# file took 2.5 min with 15 on the 2-core machine shared with other jobs.
MAX_EXAMPLES = 10
CONFIG = """\
[checks.missing_required_header]
# 428 Precondition Required is what a missing If-Match gets (RFC 6585, section 3)
expected-statuses = ["400", "401", "403", "406", "415", "422", "428"]

# Half the path parameters name what exists, so the fuzzer reaches past 404s
[dictionaries.requests]
values = {requests}
[dictionaries.authorities]
values = ["US.DoD", "US.State", "NE.Defense"]
[dictionaries.grants]
values = ["ne-us-unarmed-isr", "ne-fr-isr-armed"]

[parameters]
"path.request_id" = {{ dictionary = "requests", probability = 0.5 }}
"path.authority_id" = {{ dictionary = "authorities", probability = 0.5 }}
"path.grant_id" = {{ dictionary = "grants", probability = 0.5 }}
"""
# Stored before the run: pending with US.DoD, cleared, pending with Niger and Nigeria.
SEEDED = ("05", "01", "13")
PRINCIPALS = {
    "planner": ("--operator", "US.AFRICOM"),
    "dod": ("--authority", "US.DoD"),
}


@dataclass
class Live:
    server: Server
    tokens: dict[str, str]
    requests: list[str]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """A real server on a fresh SQLite file with the Niger example and a few requests
    (SQLite only: the contract does not depend on the database; other e2e tests run both)."""
    tmp = tmp_path_factory.mktemp("schemathesis")
    server = Server(f"sqlite:///{tmp / 'clearance.db'}", tmp / "server.log")
    tokens = server.prepare(PRINCIPALS)
    server.start()
    try:
        planner = {"Authorization": f"Bearer {tokens['planner']}"}
        ids = []
        for prefix in SEEDED:
            (path,) = (NIGER / "requests").glob(f"{prefix}-*.yaml")
            body = yaml.safe_load(path.read_text(encoding="utf-8"))
            created = httpx.post(f"{server.base}/v1/requests", json=body, headers=planner)
            assert created.status_code == 201, created.text
            ids.append(created.json()["id"])
        yield Live(server, tokens, ids)
    finally:
        server.stop()


@pytest.mark.parametrize("role", ["planner", "dod"])
def test_schemathesis_finds_nothing_with_every_check(live: Live, role: str, tmp_path: Path) -> None:
    server, tokens = live.server, live.tokens
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG.format(requests=json.dumps(live.requests)))
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "SCHEMATHESIS_HOOKS": "tests.e2e.schemathesis_hooks",
    }
    done = subprocess.run(
        [
            str(ST),
            "--config-file",
            str(config),
            "run",
            f"{server.base}/openapi.json",
            "--checks",
            "all",
            "--mode",
            "all",
            "--phases",
            "examples,coverage,fuzzing,stateful",
            "--max-examples",
            str(MAX_EXAMPLES),
            "--generation-deterministic",  # and so no example database
            "--header",
            f"Authorization: Bearer {tokens[role]}",
            "--no-color",
            "--report",
            "junit",
            "--report-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
        env=env,
    )
    summary = done.stdout[-6000:]
    assert done.returncode == 0, f"{role}: schemathesis found problems\n{summary}\n{done.stderr}"
    operations = sum(
        method in {"get", "put", "post", "delete", "patch"}
        for path in httpx.get(f"{server.base}/openapi.json").json()["paths"].values()
        for method in path
    )
    assert f"Tested: {operations}" in done.stdout, summary  # every operation was reached
