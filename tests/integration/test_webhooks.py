"""Who is told: outbox rows in the change's transaction, delivered signed to a real HTTP
receiver on loopback, retried, dead-lettered and redelivered; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from standardwebhooks import Webhook

from clearance.adapters.clock import wall_now
from clearance.adapters.scenario_loader import load_scenario
from clearance.adapters.sql import make_engine, uow_factory, upgrade
from clearance.adapters.webhook_sender import HttpSender
from clearance.domain.clearance.workflow import Decision, RequestState
from clearance.domain.errors import ForbiddenError, NotFoundError, RequestError
from clearance.service import handlers, queries, webhooks
from clearance.service.context import Context
from clearance.service.notify import record_changed
from clearance.service.outbox import EVENTS
from clearance.service.ports import PinnedClock
from clearance.service.webhooks import DeliveryPolicy, deliver_due
from tests.webhook_receiver import Received, receiving

NIGER = Path(__file__).parents[2] / "examples" / "niger"
ARMED_2020 = NIGER / "requests" / "05-us-armed-overwatch-agadez-2020.yaml"
QUICK = DeliveryPolicy(attempts=3, base=0.0, jitter=0.0, lease=30.0)


@pytest.fixture
def ctx(db_url: str) -> Iterator[Context]:
    engine = make_engine(db_url)
    upgrade(engine)
    try:
        yield Context(
            uow_factory(engine),
            load_scenario(NIGER),
            PinnedClock(datetime(2017, 11, 20, tzinfo=UTC)),
        )
    finally:
        engine.dispose()


def _submit(ctx: Context) -> str:
    handlers.add_principal(ctx, "planner", operator="US.AFRICOM")
    planner = queries.principal(ctx, "planner")
    return handlers.submit(ctx, planner, yaml.safe_load(ARMED_2020.read_text())).record.id


def _verified(received: list[Received], secret: str) -> list[dict[str, object]]:
    """Every body, checked with the standardwebhooks library as a receiver would."""
    out = []
    for r in received:
        payload = Webhook(secret).verify(r.body, r.headers)
        assert payload["type"] in EVENTS
        out.append(payload)
    return out


def test_a_submission_and_its_decisions_reach_the_receiver_signed(ctx: Context) -> None:
    with receiving() as receiver:
        dod = handlers.subscribe(ctx, None, ("authority", "US.DoD"), receiver.url, EVENTS, "t")
        africom = handlers.subscribe(
            ctx,
            None,
            ("operator", "US.AFRICOM"),
            receiver.url,
            ["decided", "cleared", "denied"],
            "t",
        )
        rid = _submit(ctx)
        handlers.add_principal(ctx, "dod", authority="US.DoD")
        member = queries.principal(ctx, "dod")
        record = handlers.decide(ctx, member, rid, "US.DoD", Decision.DENY, "no")
        assert record.state is RequestState.DENIED
        sent, failed = deliver_due(ctx.uow, HttpSender(allow_private=True), wall_now, QUICK)
        assert (sent, failed) == (5, 0)
        got = receiver.wait_for(5)
    by_sub = {dod.id: dod.secret, africom.id: africom.secret}
    deliveries = {d.id: d for d in webhooks.deliveries(ctx.uow, None)}
    told: list[tuple[str, str]] = []
    for r in got:
        delivery = deliveries[r.headers["webhook-id"]]
        (payload,) = _verified([r], by_sub[delivery.subscription_id])
        assert payload["data"]["request_id"] == rid  # type: ignore[index]
        told.append((delivery.subscription_id, str(payload["type"])))
    assert sorted(told) == sorted(
        [
            (dod.id, "waiting_for_you"),
            (dod.id, "decided"),
            (dod.id, "denied"),
            (africom.id, "decided"),
            (africom.id, "denied"),
        ]
    )
    assert all(d.status == "delivered" for d in deliveries.values())


def test_a_change_that_rolls_back_tells_nobody(ctx: Context) -> None:
    handlers.subscribe(ctx, None, ("operator", "US.AFRICOM"), "http://127.0.0.1:9/x", EVENTS, "t")
    rid = _submit(ctx)
    before = len(webhooks.deliveries(ctx.uow, None))
    with ctx.uow() as uow:
        record = uow.requests.get(rid)
        assert record is not None
        record.withdraw("planner", datetime(2017, 11, 20, 1, tzinfo=UTC))
        record.flag(["overlaps"], "req-other", datetime(2017, 11, 20, 1, tzinfo=UTC))
        assert record_changed(uow, record) == 1  # the conflict, in this unit of work
        # leaves without commit
    assert len(webhooks.deliveries(ctx.uow, None)) == before


def test_a_failed_delivery_is_retried_with_the_same_webhook_id_until_a_2xx(
    ctx: Context,
) -> None:
    with receiving(statuses=[500, 503]) as receiver:
        sub = handlers.subscribe(
            ctx, None, ("authority", "US.DoD"), receiver.url, ["waiting_for_you"], "t"
        )
        _submit(ctx)
        assert deliver_due(ctx.uow, HttpSender(allow_private=True), wall_now, QUICK) == (0, 1)
        (pending,) = webhooks.deliveries(ctx.uow, None, "pending")
        assert pending.attempts == 1
        assert "HTTP 500" in (pending.last_error or "")
        assert deliver_due(ctx.uow, HttpSender(allow_private=True), wall_now, QUICK) == (0, 1)
        assert deliver_due(ctx.uow, HttpSender(allow_private=True), wall_now, QUICK) == (1, 0)
        got = receiver.wait_for(3)
    assert len(got) == 3
    assert {r.headers["webhook-id"] for r in got} == {pending.id}
    _verified(got, sub.secret)
    (done,) = webhooks.deliveries(ctx.uow, None, "delivered")
    assert done.attempts == 3


def test_backoff_waits_longer_after_each_failure() -> None:
    policy = DeliveryPolicy(base=10, cap=3600, jitter=0.2)
    assert [policy.delay(n, lambda: 0.5) for n in (1, 2, 3)] == [10, 20, 40]
    assert policy.delay(20, lambda: 0.5) == 3600
    assert 8 <= policy.delay(1, lambda: 0.0) < policy.delay(1, lambda: 0.99) <= 12


def test_a_delivery_failing_every_attempt_is_dead_then_redelivered(ctx: Context) -> None:
    with receiving(statuses=[500, 500, 500]) as receiver:
        sub = handlers.subscribe(
            ctx, None, ("authority", "US.DoD"), receiver.url, ["waiting_for_you"], "t"
        )
        _submit(ctx)
        for _ in range(3):
            deliver_due(ctx.uow, HttpSender(allow_private=True), wall_now, QUICK)
        assert deliver_due(ctx.uow, HttpSender(allow_private=True), wall_now, QUICK) == (
            0,
            0,
        )  # dead: not sent
        (dead,) = webhooks.deliveries(ctx.uow, None, "dead")
        assert dead.attempts == 3
        handlers.redeliver(ctx, None, dead.id)
        assert deliver_due(ctx.uow, HttpSender(allow_private=True), wall_now, QUICK) == (1, 0)
        got = receiver.wait_for(4)
    assert [r.headers["webhook-id"] for r in got] == [dead.id] * 4
    _verified(got[-1:], sub.secret)
    assert webhooks.deliveries(ctx.uow, None, "dead") == []


def test_an_unreachable_receiver_counts_as_a_failed_attempt(ctx: Context) -> None:
    with receiving() as receiver:
        url = receiver.url
    handlers.subscribe(ctx, None, ("authority", "US.DoD"), url, ["waiting_for_you"], "t")
    _submit(ctx)
    assert deliver_due(ctx.uow, HttpSender(timeout=2, allow_private=True), wall_now, QUICK) == (
        0,
        1,
    )
    (pending,) = webhooks.deliveries(ctx.uow, None, "pending")
    assert "ConnectError" in (pending.last_error or "")


def test_two_workers_at_once_send_each_message_once(ctx: Context) -> None:
    with receiving(hold=0.05) as receiver:
        for _ in range(8):
            handlers.subscribe(ctx, None, ("authority", "US.DoD"), receiver.url, EVENTS, "t")
        rid = _submit(ctx)
        handlers.add_principal(ctx, "dod", authority="US.DoD")
        handlers.decide(ctx, queries.principal(ctx, "dod"), rid, "US.DoD", Decision.DENY)
        total = len(webhooks.deliveries(ctx.uow, None, "pending"))
        assert total == 24  # waiting_for_you, decided, denied, to each
        barrier = threading.Barrier(2)

        def work() -> None:
            barrier.wait()
            deliver_due(ctx.uow, HttpSender(allow_private=True), wall_now, QUICK)

        threads = [threading.Thread(target=work) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        got = receiver.wait_for(total)
    ids = [r.headers["webhook-id"] for r in got]
    assert len(ids) == total == len(set(ids))
    assert webhooks.deliveries(ctx.uow, None, "pending") == []


def test_who_may_subscribe_whom(ctx: Context) -> None:
    handlers.add_principal(ctx, "planner", operator="US.AFRICOM")
    handlers.add_principal(ctx, "dod", authority="US.DoD")
    planner = queries.principal(ctx, "planner")
    dod = queries.principal(ctx, "dod")
    url = "https://hooks.example/x"
    handlers.subscribe(ctx, planner, ("operator", "US.AFRICOM"), url, ["cleared"], "planner")
    handlers.subscribe(ctx, planner, ("principal", "planner"), url, ["cleared"], "planner")
    mine = handlers.subscribe(ctx, dod, ("authority", "US.DoD"), url, ["waiting_for_you"], "dod")
    for who, subscriber in (
        (planner, ("authority", "US.DoD")),
        (dod, ("operator", "US.AFRICOM")),
        (dod, ("principal", "planner")),
    ):
        with pytest.raises(ForbiddenError):
            handlers.subscribe(ctx, who, subscriber, url, ["cleared"], who.name)
    assert [s.id for s in webhooks.subscriptions(ctx.uow, dod)] == [mine.id]
    with pytest.raises(NotFoundError):
        handlers.unsubscribe(ctx, planner, mine.id)
    handlers.unsubscribe(ctx, dod, mine.id)
    assert webhooks.subscriptions(ctx.uow, dod) == []


@pytest.mark.parametrize(
    ("url", "events", "field"),
    [
        ("ftp://hooks.example/x", ["cleared"], "url"),
        ("http:///nohost", ["cleared"], "url"),
        ("https://hooks.example:99999/x", ["cleared"], "url"),
        ("https://hooks.example/x", ["exploded"], "events"),
        ("https://hooks.example/x", [], "events"),
    ],
)
def test_a_bad_subscription_is_refused_naming_the_field(
    ctx: Context, url: str, events: list[str], field: str
) -> None:
    with pytest.raises(RequestError) as raised:
        handlers.subscribe(ctx, None, ("authority", "US.DoD"), url, events, "t")
    assert raised.value.field == field
    assert webhooks.subscriptions(ctx.uow, None) == []


def test_a_payload_is_json_with_type_timestamp_and_data(ctx: Context) -> None:
    handlers.subscribe(ctx, None, ("authority", "US.DoD"), "http://127.0.0.1:9/", EVENTS, "t")
    rid = _submit(ctx)
    (d,) = webhooks.deliveries(ctx.uow, None)
    assert d.payload["type"] == "waiting_for_you"
    assert d.payload["data"]["request_id"] == rid
    assert json.loads(json.dumps(d.payload)) == d.payload
    assert datetime.fromisoformat(d.payload["timestamp"].replace("Z", "+00:00")) == datetime(
        2017, 11, 20, tzinfo=UTC
    )
    assert d.next_attempt_at <= wall_now() + timedelta(seconds=1)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]"])
def test_a_webhook_to_a_loopback_or_private_address_is_refused_unless_allowed(
    ctx: Context, host: str
) -> None:
    """A subscriber names the URL: by default the server does not call into its own
    network (loopback here; private and link-local addresses alike)."""
    with receiving() as receiver:
        url = receiver.url.replace("127.0.0.1", host)
        handlers.subscribe(ctx, None, ("authority", "US.DoD"), url, ["waiting_for_you"], "t")
        _submit(ctx)
        assert deliver_due(ctx.uow, HttpSender(), wall_now, QUICK) == (0, 1)
        (pending,) = webhooks.deliveries(ctx.uow, None, "pending")
        assert "not a globally routable address" in (pending.last_error or "")
        assert "CLEARANCE_WEBHOOK_PRIVATE=1" in (pending.last_error or "")
        assert receiver.got == []
