"""``clearance webhooks ...``: who is told (registered on the main app in
``clearance.cli``; ``service.handlers.webhooks`` and ``service.webhooks`` do the work).

Without ``--as`` a command acts as the database's own operator (it may subscribe anyone
and sees every subscription); with ``--as NAME`` it acts as that principal, as the API
would.
"""

from __future__ import annotations

import json
from typing import Annotated, cast

import typer

from clearance import bootstrap
from clearance.cli_run import settings
from clearance.domain.clearance.model import Principal
from clearance.domain.errors import InputError
from clearance.service import handlers, queries, webhooks
from clearance.service.context import Context
from clearance.service.outbox import EVENTS, STATUSES, Status
from clearance.service.views import delivery_view, subscription_view

webhooks_app = typer.Typer(
    help="Who is told: webhook subscriptions (Standard Webhooks) and their deliveries.",
    no_args_is_help=True,
)

AsOption = Annotated[
    str | None,
    typer.Option("--as", help="Act as this principal (default: the database's operator)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _who(ctx: Context, as_: str | None) -> Principal | None:
    return None if as_ is None else queries.principal(ctx, as_)


@webhooks_app.command("subscribe")
def subscribe(
    url: Annotated[str, typer.Option("--url", help="Where to POST the events (http/https).")],
    event: Annotated[
        list[str],
        typer.Option("--event", help=f"An event to receive (repeat): {', '.join(EVENTS)}."),
    ],
    authority: Annotated[str | None, typer.Option(help="Subscribe for this authority.")] = None,
    operator: Annotated[str | None, typer.Option(help="Subscribe for this operator.")] = None,
    principal: Annotated[str | None, typer.Option(help="Subscribe for this principal.")] = None,
    as_: AsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Subscribe an authority, an operator or a principal to events; prints the
    subscription and its signing secret (whsec_..., shown this once)."""
    given = [
        (k, v)
        for k, v in (("authority", authority), ("operator", operator), ("principal", principal))
        if v
    ]
    if len(given) != 1:
        raise InputError(
            "give exactly one of --authority, --operator, --principal", field="subscriber"
        )
    ctx = bootstrap.context(settings())
    who = _who(ctx, as_)
    created = handlers.subscribe(ctx, who, given[0], url, event, as_ or "cli")
    view = subscription_view(created) | {"secret": created.secret}
    if as_json:
        typer.echo(json.dumps(view, indent=2))
        return
    typer.echo(f"{created.id}: {created.subscriber_kind} {created.subscriber} -> {created.url}")
    typer.echo(f"events: {', '.join(created.events)}")
    typer.echo(f"secret (shown once): {created.secret}")


@webhooks_app.command("list")
def list_subscriptions(as_: AsOption = None, as_json: JsonOption = False) -> None:
    """The active subscriptions (their secrets are never shown again)."""
    ctx = bootstrap.context(settings())
    found = webhooks.subscriptions(ctx.uow, _who(ctx, as_))
    if as_json:
        typer.echo(json.dumps([subscription_view(s) for s in found], indent=2))
        return
    for s in found:
        typer.echo(f"{s.id}  {s.subscriber_kind} {s.subscriber}  {s.url}  {','.join(s.events)}")


@webhooks_app.command("unsubscribe")
def unsubscribe(
    subscription_id: Annotated[str, typer.Argument(help="The subscription's id (sub_...).")],
    as_: AsOption = None,
) -> None:
    """Stop a subscription (its deliveries stay listed)."""
    ctx = bootstrap.context(settings())
    handlers.unsubscribe(ctx, _who(ctx, as_), subscription_id)
    typer.echo(f"{subscription_id}: stopped")


@webhooks_app.command("deliveries")
def list_deliveries(
    status: Annotated[str | None, typer.Option(help=f"Only these: {', '.join(STATUSES)}.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="At most this many.")] = 100,
    as_: AsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Deliveries, newest first: pending (not sent yet, or retrying), delivered, dead."""
    if status is not None and status not in STATUSES:
        raise InputError(f"must be one of {', '.join(STATUSES)}", field="--status")
    ctx = bootstrap.context(settings())
    found = webhooks.deliveries(ctx.uow, _who(ctx, as_), cast(Status | None, status), limit)
    if as_json:
        typer.echo(json.dumps([delivery_view(d) for d in found], indent=2))
        return
    for d in found:
        error = f"  {d.last_error}" if d.last_error else ""
        typer.echo(
            f"{d.id}  {d.status}  {d.event}  {d.request_id or ''}  attempts {d.attempts}{error}"
        )


@webhooks_app.command("redeliver")
def redeliver(
    delivery_id: Annotated[str, typer.Argument(help="The delivery's id (msg_...).")],
    as_: AsOption = None,
) -> None:
    """Send a delivery again (dead, delivered or pending), its attempts starting over."""
    ctx = bootstrap.context(settings())
    handlers.redeliver(ctx, _who(ctx, as_), delivery_id)
    typer.echo(f"{delivery_id}: pending")


@webhooks_app.command("deliver")
def deliver(
    once: Annotated[
        bool, typer.Option("--once", help="One pass over what is due (for cron, tests).")
    ] = False,
) -> None:
    """Tell of requests expiring soon and review deadlines passed, then send the webhooks
    due now (`clearance serve` does both by itself)."""
    if not once:
        raise InputError(
            "only --once is supported here; `clearance serve` delivers continuously", field="--once"
        )
    ctx = bootstrap.context(settings())
    told = handlers.tell_due(ctx)  # what the server's sweep tells of, for cron
    sent, failed = cast(tuple[int, int], bootstrap.webhook_worker(ctx, settings())())
    typer.echo(f"told {told} (expiring soon, deadlines passed); delivered {sent}, failed {failed}")
