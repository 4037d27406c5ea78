"""The grant that would have cleared it (issue 15, item 2), through the service on SQLite
and PostgreSQL, with the seed's own pain: Niger had granted France armed overwatch over
Niger and had not granted the US. From NE.Defense's hand approvals of US armed-overwatch
requests, the suggestion is the grant that would have cleared them; loaded as a new
scenario version it covers them, and not the one NE.Defense denied."""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.engine import Engine

from clearance.adapters.files import read_document, write_document
from clearance.adapters.scenario_loader import load_scenario_files
from clearance.adapters.sql import make_engine, uow_factory, upgrade
from clearance.bootstrap import store_scenario, upgrade_database
from clearance.config import Settings
from clearance.domain.clearance.evaluation import evaluate
from clearance.domain.clearance.model import ApprovalStatus, Principal
from clearance.domain.clearance.requests import parse_request
from clearance.domain.clearance.workflow import Decision
from clearance.domain.errors import ForbiddenError, InputError, NotFoundError
from clearance.service import grant_suggestions as mining
from clearance.service import handlers
from clearance.service.context import Context
from clearance.service.memory import MemoryStore, MemoryUnitOfWork
from clearance.service.ports import PinnedClock
from clearance.service.scenarios import ScenarioVersions
from tests.integration.test_sql_storage import SUBMITTED, opened

NIGER = Path(__file__).parents[2] / "examples" / "niger"
NOW = datetime(2017, 11, 20, tzinfo=UTC)
PLANNER = Principal("us-planner", operator="US.AFRICOM")
MEMBERS = {a: Principal(f"{a.lower()}-member", authority=a) for a in ("US.DoD", "US.State", "NE.Defense", "NE.PM")}  # fmt: skip
# Armed overwatch of patrols in the Tillaberi region (example 05), on different days.
APPROVED = [((14.60, 1.45), 0), ((14.20, 2.00), 2), ((14.00, 1.70), 6)]
DENIED = ((14.90, 5.26), 4)  # over Tahoua, between the approved days


@dataclass
class World:
    ctx: Context
    clock: PinnedClock
    settings: Settings
    approved: list[dict[str, Any]]
    denied: dict[str, Any]
    ids: list[str]


def overwatch(centre: tuple[float, float], day: int) -> dict[str, Any]:
    doc = read_document(NIGER / "requests" / "05-us-armed-overwatch-agadez-2020.yaml")
    doc = copy.deepcopy(json.loads(json.dumps(doc, default=str)))
    assert isinstance(doc, dict)
    volume = doc["volumes"][0]
    volume["volume"]["outline_circle"] = {
        "center": {"lat": centre[0], "lng": centre[1]},
        "radius": {"value": 20_000, "units": "M"},
    }
    start = datetime(2020, 3, 2, 4, tzinfo=UTC) + timedelta(days=day)
    volume["time_start"]["value"] = start.isoformat().replace("+00:00", "Z")
    volume["time_end"]["value"] = (start + timedelta(hours=12)).isoformat().replace("+00:00", "Z")
    return doc


def through_the_chain(world: World, doc: dict[str, Any], ne_approves: bool) -> str:
    rid = handlers.submit(world.ctx, PLANNER, doc).record.id
    for authority in ("US.DoD", "US.State", "NE.PM"):
        handlers.decide(world.ctx, MEMBERS[authority], rid, authority, Decision.APPROVE)
    ne = Decision.APPROVE if ne_approves else Decision.DENY
    handlers.decide(world.ctx, MEMBERS["NE.Defense"], rid, "NE.Defense", ne, "by hand")
    return rid


@pytest.fixture
def world(db_url: str, tmp_path: Path) -> Iterator[World]:
    settings = replace(Settings.from_env(), database_url=db_url, key_dir=tmp_path / "keys", now=NOW)
    upgrade_database(settings)
    store_scenario(NIGER, settings)
    engine: Engine = make_engine(db_url)
    clock = PinnedClock(NOW)
    try:
        ctx = Context(uow_factory(engine), ScenarioVersions(load_scenario_files), clock)
        handlers.add_principal(ctx, PLANNER.name, operator=PLANNER.operator)
        for who in MEMBERS.values():
            handlers.add_principal(ctx, who.name, authority=who.authority)
        approved = [overwatch(c, d) for c, d in APPROVED]
        denied = overwatch(*DENIED)
        w = World(ctx, clock, settings, approved, denied, [])
        for i, doc in enumerate(approved[:2]):
            clock.at = NOW + timedelta(days=i + 1)
            w.ids.append(through_the_chain(w, doc, True))
        clock.at = NOW + timedelta(days=3)
        w.ids.append(through_the_chain(w, denied, False))
        clock.at = NOW + timedelta(days=4)
        w.ids.append(through_the_chain(w, approved[2], True))
        yield w
    finally:
        engine.dispose()


def ne_defense(scenario_ctx: Context, doc: dict[str, Any]) -> ApprovalStatus:
    scenario = scenario_ctx.current_scenario()
    e = evaluate(parse_request(doc, scenario), scenario)
    return next(a.status for a in e.approvals if a.authority == "NE.Defense")


