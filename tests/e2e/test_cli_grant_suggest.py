"""``clearance grant suggest`` in a subprocess, on SQLite and PostgreSQL: the suggestion
in text and JSON, ``--out`` writing a grant proposal that a scenario loads as it is, and
bad input refused with one line, exit 2 and nothing written."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from clearance import bootstrap
from clearance.adapters.scenario_loader import load_scenario
from clearance.adapters.sql import make_engine
from clearance.config import Settings
from clearance.domain.clearance.workflow import Decision
from clearance.service import handlers, queries
from clearance.service.ports import PinnedClock
from tests.e2e.conftest import document, later, make_workflow
from tests.serverproc import CLEARANCE, NIGER

NOW = datetime(2017, 11, 20, tzinfo=UTC)
CHAIN = ("US.DoD", "US.State", "NE.PM", "NE.Defense")


@pytest.fixture
def bare(db_url: str, tmp_path: Path) -> Settings:
    """The Niger scenario and its principals; nothing decided yet."""
    configured = Settings(database_url=db_url, now=NOW, key_dir=tmp_path / "keys")
    bootstrap.upgrade_database(configured)
    bootstrap.store_scenario(NIGER, configured)
    engine = make_engine(configured.database_url)
    try:
        flow = make_workflow(engine)
        handlers.add_principal(flow, "planner", operator="US.AFRICOM")
        for authority in CHAIN:
            handlers.add_principal(flow, authority, authority=authority)
    finally:
        engine.dispose()
    return configured


@pytest.fixture
def settings(bare: Settings) -> Settings:
    configured = bare
    engine = make_engine(configured.database_url)
    try:
        flow = make_workflow(engine)
        planner = queries.principal(flow, "planner")
        for day in (1, 2):  # example 05 on two more days, approved by everyone by hand
            assert isinstance(flow.clock, PinnedClock)
            flow.clock.at = NOW + timedelta(hours=day)
            rid = handlers.submit(flow, planner, later(document("05"), day)).record.id
            for authority in CHAIN:
                who = queries.principal(flow, authority)
                handlers.decide(flow, who, rid, authority, Decision.APPROVE, "by hand")
    finally:
        engine.dispose()
    return configured


def _run(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        "CLEARANCE_DATABASE_URL": settings.database_url,
        "CLEARANCE_KEY_DIR": str(settings.key_dir),
        "CLEARANCE_NOW": "2017-11-21T00:00:00Z",
    }
    return subprocess.run(
        [*CLEARANCE, "grant", "suggest", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_cli_suggests_the_grant_and_writes_a_proposal_a_scenario_loads(
    settings: Settings, tmp_path: Path
) -> None:
    text = _run(settings, "--authority", "NE.Defense")
    assert text.returncode == 0, text.stderr
    assert "NE.Defense: 2 approvals and 0 denials by hand" in text.stdout
    assert "would have cleared 2 of 2 approvals by hand and 0 of 0 denials" in text.stdout

    out = tmp_path / "proposal.yaml"
    done = _run(
        settings, "--authority", "NE.Defense", "--as", "NE.Defense", "--json", "--out", str(out)
    )
    assert done.returncode == 0, done.stderr
    view = json.loads(done.stdout)
    best = view["suggestions"][0]
    assert (best["approvals_covered"], best["denials_covered"]) == (2, 0)
    proposal = yaml.safe_load(out.read_text("utf-8"))
    assert proposal == {"grants": [best["grant"]]}
    assert out.read_text("utf-8").startswith("# A grant proposal")
    assert out.read_text("utf-8") == best["proposal"]  # what the API returns, byte for byte

    scenario_dir = tmp_path / "niger"
    shutil.copytree(NIGER, scenario_dir)
    main = yaml.safe_load((scenario_dir / "scenario.yaml").read_text("utf-8"))
    main["grants"] += proposal["grants"]
    (scenario_dir / "scenario.yaml").write_text(yaml.safe_dump(main), "utf-8")
    grant = load_scenario(scenario_dir).grants[best["grant"]["id"]]
    assert grant.grantee == "US.AFRICOM"
    assert grant.payloads == {"armed"}

    pick = _run(settings, "--authority", "NE.Defense", "--pick", "9", "--out", str(out))
    assert pick.returncode == 2, pick.stderr
    assert "--pick: there are" in pick.stderr
    assert len(pick.stderr.splitlines()) == 1
    assert yaml.safe_load(out.read_text("utf-8")) == proposal  # left as it was


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("--since", "last week"), 2, "since"),
        (("--since", "2017-11-22T00:00:00Z", "--until", "2017-11-21T00:00:00Z"), 2, "until"),
        (("--out", "proposal.txt"), 2, "must end in .yaml"),
        (("--as", "US.DoD"), 5, "not a member of NE.Defense"),
        (("--out", "proposal.yaml"), 3, "no grant would"),
    ],
)
def test_bad_input_is_one_line_and_nothing_is_written(
    bare: Settings, tmp_path: Path, args: tuple[str, ...], code: int, message: str
) -> None:
    args = tuple(str(tmp_path / a) if a.startswith("proposal") else a for a in args)
    done = _run(bare, "--authority", "NE.Defense", *args)
    assert done.returncode == code, (done.stdout, done.stderr)
    assert message in done.stderr
    assert len(done.stderr.splitlines()) == 1
    assert "Traceback" not in done.stderr
    assert list(tmp_path.glob("proposal*")) == []
