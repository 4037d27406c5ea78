"""The in-memory ``WebhookRepository`` (unit tests), beside ``service.memory``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from clearance.domain.errors import NotFoundError
from clearance.service.outbox import (
    Claimed,
    Delivery,
    Message,
    Status,
    Subscription,
    WebhookRepository,
)


@dataclass
class WebhookStore:
    subscriptions: dict[str, Subscription] = field(default_factory=dict)
    outbox: dict[str, Delivery] = field(default_factory=dict)
    once: set[tuple[str, str, str]] = field(default_factory=set)
    leases: dict[str, datetime] = field(default_factory=dict)


class MemoryWebhooks(WebhookRepository):
    def __init__(self, store: WebhookStore) -> None:
        self.store = store

    def add_subscription(self, subscription: Subscription) -> None:
        self.store.subscriptions[subscription.id] = subscription

    def subscription(self, subscription_id: str) -> Subscription | None:
        return self.store.subscriptions.get(subscription_id)

    def subscriptions(
        self, subscribers: Iterable[tuple[str, str]] | None, *, active: bool = True
    ) -> list[Subscription]:
        wanted = None if subscribers is None else set(subscribers)
        found = [
            s
            for s in self.store.subscriptions.values()
            if (s.active or not active)
            and (wanted is None or (s.subscriber_kind, s.subscriber) in wanted)
        ]
        return sorted(found, key=lambda s: (s.created_at, s.id))

    def deactivate(self, subscription_id: str) -> None:
        found = self.store.subscriptions.get(subscription_id)
        if found is None or not found.active:
            raise NotFoundError(f"no active subscription {subscription_id!r}")
        self.store.subscriptions[subscription_id] = replace(found, active=False)

    def enqueue(self, messages: Sequence[Message]) -> int:
        at = datetime.now(UTC)
        added = 0
        for m in messages:
            if m.once_key is not None:
                key = (m.subscription_id, m.event, m.once_key)
                if key in self.store.once:
                    continue
                self.store.once.add(key)
            self.store.outbox[m.id] = Delivery(
                m.id, m.event, m.subscription_id, m.request_id, m.payload, at, 0, at, None,
                False, None,
            )  # fmt: skip
            added += 1
        return added

    def _is_due(self, d: Delivery, now: datetime) -> bool:
        lease = self.store.leases.get(d.id)
        return (
            d.status == "pending" and d.next_attempt_at <= now and (lease is None or lease <= now)
        )

    def due(self, now: datetime, limit: int) -> list[str]:
        found = sorted(
            (d for d in self.store.outbox.values() if self._is_due(d, now)),
            key=lambda d: (d.next_attempt_at, d.id),
        )
        return [d.id for d in found[:limit]]

    def claim(self, message_id: str, now: datetime, lease_until: datetime) -> Claimed | None:
        d = self.store.outbox.get(message_id)
        if d is None or not self._is_due(d, now):
            return None
        d = self._set(message_id, attempts=d.attempts + 1)
        self.store.leases[message_id] = lease_until
        s = self.store.subscriptions[d.subscription_id]
        return Claimed(d, s.url, s.secret)

    def delivered(self, message_id: str, at: datetime) -> None:
        self._set(message_id, delivered_at=at, last_error=None)

    def failed(self, message_id: str, error: str, retry_at: datetime | None) -> None:
        if retry_at is None:
            self._set(message_id, dead=True, last_error=error[:500])
        else:
            self._set(message_id, next_attempt_at=retry_at, last_error=error[:500])

    def delivery(self, message_id: str) -> Delivery | None:
        return self.store.outbox.get(message_id)

    def deliveries(
        self, status: Status | None, subscription_ids: Sequence[str] | None, limit: int
    ) -> list[Delivery]:
        found = [
            d
            for d in self.store.outbox.values()
            if (status is None or d.status == status)
            and (subscription_ids is None or d.subscription_id in subscription_ids)
        ]
        return sorted(found, key=lambda d: (d.created_at, d.id), reverse=True)[:limit]

    def redeliver(self, message_id: str) -> None:
        at = datetime.now(UTC)
        self._set(message_id, attempts=0, next_attempt_at=at, delivered_at=None, dead=False)

    def _set(self, message_id: str, **changes: object) -> Delivery:
        d = self.store.outbox.get(message_id)
        if d is None:
            raise NotFoundError(f"no delivery {message_id!r}")
        self.store.leases.pop(message_id, None)
        d = replace(d, **changes)  # type: ignore[arg-type]
        self.store.outbox[message_id] = d
        return d
