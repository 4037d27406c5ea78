"""Webhook delivery rate: one worker sending the outbox to a loopback receiver (SQLite
file, in process). Usage: python bench/webhooks.py [N | --small]  (N messages, default
500; --small: 20). Ends with one JSON line of the figures."""

from __future__ import annotations

import json
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import yaml

from clearance.adapters.clock import wall_now
from clearance.adapters.scenario_loader import load_scenario
from clearance.adapters.sql import make_engine, uow_factory, upgrade
from clearance.adapters.webhook_sender import HttpSender
from clearance.service import handlers, queries
from clearance.service.context import Context
from clearance.service.ports import PinnedClock
from clearance.service.webhooks import DeliveryPolicy, deliver_due

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT))
from tests.webhook_receiver import receiving  # noqa: E402

NIGER = ROOT / "examples" / "niger"


def main(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, receiving() as receiver:
        engine = make_engine(f"sqlite:///{tmp}/bench.db")
        upgrade(engine)
        ctx = Context(
            uow_factory(engine),
            load_scenario(NIGER),
            PinnedClock(datetime(2017, 11, 20, tzinfo=UTC)),
        )
        for _ in range(n):
            handlers.subscribe(
                ctx, None, ("authority", "US.DoD"), receiver.url, ["waiting_for_you"], "b"
            )
        handlers.add_principal(ctx, "planner", operator="US.AFRICOM")
        doc = yaml.safe_load(
            (NIGER / "requests" / "05-us-armed-overwatch-agadez-2020.yaml").read_text()
        )
        started = time.perf_counter()
        handlers.submit(ctx, queries.principal(ctx, "planner"), doc)
        enqueued = time.perf_counter() - started
        started = time.perf_counter()
        sent = 0
        policy = DeliveryPolicy(batch=1000)
        while sent < n:
            done, _ = deliver_due(ctx.uow, HttpSender(allow_private=True), wall_now, policy)
            sent += done
        took = time.perf_counter() - started
        print(f"submit telling {n} subscriptions: {enqueued * 1000:.0f} ms")
        print(f"delivered {n} in {took:.2f} s: {n / took:.0f} webhooks/s (one worker)")
        figures = {"bench": "webhooks", "messages": n, "enqueue_ms": round(enqueued * 1000, 1)}
        print(json.dumps(figures | {"per_second": round(n / took, 1)}))
        engine.dispose()


if __name__ == "__main__":
    arg = sys.argv[1] if len(sys.argv) > 1 else "500"
    main(20 if arg == "--small" else int(arg))
