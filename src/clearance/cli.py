"""The ``clearance`` command. Each command parses, calls the service layer, renders.

Exit codes: 0 when the command did its job (whatever the outcome of an evaluation),
2 on invalid input with one line on stderr naming the file, field and rule, 1 on an
internal error (one line; set CLEARANCE_DEBUG=1 for the traceback).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from clearance import bootstrap
from clearance.domain.errors import ClearanceError
from clearance.domain.model import ApprovalStatus, Evaluation, Outcome
from clearance.service.check import Checked, check
from clearance.service.views import evaluation_view

app = typer.Typer(
    name="clearance",
    help="Clear drone operations through several independent authorities.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

OUTCOME_STYLE = {
    Outcome.CLEARED: "bold green",
    Outcome.PENDING: "bold yellow",
    Outcome.DENIED: "bold red",
    Outcome.INFEASIBLE: "bold magenta",
}
STATUS_STYLE = {
    ApprovalStatus.AUTO_APPROVED: "green",
    ApprovalStatus.COVERED_BY_GRANT: "green",
    ApprovalStatus.APPROVED: "green",
    ApprovalStatus.NEEDS_REVIEW: "yellow",
    ApprovalStatus.DENIED: "red",
}


@app.callback()
def _root() -> None:
    """Clear drone operations through several independent authorities."""


@app.command("check")
def check_command(
    requests: Annotated[
        list[Path], typer.Argument(help="Request files (YAML or JSON) or directories of them.")
    ],
    scenario: Annotated[Path, typer.Option("--scenario", help="Scenario directory.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Evaluate requests against a scenario: outcome, chain of approvals, and why."""
    loaded = bootstrap.scenario_from(scenario)
    results = check(bootstrap.documents_from(requests), loaded)
    if as_json:
        views = [{"request": r.source, **evaluation_view(r.evaluation)} for r in results]
        typer.echo(json.dumps(views[0] if len(views) == 1 else views, indent=2))
    else:
        console = Console() if sys.stdout.isatty() else Console(width=160)
        console.print(_table(results))


def _table(results: list[Checked]) -> Table:
    table = Table(title="Clearance", show_lines=True)
    table.add_column("request", overflow="fold", max_width=34)
    table.add_column("outcome", no_wrap=True)
    table.add_column("chain of approvals (stage authority status)", no_wrap=True)
    table.add_column("why", ratio=1)
    for r in results:
        e = r.evaluation
        chain = "\n".join(
            f"{a.stage} {a.authority} [{STATUS_STYLE[a.status]}]{a.status.value}[/]"
            for a in e.approvals
        )
        table.add_row(
            Path(r.source).name,
            f"[{OUTCOME_STYLE[e.outcome]}]{e.outcome.value}[/]",
            chain,
            "\n".join(_why(e)),
        )
    return table


def _why(e: Evaluation) -> list[str]:
    """Violations, then each denial's reasons, then who still has to decide."""
    lines = [f"[magenta]{v.code}[/]: {v.message}" for v in e.violations]
    for a in e.approvals:
        if a.status is ApprovalStatus.DENIED:
            lines.extend(f"[red]{a.authority}[/]: {reason}" for reason in a.reasons)
    waiting = [a.authority for a in e.approvals if a.status is ApprovalStatus.NEEDS_REVIEW]
    if waiting:
        lines.append(f"[yellow]awaiting review[/] by {', '.join(waiting)}")
    return lines or ["cleared by standing grants and policies"]


def main() -> None:
    """Console entry point: maps errors to exit codes, never shows a traceback.

    Usage errors are Click's own (exit 2 with the usage line)."""
    try:
        app()
    except ClearanceError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    except Exception as e:  # a bug: say so in one line
        if os.environ.get("CLEARANCE_DEBUG"):
            raise
        print(
            f"internal error: {type(e).__name__}: {e} (CLEARANCE_DEBUG=1 shows more)",
            file=sys.stderr,
        )
        sys.exit(1)


if __name__ == "__main__":
    main()
