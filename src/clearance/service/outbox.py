"""Who is told: the words and the storage port of webhook subscriptions and the outbox.

A ``Subscription`` asks for some events about the requests of one subscriber (an
authority, an operator or a principal) to be POSTed to a URL, signed with its secret
(Standard Webhooks). A ``Message`` is one event for one subscription, added to the outbox
in the unit of work of the change it tells of (``service.notify``); a worker sends it
(``service.webhooks``) until the receiver answers 2xx, retrying with backoff, and marks it
dead after the last attempt. Its id is the webhook-id, the same on every attempt, so a
receiver drops the duplicates at-least-once delivery may bring.

Contracts of ``WebhookRepository``:

- ``enqueue`` skips a message whose ``once_key`` this subscription was already given for
  the same event (told once: a deadline passed, a request expiring soon).
- ``claim`` takes a due message (not delivered, not dead, ``next_attempt_at`` and any
  earlier lease passed) with one conditional UPDATE, counting the attempt and leasing it
  until ``lease_until``: of several processes, one claims it; a worker that dies while
  sending leaves it to be claimed again when the lease ends.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

EVENTS = (
    "waiting_for_you",
    "decided",
    "cleared",
    "denied",
    "expiring_soon",
    "conflict",
    "conformance_excursion",
    "deadline_passed",
)
SUBSCRIBER_KINDS = ("authority", "operator", "principal")
STATUSES = ("pending", "delivered", "dead")

Status = Literal["pending", "delivered", "dead"]


@dataclass(frozen=True, slots=True)
class Subscription:
    id: str
    subscriber_kind: str  # one of SUBSCRIBER_KINDS
    subscriber: str
    url: str
    events: tuple[str, ...]
    secret: str  # whsec_ + base64: shown once, when it is created
    created_by: str
    created_at: datetime
    active: bool = True


@dataclass(frozen=True, slots=True)
class Message:
    """An event to tell one subscription; ``once_key`` set: at most once per key."""

    id: str
    event: str
    subscription_id: str
    payload: dict[str, Any]
    request_id: str | None = None
    once_key: str | None = None


@dataclass(frozen=True, slots=True)
class Delivery:
    """An outbox row as stored."""

    id: str
    event: str
    subscription_id: str
    request_id: str | None
    payload: dict[str, Any]
    created_at: datetime
    attempts: int
    next_attempt_at: datetime
    delivered_at: datetime | None
    dead: bool
    last_error: str | None

    @property
    def status(self) -> Status:
        if self.delivered_at is not None:
            return "delivered"
        return "dead" if self.dead else "pending"


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery a worker holds the lease of, with where and how to send it."""

    delivery: Delivery
    url: str
    secret: str


class WebhookRepository(abc.ABC):
    # -- subscriptions ----------------------------------------------------------------
    @abc.abstractmethod
    def add_subscription(self, subscription: Subscription) -> None: ...

    @abc.abstractmethod
    def subscription(self, subscription_id: str) -> Subscription | None: ...

    @abc.abstractmethod
    def subscriptions(
        self, subscribers: Iterable[tuple[str, str]] | None, *, active: bool = True
    ) -> list[Subscription]:
        """Subscriptions of these (kind, name) subscribers (all with None), oldest first;
        only the active ones unless ``active`` is False."""

    @abc.abstractmethod
    def deactivate(self, subscription_id: str) -> None:
        """Stop telling it (its deliveries stay listed)."""

    # -- outbox -------------------------------------------------------------------------
    @abc.abstractmethod
    def enqueue(self, messages: Sequence[Message]) -> int:
        """Add the messages, due now in wall-clock time (not the service's ``Clock``, which
        a scenario may pin or replay; the worker reads the wall clock too); returns how
        many were added."""

    @abc.abstractmethod
    def due(self, now: datetime, limit: int) -> list[str]:
        """Ids of messages that may be claimed at ``now``, oldest due first."""

    @abc.abstractmethod
    def claim(self, message_id: str, now: datetime, lease_until: datetime) -> Claimed | None:
        """The message with its attempt counted and leased, or None if another worker
        claimed it (or it is not due)."""

    @abc.abstractmethod
    def delivered(self, message_id: str, at: datetime) -> None: ...

    @abc.abstractmethod
    def failed(self, message_id: str, error: str, retry_at: datetime | None) -> None:
        """Record a failed attempt: retried at ``retry_at``, or dead when it is None."""

    @abc.abstractmethod
    def delivery(self, message_id: str) -> Delivery | None: ...

    @abc.abstractmethod
    def deliveries(
        self, status: Status | None, subscription_ids: Sequence[str] | None, limit: int
    ) -> list[Delivery]:
        """Newest first; ``subscription_ids`` None: every subscription's."""

    @abc.abstractmethod
    def redeliver(self, message_id: str) -> None:
        """Send it again from now (wall clock): attempts start over, dead or delivered
        before."""
