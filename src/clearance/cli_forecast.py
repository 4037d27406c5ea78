"""``clearance request forecast ID --as NAME``: when a pending request will likely clear
(registered on ``request`` in ``clearance.cli``; ``service.forecasts`` does the work)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from clearance import bootstrap
from clearance.cli_run import settings
from clearance.service import queries
from clearance.service.forecasts import forecast_request, forecast_view


def request_forecast(
    request_id: Annotated[str, typer.Argument(help="The request's id (req-...).")],
    as_: Annotated[str, typer.Option("--as", help="Act as this principal (by name).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """When a pending request will likely clear: median and 80 % interval of the time to
    clearance, and the chance it clears before its first time_start, from each
    authority's waiting times (Kaplan-Meier; approvals still waiting count as censored)."""
    ctx = bootstrap.context(settings())
    found = forecast_request(ctx.uow, ctx.clock, queries.principal(ctx, as_), request_id)
    view = forecast_view(request_id, found)
    if as_json:
        typer.echo(json.dumps(view, indent=2))
        return
    for line in describe(view):
        typer.echo(line)


def describe(view: dict[str, Any]) -> list[str]:
    """The forecast in a few lines of text."""
    lines = [f"{view['request_id']}: {view['status'].replace('_', ' ')} (as of {view['now']})"]
    if view["status"] == "not_enough_history":
        lines.append(
            f"not enough history (fewer than {view['min_decisions']} decisions): "
            + ", ".join(view["not_enough_history"])
        )
    elif view["status"] == "forecast":
        lines.append(
            f"clears in {_span(view['median_seconds'])} (median, {_at(view['median_at'])}); "
            f"80 % interval {_span(view['low_seconds'])} to {_span(view['high_seconds'])}"
        )
        lines.append(
            f"chance it clears: {view['clear_probability']:.0%}; before its first "
            f"time_start {view['time_start']}: {view['before_start_probability']:.0%}"
        )
    for step in view["remaining"]:
        waited = step["waiting_seconds"]
        since = "stage not open yet" if waited is None else f"waiting {_span(waited)}"
        lines.append(
            f"  stage {step['stage']} {step['authority']}: {since}; "
            f"{step['decisions']} decisions, median wait {_span(step['median_wait_seconds'])}"
        )
    return lines


def _span(seconds: float | None) -> str:
    """A duration to the minute (``2d 3h 5m``); ``longer than any wait seen`` for None."""
    if seconds is None:
        return "longer than any wait seen"
    minutes = round(seconds / 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = [f"{days}d" if days else "", f"{hours}h" if hours else "", f"{mins}m" if mins else ""]
    return " ".join(p for p in parts if p) or "0m"


def _at(at: str | None) -> str:
    return at or "unknown"
