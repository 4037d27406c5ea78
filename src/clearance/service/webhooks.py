"""Delivering the outbox: claim a due message, POST it signed, record what happened.

At-least-once: a message is marked delivered only after a 2xx answer. Its attempt is
counted and its lease taken in a committed claim before it is sent (``WebhookRepository
.claim``), so of several processes one sends it, and a process killed while sending
leaves it to be claimed again once the lease ends: the receiver may see it twice, with
the same webhook-id. A failed attempt is retried after an exponential backoff with
jitter; after ``DeliveryPolicy.attempts`` attempts the message is dead (listed, redeliverable).

Times here are wall-clock (``now``), never the service's ``Clock`` (a scenario may pin or
replay it).
"""

from __future__ import annotations

import abc
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from clearance.domain.clearance.model import Principal
from clearance.domain.errors import NotFoundError
from clearance.service.outbox import Claimed, Delivery, Status, Subscription
from clearance.service.ports import UnitOfWork


class Sender(abc.ABC):
    """Sends one signed webhook (``adapters.webhook_sender.HttpSender``)."""

    @abc.abstractmethod
    def send(self, url: str, secret: str, message_id: str, at: datetime, body: str) -> str | None:
        """POST ``body`` to ``url`` with the Standard Webhooks headers (webhook-id
        ``message_id``, webhook-timestamp ``at``, webhook-signature by ``secret``);
        returns None when the receiver answered 2xx, else why not (for ``last_error``:
        a failed attempt is the worker's to record and retry, never a caller's error)."""


@dataclass(frozen=True)
class DeliveryPolicy:
    """How hard the worker tries: ``attempts`` in all, the n-th retry after
    ``base * 2**(n-1)`` seconds (at most ``cap``), each delay times a random factor in
    ``[1 - jitter, 1 + jitter]`` so receivers that failed together are not retried
    together; a claim is held ``lease`` seconds (longer than a send's timeout)."""

    attempts: int = 8
    base: float = 10.0
    cap: float = 3600.0
    jitter: float = 0.2
    lease: float = 60.0
    batch: int = 50

    def delay(self, attempts: int, rng: Callable[[], float] = random.random) -> float:
        raw = min(self.cap, self.base * 2 ** (attempts - 1))
        return float(raw * (1 - self.jitter + 2 * self.jitter * rng()))


def body_of(claimed: Claimed) -> str:
    return json.dumps(claimed.delivery.payload, separators=(",", ":"), sort_keys=True)


def deliver_due(
    new_uow: Callable[[], UnitOfWork],
    sender: Sender,
    now: Callable[[], datetime],
    policy: DeliveryPolicy = DeliveryPolicy(),
) -> tuple[int, int]:
    """Send every message due now, one claim at a time; returns (delivered, failed)."""
    delivered = failed = 0
    with new_uow() as uow:
        due = uow.webhooks.due(now(), policy.batch)
    for message_id in due:
        with new_uow() as uow:
            at = now()
            claimed = uow.webhooks.claim(message_id, at, at + timedelta(seconds=policy.lease))
            uow.commit()
        if claimed is None:  # another worker has it
            continue
        error = sender.send(claimed.url, claimed.secret, message_id, now(), body_of(claimed))
        if error is not None:
            attempts = claimed.delivery.attempts
            retry = (
                now() + timedelta(seconds=policy.delay(attempts))
                if attempts < policy.attempts
                else None
            )
            with new_uow() as uow:
                uow.webhooks.failed(message_id, error, retry)
                uow.commit()
            failed += 1
        else:
            with new_uow() as uow:
                uow.webhooks.delivered(message_id, now())
                uow.commit()
            delivered += 1
    return delivered, failed


# -- reads -----------------------------------------------------------------------------
def own_subscription(
    uow: UnitOfWork, who: Principal | None, subscription_id: str, what: str = ""
) -> Subscription:
    """The subscription if ``who`` (None: the database's operator) may see it, else
    ``NotFoundError`` (naming ``what``, or the subscription)."""
    found = uow.webhooks.subscription(subscription_id)
    if found is None or (
        who is not None and (found.subscriber_kind, found.subscriber) not in subscribers_of(who)
    ):
        raise NotFoundError(f"no {what or f'subscription {subscription_id!r}'}")
    return found


def subscriptions(new_uow: Callable[[], UnitOfWork], who: Principal | None) -> list[Subscription]:
    """The active subscriptions ``who`` sees (None: every one)."""
    with new_uow() as uow:
        return uow.webhooks.subscriptions(None if who is None else subscribers_of(who))


def deliveries(
    new_uow: Callable[[], UnitOfWork],
    who: Principal | None,
    status: Status | None = None,
    limit: int = 100,
) -> list[Delivery]:
    """Deliveries of the subscriptions ``who`` sees (active or not), newest first."""
    with new_uow() as uow:
        if who is None:
            return uow.webhooks.deliveries(status, None, limit)
        mine = [s.id for s in uow.webhooks.subscriptions(subscribers_of(who), active=False)]
        return uow.webhooks.deliveries(status, mine, limit)


def subscribers_of(who: Principal) -> list[tuple[str, str]]:
    """Whom ``who`` may subscribe for, and whose subscriptions and deliveries it sees."""
    found = [("principal", who.name)]
    if who.operator is not None:
        found.append(("operator", who.operator))
    if who.authority is not None:
        found.append(("authority", who.authority))
    return found
