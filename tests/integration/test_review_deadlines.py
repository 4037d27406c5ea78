"""Review deadlines per authority in the scenario: validated on load, shown on the queue
and the request, and told once to the authority's deadline_passed subscribers; requests
expiring soon told once too. SQLite and PostgreSQL."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from clearance.adapters.scenario_loader import load_scenario
from clearance.adapters.sql import make_engine, uow_factory, upgrade
from clearance.domain.errors import ScenarioError
from clearance.service import handlers, queries, webhooks
from clearance.service.context import Context
from clearance.service.ports import PinnedClock
from clearance.service.views import queue_item_view, record_view

NIGER = Path(__file__).parents[2] / "examples" / "niger"
ARMED_2020 = NIGER / "requests" / "05-us-armed-overwatch-agadez-2020.yaml"
NOW = datetime(2017, 11, 20, tzinfo=UTC)


def _scenario(tmp: Path, rule: object) -> Path:
    """The Niger scenario with US.DoD's ``review_deadline`` set to ``rule``."""
    copy = tmp / "niger"
    shutil.copytree(NIGER, copy)
    main = copy / "scenario.yaml"
    data = yaml.safe_load(main.read_text(encoding="utf-8"))
    data["authorities"]["US.DoD"]["review_deadline"] = rule
    main.write_text(yaml.safe_dump(data), encoding="utf-8")
    return copy


@pytest.fixture
def ctx(db_url: str, tmp_path: Path) -> Iterator[Context]:
    engine = make_engine(db_url)
    upgrade(engine)
    scenario = load_scenario(_scenario(tmp_path, {"within": "PT4H", "share_of_lead_time": 0.5}))
    try:
        yield Context(uow_factory(engine), scenario, PinnedClock(NOW))
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("rule", "field", "words"),
    [
        ({"within": "4 hours"}, "review_deadline.within", "ISO 8601 duration"),
        ({"within": "P1M"}, "review_deadline.within", "no years or months"),
        ({"within": "PT0S"}, "review_deadline.within", "longer than zero"),
        ({"share_of_lead_time": 1.5}, "review_deadline.share_of_lead_time", "at most 1"),
        ({"share_of_lead_time": 0}, "review_deadline.share_of_lead_time", "more than 0"),
        ({}, "review_deadline", "within, share_of_lead_time or both"),
        ({"within": "PT4H", "soon": 1}, "review_deadline", "soon"),
    ],
)
def test_a_bad_review_deadline_is_refused_naming_file_and_field(
    tmp_path: Path, rule: object, field: str, words: str
) -> None:
    with pytest.raises(ScenarioError) as raised:
        load_scenario(_scenario(tmp_path, rule))
    message = str(raised.value)
    assert "scenario.yaml" in message
    assert f"authorities.US.DoD.{field}" in message
    assert words in message


def test_the_deadline_is_the_earlier_of_the_duration_and_the_share(tmp_path: Path) -> None:
    scenario = load_scenario(_scenario(tmp_path, {"within": "PT4H", "share_of_lead_time": 0.5}))
    rule = scenario.authorities["US.DoD"].review_deadline
    assert rule is not None
    assert rule.due(NOW, NOW + timedelta(days=10)) == NOW + timedelta(hours=4)
    assert rule.due(NOW, NOW + timedelta(hours=2)) == NOW + timedelta(hours=1)


def test_an_overdue_review_is_flagged_and_told_once(ctx: Context) -> None:
    handlers.add_principal(ctx, "planner", operator="US.AFRICOM")
    handlers.add_principal(ctx, "dod", authority="US.DoD")
    planner, dod = queries.principal(ctx, "planner"), queries.principal(ctx, "dod")
    url = "http://127.0.0.1:9/hook"
    sub = handlers.subscribe(ctx, dod, ("authority", "US.DoD"), url, ["deadline_passed"], "dod")
    rid = handlers.submit(ctx, planner, yaml.safe_load(ARMED_2020.read_text())).record.id
    due = NOW + timedelta(hours=4)

    (item,) = queries.queue(ctx, dod, "US.DoD")
    view = queue_item_view(item, NOW, ctx.current_scenario())
    assert view["review_deadline"] == "2017-11-20T04:00:00Z"
    assert view["overdue"] is False
    record, _ = queries.get(ctx, dod, rid)
    assert {"authority": "US.DoD", "at": "2017-11-20T04:00:00Z"} in record_view(
        record, ctx.current_scenario()
    )["review_deadlines"]
    assert handlers.tell_due(ctx) == 0  # not yet

    assert isinstance(ctx.clock, PinnedClock)
    ctx.clock.at = due + timedelta(minutes=1)
    (item,) = queries.queue(ctx, dod, "US.DoD")
    assert queue_item_view(item, ctx.clock.at, ctx.current_scenario())["overdue"] is True
    assert handlers.tell_due(ctx) == 1
    assert handlers.tell_due(ctx) == 0  # once
    ctx.clock.at = due + timedelta(hours=1)
    assert handlers.tell_due(ctx) == 0
    (told,) = webhooks.deliveries(ctx.uow, None)
    assert told.subscription_id == sub.id
    assert told.payload["type"] == "deadline_passed"
    assert told.payload["data"]["request_id"] == rid
    assert told.payload["data"]["review_deadline"] == "2017-11-20T04:00:00Z"


def test_a_request_expiring_soon_is_told_once(ctx: Context) -> None:
    handlers.add_principal(ctx, "planner", operator="US.AFRICOM")
    planner = queries.principal(ctx, "planner")
    sub = handlers.subscribe(
        ctx, planner, ("operator", "US.AFRICOM"), "http://127.0.0.1:9/", ["expiring_soon"], "p"
    )
    record = handlers.submit(ctx, planner, yaml.safe_load(ARMED_2020.read_text())).record
    assert isinstance(ctx.clock, PinnedClock)
    assert handlers.tell_due(ctx) == 0
    ctx.clock.at = record.time_start - timedelta(minutes=30)
    assert handlers.tell_due(ctx) == 1
    assert handlers.tell_due(ctx) == 0
    (told,) = webhooks.deliveries(ctx.uow, None)
    assert (told.subscription_id, told.event) == (sub.id, "expiring_soon")
