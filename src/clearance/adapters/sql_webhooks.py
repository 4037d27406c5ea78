"""Webhook subscriptions and the outbox over SQLAlchemy Core (``service.outbox``).

The claim is one conditional ``UPDATE ... WHERE id = ? AND <due> AND <no live lease>``
committed before the message is sent: on PostgreSQL a second process's UPDATE waits for
the first's row lock and then re-checks the condition (READ COMMITTED), on SQLite writes
are serialised; either way exactly one process gets rowcount 1. Portable SQL only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from clearance.adapters import sql_tables as t
from clearance.adapters.clock import wall_now
from clearance.domain.errors import ConflictError, NotFoundError
from clearance.service.outbox import (
    Claimed,
    Delivery,
    Message,
    Status,
    Subscription,
    WebhookRepository,
)

if TYPE_CHECKING:
    from clearance.adapters.sql import SqlUnitOfWork

_ERROR_CHARS = 500


class SqlWebhooks(WebhookRepository):
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self.uow = uow

    # -- subscriptions ----------------------------------------------------------------
    def add_subscription(self, subscription: Subscription) -> None:
        row = {
            "id": subscription.id,
            "subscriber_kind": subscription.subscriber_kind,
            "subscriber": subscription.subscriber,
            "url": subscription.url,
            "events": list(subscription.events),
            "secret": subscription.secret,
            "created_by": subscription.created_by,
            "created_at": subscription.created_at,
            "active": subscription.active,
        }
        if not self.uow.insert_unique(sa.insert(t.subscriptions), row):
            raise ConflictError(f"subscription {subscription.id} exists")  # pragma: no cover

    def subscription(self, subscription_id: str) -> Subscription | None:
        s = t.subscriptions.c
        row = self.uow.execute(sa.select(t.subscriptions).where(s.id == subscription_id)).first()
        return None if row is None else _subscription(row)

    def subscriptions(
        self, subscribers: Iterable[tuple[str, str]] | None, *, active: bool = True
    ) -> list[Subscription]:
        s = t.subscriptions.c
        query = sa.select(t.subscriptions)
        if active:
            query = query.where(s.active.is_(True))
        if subscribers is not None:
            wanted = set(subscribers)
            if not wanted:
                return []
            query = query.where(
                sa.or_(*(sa.and_(s.subscriber_kind == k, s.subscriber == n) for k, n in wanted))
            )
        rows = self.uow.execute(query.order_by(s.created_at, s.id))
        return [_subscription(r) for r in rows]

    def deactivate(self, subscription_id: str) -> None:
        s = t.subscriptions.c
        done = self.uow.execute(
            sa.update(t.subscriptions)
            .where(s.id == subscription_id, s.active.is_(True))
            .values(active=False),
            write=True,
        )
        if done.rowcount != 1:
            raise NotFoundError(f"no active subscription {subscription_id!r}")

    # -- outbox -------------------------------------------------------------------------
    def enqueue(self, messages: Sequence[Message]) -> int:
        at = wall_now()
        added = 0
        for m in messages:
            row = {
                "id": m.id,
                "event_type": m.event,
                "subscription_id": m.subscription_id,
                "request_id": m.request_id,
                "once_key": m.once_key,
                "payload": m.payload,
                "created_at": at,
                "attempts": 0,
                "next_attempt_at": at,
                "leased_until": None,
                "delivered_at": None,
                "dead": False,
                "last_error": None,
            }
            if m.once_key is None:
                self.uow.execute(sa.insert(t.outbox), row, write=True)
                added += 1
            elif self.uow.insert_unique(sa.insert(t.outbox), row):
                added += 1
        return added

    def _due(self, now: datetime) -> sa.ColumnElement[bool]:
        o = t.outbox.c
        return sa.and_(
            o.delivered_at.is_(None),
            o.dead.is_(False),
            o.next_attempt_at <= now,
            sa.or_(o.leased_until.is_(None), o.leased_until <= now),
        )

    def due(self, now: datetime, limit: int) -> list[str]:
        o = t.outbox.c
        query = sa.select(o.id).where(self._due(now)).order_by(o.next_attempt_at, o.id)
        return [r.id for r in self.uow.execute(query.limit(limit))]

    def claim(self, message_id: str, now: datetime, lease_until: datetime) -> Claimed | None:
        o = t.outbox.c
        done = self.uow.execute(
            sa.update(t.outbox)
            .where(o.id == message_id, self._due(now))
            .values(leased_until=lease_until, attempts=o.attempts + 1),
            write=True,
        )
        if done.rowcount != 1:
            return None
        s = t.subscriptions.c
        row = self.uow.execute(
            sa.select(t.outbox, s.url, s.secret)
            .join(t.subscriptions, s.id == o.subscription_id)
            .where(o.id == message_id)
        ).one()
        return Claimed(_delivery(row), row.url, row.secret)

    def delivered(self, message_id: str, at: datetime) -> None:
        self._update(message_id, delivered_at=at, leased_until=None, last_error=None)

    def failed(self, message_id: str, error: str, retry_at: datetime | None) -> None:
        values: dict[str, Any] = {"leased_until": None, "last_error": error[:_ERROR_CHARS]}
        if retry_at is None:
            values["dead"] = True
        else:
            values["next_attempt_at"] = retry_at
        self._update(message_id, **values)

    def delivery(self, message_id: str) -> Delivery | None:
        o = t.outbox.c
        row = self.uow.execute(sa.select(t.outbox).where(o.id == message_id)).first()
        return None if row is None else _delivery(row)

    def deliveries(
        self, status: Status | None, subscription_ids: Sequence[str] | None, limit: int
    ) -> list[Delivery]:
        o = t.outbox.c
        query = sa.select(t.outbox)
        if subscription_ids is not None:
            if not subscription_ids:
                return []
            query = query.where(o.subscription_id.in_(list(subscription_ids)))
        if status == "delivered":
            query = query.where(o.delivered_at.is_not(None))
        elif status == "dead":
            query = query.where(o.delivered_at.is_(None), o.dead.is_(True))
        elif status == "pending":
            query = query.where(o.delivered_at.is_(None), o.dead.is_(False))
        rows = self.uow.execute(query.order_by(o.created_at.desc(), o.id.desc()).limit(limit))
        return [_delivery(r) for r in rows]

    def redeliver(self, message_id: str) -> None:
        self._update(
            message_id,
            attempts=0,
            next_attempt_at=wall_now(),
            leased_until=None,
            delivered_at=None,
            dead=False,
        )

    def _update(self, message_id: str, **values: Any) -> None:
        o = t.outbox.c
        done = self.uow.execute(
            sa.update(t.outbox).where(o.id == message_id).values(**values), write=True
        )
        if done.rowcount != 1:
            raise NotFoundError(f"no delivery {message_id!r}")


def _subscription(row: Any) -> Subscription:
    return Subscription(
        id=row.id,
        subscriber_kind=row.subscriber_kind,
        subscriber=row.subscriber,
        url=row.url,
        events=tuple(row.events),
        secret=row.secret,
        created_by=row.created_by,
        created_at=row.created_at,
        active=bool(row.active),
    )


def _delivery(row: Any) -> Delivery:
    return Delivery(
        id=row.id,
        event=row.event_type,
        subscription_id=row.subscription_id,
        request_id=row.request_id,
        payload=row.payload,
        created_at=row.created_at,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        delivered_at=row.delivered_at,
        dead=bool(row.dead),
        last_error=row.last_error,
    )
