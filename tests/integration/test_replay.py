"""``bootstrap.replay_timeline`` on SQLite and PostgreSQL: every step is dated by the
script, time to clearance is measured from those dates, a root-key authority's member
signs with a key made in the parties' folder, and a timeline the service refuses leaves
the database given untouched."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from clearance import bootstrap
from clearance.adapters.files import read_document
from clearance.adapters.key_files import new_key_file
from clearance.adapters.scenario_loader import scenario_files
from clearance.adapters.sql import make_engine, schema_problem, uow_factory
from clearance.adapters.timeline_files import example_request, read_timeline
from clearance.config import Settings
from clearance.domain.errors import TimelineError
from clearance.domain.ledger.checkpoint import raw_public
from clearance.domain.ledger.members import key_text
from clearance.domain.ledger.signatures import (
    decision_statement,
    document_digest,
    verify_statement,
)
from clearance.service import queries
from clearance.service.forecasts import forecast_request

ROOT = Path(__file__).parents[2]
NIGER = ROOT / "examples" / "niger"
DAY = 86_400.0

STEPS: list[dict[str, Any]] = [
    {"at": "2017-09-01T08:00:00Z",
     "submit": {"ref": "n1", "request": "13-us-isr-into-nigeria", "start": "2017-09-10T06:00:00Z"}},
    {"at": "2017-09-01T10:00:00Z",
     "submit": {"ref": "i1", "request": "01-us-isr-ouallam", "start": "2017-09-05T06:00:00Z"}},
    {"at": "2017-09-02T08:00:00Z",
     "decide": {"ref": "n1", "authority": "NE.Defense", "as": "ne-defense-staff",
                "decision": "approve", "comment": "route agreed"}},
    {"at": "2017-09-03T08:00:00Z",
     "submit": {"ref": "n2", "request": "13-us-isr-into-nigeria", "start": "2017-09-12T06:00:00Z"}},
    {"at": "2017-09-03T20:00:00Z",
     "decide": {"ref": "n2", "authority": "NE.Defense", "as": "ne-defense-staff",
                "decision": "deny", "comment": "not this week"}},
    {"at": "2017-09-04T08:00:00Z",
     "decide": {"ref": "n1", "authority": "NG.Defense", "as": "ng-defense-staff",
                "decision": "approve", "conditions": {"text": "no lower than 3000 m"}}},
]  # fmt: skip


def write(tmp_path: Path, steps: list[dict[str, Any]], scenario: Path = NIGER) -> Path:
    path = tmp_path / "timeline.yaml"
    path.write_text(yaml.safe_dump({"scenario": str(scenario), "steps": steps}), "utf-8")
    return path


def settings(tmp_path: Path) -> Settings:
    return replace(Settings.from_env(), key_dir=tmp_path / "service-keys", now=None)


def requests_in(url: str) -> int:
    """How many requests the database holds (none when it was never even made)."""
    engine = make_engine(url)
    try:
        if schema_problem(engine) is not None:
            return 0
        with uow_factory(engine)() as uow:
            return len(uow.requests.search(limit=1000))
    finally:
        engine.dispose()


def test_a_replay_dates_every_step_and_measures_time_to_clearance(
    db_url: str, tmp_path: Path
) -> None:
    run = bootstrap.replay_timeline(
        write(tmp_path, STEPS), None, settings(tmp_path),
        database_url=db_url, keys=tmp_path / "parties",
    )  # fmt: skip
    got = {r.ref: r for r in run.replayed.requests}
    assert {ref: r.state for ref, r in got.items()} == {
        "n1": "cleared",
        "i1": "cleared",
        "n2": "denied",
    }
    assert got["n1"].seconds_to_clearance == 3 * DAY  # submitted 1 Sep, Nigeria said yes 4 Sep
    assert got["i1"].seconds_to_clearance == 0.0  # cleared by grant and policy at once
    assert got["n2"].seconds_to_clearance is None
    waits = {a.authority: a for a in run.replayed.authorities}
    assert waits["NE.Defense"].decisions == 2
    assert waits["NE.Defense"].median_wait_seconds == (DAY + DAY / 2) / 2  # 24 h and 12 h
    assert waits["NG.Defense"].decisions == 1
    assert waits["NG.Defense"].median_wait_seconds == 3 * DAY
    assert run.replayed.median_seconds_to_clearance == 1.5 * DAY

    # What is stored is dated by the script, and served from the database given.
    with bootstrap.opened_context(replace(settings(tmp_path), database_url=db_url)) as ctx:
        record, _ = queries.inspect(ctx, got["n1"].request_id)
    assert record.created_at.isoformat() == "2017-09-01T08:00:00+00:00"
    nigeria = record.approval("NG.Defense")
    assert nigeria.by == "ng-defense-staff"
    assert nigeria.conditions is not None
    assert nigeria.conditions.text == "no lower than 3000 m"
    assert requests_in(db_url) == 3


def test_a_step_the_service_refuses_is_named_and_the_database_stays_untouched(
    db_url: str, tmp_path: Path
) -> None:
    refused = [
        *STEPS,
        {"at": "2017-09-05T08:00:00Z",
         "decide": {"ref": "n2", "authority": "NG.Defense", "as": "ng-defense-staff",
                    "decision": "approve"}},
    ]  # fmt: skip
    path = write(tmp_path, refused)
    with pytest.raises(TimelineError) as raised:
        bootstrap.replay_timeline(
            path, None, settings(tmp_path), database_url=db_url, keys=tmp_path / "parties"
        )
    assert raised.value.source == str(path)
    assert raised.value.field == "steps[6].decide"
    assert "is denied" in raised.value.rule
    assert requests_in(db_url) == 0  # the rehearsal failed: nothing was written here


def test_a_database_that_holds_requests_is_refused(db_url: str, tmp_path: Path) -> None:
    path = write(tmp_path, STEPS[:2])
    bootstrap.replay_timeline(
        path, None, settings(tmp_path), database_url=db_url, keys=tmp_path / "parties"
    )
    with pytest.raises(Exception, match="holds requests already") as raised:
        bootstrap.replay_timeline(
            path, None, settings(tmp_path), database_url=db_url, keys=tmp_path / "parties"
        )
    assert getattr(raised.value, "field", None) == "--database"
    assert requests_in(db_url) == 2


def signed_scenario(tmp_path: Path, parties: Path) -> Path:
    """The Niger scenario with NE.Defense keeping a root key, whose private half is in
    the parties' folder (the authority officer's machine)."""
    (parties / "NE.Defense").mkdir(parents=True)
    root = new_key_file(parties / "NE.Defense" / "root.key")
    scenario = tmp_path / "scenario"
    shutil.copytree(NIGER, scenario)
    main = scenario / "scenario.yaml"
    line = "  NE.Defense: {party: NE, name: Ministry of Defence of Niger"  # the rest follows
    text = main.read_text(encoding="utf-8")
    assert line in text
    public = key_text(raw_public(root))
    main.write_text(text.replace(line, line + f", root_key: {public}"), "utf-8")
    return scenario


def test_a_root_key_authoritys_member_signs_with_a_key_of_their_own(
    db_url: str, tmp_path: Path
) -> None:
    parties = tmp_path / "parties"
    scenario = signed_scenario(tmp_path, parties)
    run = bootstrap.replay_timeline(
        write(tmp_path, STEPS, scenario), None, settings(tmp_path),
        database_url=db_url, keys=parties,
    )  # fmt: skip
    member_file = parties / "NE.Defense" / "ne-defense-staff.key"
    assert member_file.stat().st_mode & 0o777 == 0o600
    with bootstrap.opened_context(replace(settings(tmp_path), database_url=db_url)) as ctx:
        keys = queries.member_keys(ctx)
        n1 = next(r for r in run.replayed.requests if r.ref == "n1")
        record, _ = queries.inspect(ctx, n1.request_id)
    (enrolled,) = [k for k in keys if k.authority == "NE.Defense"]
    assert enrolled.member == "ne-defense-staff"
    assert not (tmp_path / "service-keys" / "ne-defense-staff.key").exists()
    niger = record.approval("NE.Defense")
    statement = decision_statement(
        record.id, 2, document_digest(record.document), niger
    )  # the decision made version 2 (submitted at 1)
    verify_statement(enrolled.public_key, statement, niger.signature)


def test_without_the_root_key_the_replay_names_the_file_and_writes_nothing(
    db_url: str, tmp_path: Path
) -> None:
    parties = tmp_path / "parties"
    scenario = signed_scenario(tmp_path, parties)
    (parties / "NE.Defense" / "root.key").unlink()
    path = write(tmp_path, STEPS, scenario)
    with pytest.raises(TimelineError) as raised:
        bootstrap.replay_timeline(path, None, settings(tmp_path), database_url=db_url, keys=parties)
    assert raised.value.field == "steps[2].decide"
    assert str(parties / "NE.Defense" / "root.key") in raised.value.rule
    assert requests_in(db_url) == 0


def test_the_shipped_niger_timeline_names_only_example_requests_that_exist() -> None:
    timeline, directory, documents = read_timeline(NIGER / "timeline.yaml")
    assert directory == NIGER
    assert timeline.references() == set(documents)
    for name in timeline.references():
        found = example_request(NIGER, name)
        assert found is not None, name
        assert read_document(found) == documents[name]
    assert len([s for s in timeline.steps if s.action == "submit"]) >= 36
    assert timeline.end.isoformat() == "2017-11-20T00:00:00+00:00"  # the scenario's clock
    assert "timeline.yaml" not in scenario_files(NIGER)  # beside the scenario, not in it
    assert all(s.illustrative for s in timeline.steps if s.at.date().isoformat() != "2017-10-04")


def test_the_shipped_niger_timeline_replays_with_history_for_every_forecast(
    sqlite_url: str, tmp_path: Path
) -> None:
    run = bootstrap.replay_timeline(
        NIGER / "timeline.yaml", None, settings(tmp_path),
        database_url=sqlite_url, keys=tmp_path / "parties",
    )  # fmt: skip
    states = [r.state for r in run.replayed.requests]
    assert {"cleared", "denied", "infeasible", "pending", "withdrawn"} <= set(states)
    by = {r.ref: r.state for r in run.replayed.requests}
    assert by["patrol-armed-niamey"] == "infeasible"  # no US munitions storage at Niamey
    assert by["patrol-armed-agadez"] == "infeasible"  # Air Base 201 not yet operational
    waits = {a.authority: a for a in run.replayed.authorities}
    assert {"US.DoD", "US.State", "NE.Defense", "NE.PM", "NG.Defense"} <= set(waits)
    assert all((a.median_wait_seconds or 0) > 3600 for a in waits.values())

    pending = [r for r in run.replayed.requests if r.state == "pending"]
    assert pending
    with bootstrap.opened_context(replace(settings(tmp_path), database_url=sqlite_url)) as ctx:
        ctx.clock = bootstrap.demo_clock(run.timeline, settings(tmp_path), None)
        officer = queries.principal(ctx, "africom-planner")
        for r in pending:
            found = forecast_request(ctx.uow, ctx.clock, officer, r.request_id)
            assert found.status.value == "forecast", (r.ref, found.not_enough_history)
