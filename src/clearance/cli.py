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

from clearance import bootstrap, cli_audit
from clearance.domain.errors import ClearanceError, InputError
from clearance.domain.model import ApprovalStatus, Evaluation, Outcome
from clearance.domain.volumes import LatLng
from clearance.domain.workflow import Decision, Event, RequestRecord, RequestState
from clearance.service.check import Checked, check
from clearance.service.monitoring import check_track, read_track_file, simulated_track_csv
from clearance.service.views import evaluation_view, event_view, record_view, summary_view
from clearance.service.workflow import Workflow

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
        _console().print(_table(results))


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


# -- the persisted workflow --------------------------------------------------------

db_app = typer.Typer(help="The database.", no_args_is_help=True)
scenario_app = typer.Typer(help="The scenario stored in the database.", no_args_is_help=True)
principal_app = typer.Typer(help="API principals and their tokens.", no_args_is_help=True)
request_app = typer.Typer(help="Persisted requests.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(scenario_app, name="scenario")
app.add_typer(principal_app, name="principal")
app.add_typer(request_app, name="request")
app.add_typer(cli_audit.audit_app, name="audit")
app.add_typer(cli_audit.authority_app, name="authority")

AsOption = Annotated[str, typer.Option("--as", help="Act as this principal (by name).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database to the latest schema."""
    url = bootstrap.upgrade_database()
    typer.echo(f"database is up to date: {_redact(url)}")


@scenario_app.command("load")
def scenario_load(directory: Annotated[Path, typer.Argument(help="Scenario directory.")]) -> None:
    """Validate a scenario directory and store it in the database."""
    bootstrap.upgrade_database()
    scenario = bootstrap.store_scenario(directory)
    typer.echo(
        f"loaded scenario {scenario.name}: {len(scenario.authorities)} authorities, "
        f"{len(scenario.grants)} grants, {len(scenario.territories)} territories"
    )


@principal_app.command("add")
def principal_add(
    name: Annotated[str, typer.Argument(help="A unique name.")],
    authority: Annotated[str | None, typer.Option(help="Member of this authority.")] = None,
    operator: Annotated[str | None, typer.Option(help="Submits for this operator.")] = None,
) -> None:
    """Create a principal; its API token is the last line of output (shown once)."""
    token = bootstrap.workflow().add_principal(name, operator=operator, authority=authority)
    typer.echo(f"created principal {name}")
    typer.echo(token)


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Serve the REST API (and, later, the page) on the configured database."""
    _serve(bootstrap.workflow(), host, port)


def _serve(workflow: Workflow, host: str, port: int) -> None:
    import uvicorn

    from clearance.api.app import create_app

    app = create_app(workflow, audit_log=bootstrap.audit_log(workflow=workflow))
    uvicorn.run(app, host=host, port=port, log_level="warning")


conformance_app = typer.Typer(help="What was flown against what was cleared.", no_args_is_help=True)
simulate_app = typer.Typer(help="Plausible tracks for demos and tests.", no_args_is_help=True)
app.add_typer(conformance_app, name="conformance")
app.add_typer(simulate_app, name="simulate")


@conformance_app.command("check")
def conformance_check(
    request_id: str,
    track: Annotated[Path, typer.Argument(help="Telemetry: .csv (time,lat,lng,alt_m) or .jsonl.")],
    as_json: JsonOption = False,
) -> None:
    """Check a flown track; the result is recorded on the request (exit 0 either way)."""
    media = "jsonl" if track.suffix.lower() in (".jsonl", ".ndjson") else "csv"
    result = check_track(bootstrap.workflow(), request_id, read_track_file(track, media))
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
        return
    verdict = "[green]conforming[/]" if result.conforming else "[red]not conforming[/]"
    _console().print(f"{request_id}: {verdict}, {result.conformance_percent:.1f}% of flight time")
    for x in result.excursions:
        _console().print(
            f"  {x.kind} {x.start.isoformat()} .. {x.end.isoformat()} ({x.seconds:.0f} s, "
            f"{x.max_outside_m:.0f} m outside){' over ' + x.party if x.party else ''}"
        )
    for reason in result.reasons:
        _console().print(f"  {reason}")


@simulate_app.command("track")
def simulate_track_command(
    request_id: str,
    out: Annotated[Path, typer.Option("--out", help="CSV file to write.")],
    drift_to: Annotated[
        str | None, typer.Option("--drift-to", help="LAT,LNG to drift towards.")
    ] = None,
) -> None:
    """Write a plausible track for a request: inside its first volume, or drifting."""
    target = _lat_lng(drift_to) if drift_to else None
    out.write_text(simulated_track_csv(bootstrap.workflow(), request_id, target), encoding="utf-8")
    typer.echo(f"wrote {out}")


def _lat_lng(text: str) -> LatLng:
    try:
        lat, lng = (float(x) for x in text.split(","))
    except ValueError:
        raise InputError("must be LAT,LNG such as 15.2,0.8", field="--drift-to") from None
    if not (-90 <= lat <= 90 and -180 <= lng <= 180):
        raise InputError("latitude must be within -90..90, longitude -180..180", field="--drift-to")
    return LatLng(lat, lng)


DEMO_OPERATORS = {"US.AFRICOM": "africom-planner", "FR.Barkhane": "barkhane-planner"}


@app.command("demo")
def demo(
    scenario: Annotated[Path, typer.Option(help="Scenario directory.")] = Path("examples/niger"),
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    serve_api: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve the API.")] = True,
) -> None:
    """Load a scenario into the configured database, print its example requests'
    evaluation and the demo principals' tokens, then serve the API."""
    bootstrap.upgrade_database()
    loaded = bootstrap.store_scenario(scenario)
    examples = scenario / "requests"
    if examples.is_dir():
        _console().print(_table(check(bootstrap.documents_from([examples]), loaded)))
    flow = bootstrap.workflow()
    table = Table(title="Demo principals (tokens are new on every start)")
    for column in ("principal", "acts for", "token"):
        table.add_column(column, overflow="fold")
    for operator_id, name in DEMO_OPERATORS.items():
        if operator_id in loaded.operators:
            table.add_row(name, operator_id, flow.issue_token(name, operator=operator_id))
    for member in loaded.members.values():
        table.add_row(
            member.id, member.authority, flow.issue_token(member.id, authority=member.authority)
        )
    _console().print(table)
    if serve_api:
        base = f"http://{host}:{port}"
        _console().print(
            f"Open the page: {base}/ and sign in with a token above.\n"
            f"API on {base} (OpenAPI: {base}/openapi.json). Try:\n"
            f"  curl -s -H 'Authorization: Bearer <token>' {base}/v1/requests"
        )
        _serve(flow, host, port)


@request_app.command("submit")
def request_submit(
    file: Annotated[Path, typer.Argument(help="Request document (YAML or JSON).")],
    as_: AsOption,
    as_json: JsonOption = False,
) -> None:
    """Submit a request: it is evaluated, stored and routed."""
    flow = bootstrap.workflow()
    (document,) = bootstrap.documents_from([file])
    record = flow.submit(flow.principal(as_), document.content).record
    _print_record(record, [], as_json)


@request_app.command("show")
def request_show(request_id: str, as_json: JsonOption = False) -> None:
    """One request: its state, chain of approvals and timeline."""
    record, events = bootstrap.workflow().inspect(request_id)
    _print_record(record, events, as_json)


@request_app.command("list")
def request_list(
    state: Annotated[RequestState | None, typer.Option(help="Only requests in this state.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 100,
    as_json: JsonOption = False,
) -> None:
    """Requests, newest first."""
    records = bootstrap.workflow().inspect_all(state, limit)
    if as_json:
        typer.echo(json.dumps([summary_view(r) for r in records], indent=2))
        return
    table = Table(title="Requests")
    for column in ("id", "state", "operator", "submitted", "first start", "awaiting"):
        table.add_column(column)
    for r in records:
        table.add_row(
            r.id, r.state.value, r.operator, r.created_at.isoformat(), r.time_start.isoformat(),
            ", ".join(r.awaiting()),
        )  # fmt: skip
    _console().print(table)


@request_app.command("decide")
def request_decide(
    request_id: str,
    as_: AsOption,
    authority: Annotated[str, typer.Option(help="Decide for this authority.")],
    approve: Annotated[bool, typer.Option("--approve", help="Approve the step.")] = False,
    deny: Annotated[bool, typer.Option("--deny", help="Deny the request.")] = False,
    comment: Annotated[str, typer.Option(help="Why.")] = "",
    as_json: JsonOption = False,
) -> None:
    """Approve or deny one authority's step."""
    if approve == deny:
        raise InputError("give exactly one of --approve and --deny", field="--approve/--deny")
    flow = bootstrap.workflow()
    decision = Decision.APPROVE if approve else Decision.DENY
    record = flow.decide(flow.principal(as_), request_id, authority, decision, comment)
    _print_record(record, [], as_json)


@request_app.command("withdraw")
def request_withdraw(request_id: str, as_: AsOption, as_json: JsonOption = False) -> None:
    """Withdraw a pending or cleared request."""
    flow = bootstrap.workflow()
    _print_record(flow.withdraw(flow.principal(as_), request_id), [], as_json)


def _print_record(record: RequestRecord, events: list[Event], as_json: bool) -> None:
    if as_json:
        view = record_view(record)
        if events:
            view["events"] = [event_view(e) for e in events]
        typer.echo(json.dumps(view, indent=2))
        return
    console = _console()
    outcomes = {o.value: o for o in Outcome}
    style = (
        OUTCOME_STYLE[outcomes[record.state.value]] if record.state.value in outcomes else "bold"
    )
    console.print(f"[bold]{record.id}[/] v{record.version} [{style}]{record.state.value}[/]")
    table = Table(show_lines=False)
    for column in ("stage", "authority", "status", "by", "at", "reasons"):
        table.add_column(column)
    for a in record.approvals:
        table.add_row(
            str(a.stage), a.authority, f"[{STATUS_STYLE[a.status]}]{a.status.value}[/]",
            a.by or "", a.at.isoformat() if a.at else "", "\n".join(a.reasons[:2]),
        )  # fmt: skip
    console.print(table)
    for v in record.violations:
        console.print(f"[magenta]{v.code}[/]: {v.message}")
    if record.awaiting():
        console.print(f"awaiting: {', '.join(record.awaiting())}")
    for e in events:
        console.print(f"{e.at.isoformat()}  v{e.version} {e.kind} {e.by or ''}")


def _console() -> Console:
    return Console() if sys.stdout.isatty() else Console(width=160)


def _redact(url: str) -> str:
    """Hide a password in a database URL."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


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
