"""Subscribe to events, stop a subscription, send a delivery again (``service.notify``
tells, ``service.webhooks`` sends).

Who may subscribe what: an authority's members for that authority, an operator's
principals for that operator, a principal for itself; ``who`` None is the database's own
operator (the CLI), who may subscribe anyone. A subscription's secret is returned once,
by ``subscribe``; it is never listed.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from urllib.parse import urlsplit

from clearance.domain.clearance.model import Principal
from clearance.domain.errors import ForbiddenError, NotFoundError, RequestError
from clearance.service.context import Context
from clearance.service.notify import Subscriber
from clearance.service.outbox import EVENTS, SUBSCRIBER_KINDS, Subscription
from clearance.service.webhooks import own_subscription, subscribers_of

MAX_URL = 2000


def subscribe(
    ctx: Context,
    who: Principal | None,
    subscriber: Subscriber,
    url: str,
    events: Sequence[str],
    created_by: str,
) -> Subscription:
    """A new active subscription with a fresh ``whsec_`` secret."""
    kind, name = subscriber
    if kind not in SUBSCRIBER_KINDS:
        raise RequestError(f"must be one of {', '.join(SUBSCRIBER_KINDS)}", field="subscriber")
    if who is not None and subscriber not in subscribers_of(who):
        raise ForbiddenError(
            f"{who.name} may not subscribe for {kind} {name}: an authority's members "
            "subscribe for it, an operator's principals for it, a principal for itself"
        )
    check_url(url)
    wanted = check_events(events)
    scenario = ctx.current_scenario()
    if kind == "authority" and name not in scenario.authorities:
        raise RequestError(f"unknown authority {name!r}", field="subscriber")
    if kind == "operator" and name not in scenario.operators:
        raise RequestError(f"unknown operator {name!r}", field="subscriber")
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    subscription = Subscription(
        id=f"sub_{secrets.token_hex(10)}",
        subscriber_kind=kind,
        subscriber=name,
        url=url,
        events=wanted,
        secret=secret,
        created_by=created_by,
        created_at=ctx.clock.now(),
    )
    with ctx.uow() as uow:
        if kind == "principal" and uow.principals.record(name) is None:
            raise RequestError(f"unknown principal {name!r}", field="subscriber")
        uow.webhooks.add_subscription(subscription)
        uow.commit()
    return subscription


def unsubscribe(ctx: Context, who: Principal | None, subscription_id: str) -> None:
    with ctx.uow() as uow:
        own_subscription(uow, who, subscription_id)
        uow.webhooks.deactivate(subscription_id)
        uow.commit()


def redeliver(ctx: Context, who: Principal | None, message_id: str) -> None:
    """Send the delivery again from now, its attempts starting over (dead or not)."""
    with ctx.uow() as uow:
        delivery = uow.webhooks.delivery(message_id)
        if delivery is None:
            raise NotFoundError(f"no delivery {message_id!r}")
        own_subscription(uow, who, delivery.subscription_id, what=f"delivery {message_id!r}")
        uow.webhooks.redeliver(message_id)
        uow.commit()


def check_url(url: str) -> None:
    if len(url) > MAX_URL:
        raise RequestError(f"must be at most {MAX_URL} characters", field="url")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is not a number in range
    except ValueError as e:
        raise RequestError(f"is not a URL: {e}", field="url") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RequestError("must be an http or https URL with a host", field="url")
    if any(c.isspace() or ord(c) < 32 for c in url):
        raise RequestError("must not contain spaces or control characters", field="url")


def check_events(events: Sequence[str]) -> tuple[str, ...]:
    if not events:
        raise RequestError(f"name at least one of {', '.join(EVENTS)}", field="events")
    unknown = [e for e in events if e not in EVENTS]
    if unknown:
        raise RequestError(
            f"unknown event {unknown[0]!r}: one of {', '.join(EVENTS)}", field="events"
        )
    return tuple(dict.fromkeys(events))