def test_niger_would_have_cleared_the_us_as_it_cleared_france(world: World, tmp_path: Path) -> None:
    found = mining.grant_suggestions(world.ctx, MEMBERS["NE.Defense"], "NE.Defense")
    assert (found.approvals, found.denials) == (3, 1)
    best = found.suggestions[0]
    assert best.grant.grantee == "US.AFRICOM"
    assert best.grant.purposes == {"armed-overwatch"}
    assert best.grant.payloads == {"armed"}
    assert (len(best.covered), best.approvals, best.denials_covered) == (3, 3, 0)
    assert "ne-fr-isr-armed" in best.similar  # what France already had
    view = mining.suggestions_view(found)["suggestions"][0]
    assert view["approvals_covered"] == 3
    assert view["denials_covered"] == 0

    # before: NE.Defense must review each of them by hand
    assert [ne_defense(world.ctx, d) for d in world.approved] == [ApprovalStatus.NEEDS_REVIEW] * 3

    # a member turns it into a grant proposal, and it is loaded as a new scenario version
    proposal = tmp_path / "proposal.yaml"
    write_document(proposal, {"grants": [view["grant"]]}, "a proposal")
    proposed = read_document(proposal)
    assert isinstance(proposed, dict)
    scenario_dir = tmp_path / "niger"
    shutil.copytree(NIGER, scenario_dir)
    main = yaml.safe_load((scenario_dir / "scenario.yaml").read_text("utf-8"))
    main["grants"] += proposed["grants"]
    (scenario_dir / "scenario.yaml").write_text(yaml.safe_dump(main), "utf-8")
    before = world.ctx.current_scenario().version
    store_scenario(scenario_dir, world.settings)  # handlers.load_scenario, made current
    assert world.ctx.current_scenario().version != before

    assert [ne_defense(world.ctx, d) for d in world.approved] == [
        ApprovalStatus.COVERED_BY_GRANT
    ] * 3
    assert ne_defense(world.ctx, world.denied) is ApprovalStatus.NEEDS_REVIEW


def test_the_period_selects_decisions_by_when_they_were_made(world: World) -> None:
    member = MEMBERS["NE.Defense"]
    early = mining.grant_suggestions(
        world.ctx, member, "NE.Defense", until=NOW + timedelta(days=2, hours=12)
    )
    assert (early.approvals, early.denials) == (2, 0)
    assert early.suggestions[0].grant.area == "NE"  # nothing denied: the whole territory
    late = mining.grant_suggestions(world.ctx, member, "NE.Defense", since=NOW + timedelta(days=3))
    assert (late.approvals, late.denials) == (1, 1)
    assert len(late.suggestions[0].covered) == 1


def test_only_members_of_the_authority_may_ask(world: World) -> None:
    with pytest.raises(ForbiddenError, match=r"not a member of NE\.Defense"):
        mining.grant_suggestions(world.ctx, MEMBERS["US.DoD"], "NE.Defense")
    with pytest.raises(ForbiddenError):
        mining.grant_suggestions(world.ctx, PLANNER, "NE.Defense")
    with pytest.raises(NotFoundError, match="no authority 'XX'"):
        mining.grant_suggestions(world.ctx, None, "XX")


def test_a_bad_period_names_the_parameter() -> None:
    with pytest.raises(InputError, match="since"):
        mining.period("yesterday", None)
    with pytest.raises(InputError, match="until: must be after since"):
        mining.period("2017-11-22T00:00:00Z", "2017-11-21T00:00:00Z")
    assert mining.period(None, None) == (None, None)


def test_decided_by_hand_is_what_the_memory_reference_returns(db_url: str) -> None:
    """Only a member's approve or deny, made in [since, until), oldest request first; a
    policy's denial (no one named) and a pending review are not decisions by hand; newest
    request first, at most ``limit``."""
    upgrade(db_url)
    engine = make_engine(db_url)
    try:
        memory = MemoryUnitOfWork(MemoryStore())
        with uow_factory(engine)() as sql, memory:
            for uow in (sql, memory):
                ids = [f"req-{i}" for i in range(4)]
                records = [
                    opened("13-us-isr-into-nigeria.yaml", ids[0], SUBMITTED),
                    opened("13-us-isr-into-nigeria.yaml", ids[1], SUBMITTED + timedelta(minutes=1)),
                    opened("05-us-armed-overwatch-agadez-2020.yaml", ids[2], SUBMITTED + timedelta(minutes=2)),
                    opened("03-us-armed-overwatch-niamey.yaml", ids[3], SUBMITTED + timedelta(minutes=3)),
                ]  # fmt: skip
                hour = timedelta(hours=1)
                records[0].decide("NE.Defense", Decision.APPROVE, "ne", SUBMITTED + hour)
                records[1].decide("NE.Defense", Decision.DENY, "ne", SUBMITTED + 2 * hour)
                records[2].decide("US.DoD", Decision.DENY, "dod", SUBMITTED + 3 * hour)
                for record in records:
                    uow.requests.add(record)
                uow.commit()

            def same(authority: str, since: datetime, until: datetime) -> list[str]:
                expected = memory.requests.decided_by_hand(authority, since, until, 100)
                got = sql.requests.decided_by_hand(authority, since, until, 100)
                assert [r.id for r in got] == [r.id for r in expected]
                return [r.id for r in got]

            early, late = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
            assert same("NE.Defense", early, late) == ["req-1", "req-0"]  # newest first
            assert same("NE.Defense", SUBMITTED + timedelta(hours=2), late) == ["req-1"]
            assert same("NE.Defense", early, SUBMITTED + timedelta(hours=2)) == ["req-0"]
            assert same("US.DoD", early, late) == ["req-2"]  # not 03, denied by a policy
            assert same("NG.Defense", early, late) == []  # still waiting
            assert [r.id for r in sql.requests.decided_by_hand("NE.Defense", early, late, 1)] == [
                "req-1"
            ]
    finally:
        engine.dispose()
