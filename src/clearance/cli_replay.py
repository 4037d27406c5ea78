"""``clearance replay TIMELINE``: run a dated script of submissions and decisions through
the service (``service.replay``) and print time to clearance per request and per
authority (registered on the main app in ``clearance.cli``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import make_url

from clearance import bootstrap
from clearance.cli_run import settings
from clearance.domain.documents import instant
from clearance.service.replay import Replayed, replayed_view


def replay_command(
    timeline: Annotated[Path, typer.Argument(help="The timeline file (YAML or JSON).")],
    scenario: Annotated[
        Path | None,
        typer.Option(help="Scenario directory (default: the timeline's `scenario:`)."),
    ] = None,
    database: Annotated[
        str | None,
        typer.Option(
            "--database",
            help="Replay into this database (SQLAlchemy URL; it must hold no request). "
            "Default: a new SQLite file in a temporary folder.",
        ),
    ] = None,
    keys: Annotated[
        Path | None,
        typer.Option(
            help="The parties' key folder (AUTHORITY/root.key, members' made as AUTHORITY/NAME.key). "
            "Default: `party-keys` beside the SQLite database file."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Replay a timeline: each step (submit, amend, decide, withdraw) runs through the service at the step's time; prints time to clearance per request and per authority.

    A bad timeline, or a step the service refuses, is named (file, step, field) with exit 2, and the database given is left untouched: the replay runs whole on a temporary database first."""
    run = bootstrap.replay_timeline(
        timeline, scenario, settings(), database_url=database, keys=keys
    )
    where = make_url(run.database_url).render_as_string(hide_password=True)
    if as_json:
        view = replayed_view(run.replayed) | {"database_url": where, "keys": str(run.keys)}
        typer.echo(json.dumps(view, indent=2))
        return
    console = Console(width=max(Console().width, 100))
    for table in tables(run.replayed):
        console.print(table)
    console.print(
        f"Replayed {run.replayed.steps} steps from {instant(run.replayed.start)} to "
        f"{instant(run.replayed.end)} into {where} (the parties' keys: {run.keys})."
    )


def tables(r: Replayed) -> list[Table]:
    """Per request, then per authority."""
    requests = Table(title="Time to clearance per request")
    for column in ("ref", "request", "state", "submitted", "time to clearance"):
        requests.add_column(column, overflow="fold")
    for q in r.requests:
        took = q.seconds_to_clearance
        requests.add_row(
            q.ref, q.request_id, q.state, instant(q.submitted_at),
            duration(took) if took is not None else "-",
        )  # fmt: skip
    authorities = Table(title="Waits per authority (person's decisions)")
    for column in ("authority", "decisions", "median wait", "p90 wait", "waiting now"):
        authorities.add_column(column)
    for a in r.authorities:
        authorities.add_row(
            a.authority,
            str(a.decisions),
            duration(a.median_wait_seconds) if a.median_wait_seconds is not None else "-",
            duration(a.p90_wait_seconds) if a.p90_wait_seconds is not None else "-",
            str(a.waiting_now),
        )
    return [requests, authorities]


def duration(seconds: float) -> str:
    """Whole minutes, hours and days: ``2d 3h``, ``5h 20m``, ``0m``.

    >>> duration(185_000.0), duration(19_230.0), duration(20.0)
    ('2d 3h', '5h 20m', '0m')
    """
    minutes = int(seconds // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {mins}m"
    return f"{mins}m"
