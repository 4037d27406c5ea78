"""The ``clearance`` command. Each command parses, calls the service layer, renders.

The environment is read once, at start (``config.Settings``). Exit codes, by the error's
class (``cli_run``, also at the foot of ``clearance --help``): 0 done (whatever the
outcome of an evaluation), 1 verification failed, 2 invalid input (one line on stderr
naming the file, field and rule), 3 not found, 4 conflict, 5 not allowed, 70 internal
error (one line; CLEARANCE_DEBUG=1 shows the traceback).
"""

from __future__ import annotations

import errno
import json
import socket
import sys
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from clearance import (
    bootstrap,
    cli_audit,
    cli_demo,
    cli_forecast,
    cli_grants,
    cli_keys,
    cli_monitor,
    cli_replay,
    cli_run,
    cli_serve,
    cli_webhooks,
    cli_witness,
)
from clearance.adapters.key_files import read_key_file
from clearance.cli_run import EPILOG, ExitCode, exit_code, settings
from clearance.config import DEFAULT_PORT, Settings
from clearance.domain.airspace.volumes import LatLng
from clearance.domain.clearance.model import ApprovalStatus, Evaluation, Outcome, Principal
from clearance.domain.clearance.scenario import Scenario
from clearance.domain.clearance.timeline import Timeline
from clearance.domain.clearance.workflow import Decision, Event, RequestRecord, RequestState
from clearance.domain.documents import instant
from clearance.domain.errors import ClearanceError, ConflictError, InputError
from clearance.domain.ledger.signatures import document_digest, sign_statement, statement_for
from clearance.service import alternatives, handlers, queries
from clearance.service.context import Context
from clearance.service.evaluations import Evaluated, evaluate_documents
from clearance.service.handlers.decide import Signed, read_conditions
from clearance.service.handlers.telemetry import record_telemetry
from clearance.service.monitoring import read_track_file, simulated_track_csv
from clearance.service.views import (
    evaluation_view,
    event_view,
    principal_view,
    record_view,
    summary_view,
)

app = typer.Typer(
    name="clearance",
    help="Clear drone operations through several independent authorities.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    epilog=EPILOG,
)

OUTCOME_STYLE = {
    Outcome.CLEARED: "bold green",
    Outcome.PENDING: "bold yellow",
    Outcome.DENIED: "bold red",
    Outcome.INFEASIBLE: "bold magenta",
}
STATE_STYLE = {o.value: style for o, style in OUTCOME_STYLE.items()}
STATUS_STYLE = {
    ApprovalStatus.AUTO_APPROVED: "green",
    ApprovalStatus.COVERED_BY_GRANT: "green",
    ApprovalStatus.APPROVED: "green",
    ApprovalStatus.NEEDS_REVIEW: "yellow",
    ApprovalStatus.DENIED: "red",
}


@app.callback()
def _root(ctx: typer.Context) -> None:
    """Clear drone operations through several independent authorities."""
    cli_run.begin(ctx.obj)


def evaluate_command(
    requests: Annotated[
        list[Path], typer.Argument(help="Request files (YAML or JSON) or directories of them.")
    ],
    scenario: Annotated[Path, typer.Option("--scenario", help="Scenario directory.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    suggest: Annotated[
        bool,
        typer.Option(
            "--suggest",
            help="Also say what would clear each request not cleared: the smallest changes, "
            "each evaluated (at the scenario's clock, or CLEARANCE_NOW).",
        ),
    ] = False,
) -> None:
    """Evaluate requests against a scenario, storing nothing: outcome, chain of approvals,
    and why."""
    loaded = bootstrap.scenario_from(scenario)
    documents = bootstrap.documents_from(requests)
    results = evaluate_documents(documents, loaded)
    found = []
    if suggest:
        now = bootstrap.clock_for(loaded, settings()).now()
        found = [alternatives.offline(d.content, loaded, now) for d in documents]
    if as_json:
        views = [{"request": r.source, **evaluation_view(r.evaluation)} for r in results]
        for view, f in zip(views, found, strict=False):
            view["alternatives"] = alternatives.alternatives_view(f)
        typer.echo(json.dumps(views[0] if len(views) == 1 else views, indent=2))
    else:
        rows = [(Path(r.source).name, r.evaluation.outcome.value, r.evaluation) for r in results]
        _console().print(_table(rows))
        if suggest:
            _console().print(_suggestions_table(results, found))


def _suggestions_table(results: list[Evaluated], found: list[alternatives.Suggested]) -> Table:
    """Each request not cleared, with what would clear it, best first."""
    table = Table(title="What would clear it", show_lines=True)
    table.add_column("request", overflow="fold", max_width=34)
    table.add_column("would be", no_wrap=True)
    table.add_column("change", ratio=1)
    for r, f in zip(results, found, strict=True):
        if r.evaluation.outcome is Outcome.CLEARED:
            continue
        label = Path(r.source).name
        if not f.alternatives.suggestions:
            table.add_row(label, "", "no change found that clears it or shortens its chain")
        for s in f.alternatives.suggestions:
            state = s.evaluation.outcome.value
            reviews = f" ({s.reviews} to review)" if s.reviews else ""
            table.add_row(label, f"[{STATE_STYLE[state]}]{state}[/]{reviews}", s.description)
    return table


app.command("evaluate")(evaluate_command)
# the command's earlier name, kept so scripts that use it keep working
app.command("check", help="Same as `evaluate` (its earlier name, kept for scripts).")(
    evaluate_command
)


def _table(
    rows: list[tuple[str, str, Evaluation]], title: str = "Clearance", column: str = "outcome"
) -> Table:
    """One row per request: a label, its evaluation's outcome (or, for stored requests,
    ``column="state"``: its state), the chain and why."""
    table = Table(title=title, show_lines=True)
    table.add_column("request", overflow="fold", max_width=34)
    table.add_column(column, no_wrap=True)
    table.add_column("chain of approvals (stage authority status)", no_wrap=True)
    table.add_column("why", ratio=1)
    for label, state, e in rows:
        chain = "\n".join(
            f"{a.stage} {a.authority} [{STATUS_STYLE[a.status]}]{a.status.value}[/]"
            for a in e.approvals
        )
        style = STATE_STYLE.get(state, "bold")
        table.add_row(label, f"[{style}]{state}[/]", chain, "\n".join(_why(e, state)))
    return table


def _why(e: Evaluation, state: str) -> list[str]:
    """What the outcome rests on: violations and denials; who must still decide only
    when the request is pending (an infeasible or denied one awaits nobody)."""
    lines = [f"[magenta]{v.code}[/]: {v.message}" for v in e.violations]
    for a in e.approvals:
        if a.status is ApprovalStatus.DENIED:
            by = f"denied by {a.authority}" + (f" ({a.by})" if a.by else "")
            reasons = [a.comment] if a.by and a.comment else list(a.reasons)
            lines.extend(f"[red]{by}[/]: {reason}" for reason in reasons or ["no reason given"])
    waiting = [a.authority for a in e.approvals if a.status is ApprovalStatus.NEEDS_REVIEW]
    if state == Outcome.PENDING.value and waiting:
        lines.append(f"[yellow]awaiting review[/] by {', '.join(waiting)}")
    if state not in STATE_STYLE:  # withdrawn, expired
        lines.append(state)
    if lines:
        return lines
    decided = any(a.status is ApprovalStatus.APPROVED for a in e.approvals)
    return [
        f"cleared by standing grants{', policies and decisions' if decided else ' and policies'}"
    ]


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
app.add_typer(cli_keys.key_app, name="key")
app.add_typer(cli_keys.member_app, name="member")
app.add_typer(cli_witness.witness_app, name="witness")
app.command("replay")(cli_replay.replay_command)
app.add_typer(cli_webhooks.webhooks_app, name="webhooks")
app.command("monitor")(cli_monitor.monitor)
app.add_typer(cli_grants.grant_app, name="grant")

AsOption = Annotated[str, typer.Option("--as", help="Act as this principal (by name).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
RequestIdArg = Annotated[str, typer.Argument(help="The request's id (req-...).")]


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database to the latest schema."""
    url = bootstrap.upgrade_database(settings())
    typer.echo(f"database is up to date: {_redact(url)}")


@scenario_app.command("load")
def scenario_load(directory: Annotated[Path, typer.Argument(help="Scenario directory.")]) -> None:
    """Validate a scenario directory and store it in the database as a version (named by
    the SHA-256 of its files), made current: new requests are evaluated against it, stored
    ones keep the version they were evaluated against."""
    bootstrap.upgrade_database(settings())
    scenario = bootstrap.store_scenario(directory, settings())
    typer.echo(
        f"loaded scenario {scenario.name}: {len(scenario.authorities)} authorities, "
        f"{len(scenario.grants)} grants, {len(scenario.territories)} territories; "
        f"version {scenario.version} is current"
    )


@principal_app.command("add")
def principal_add(
    name: Annotated[str, typer.Argument(help="A unique name (a revoked one stays taken).")],
    authority: Annotated[str | None, typer.Option(help="Member of this authority.")] = None,
    operator: Annotated[str | None, typer.Option(help="Submits for this operator.")] = None,
) -> None:
    """Create a principal; its API token is the last line of output (shown once)."""
    token = handlers.add_principal(
        bootstrap.context(settings()), name, operator=operator, authority=authority
    )
    typer.echo(f"created principal {name}")
    typer.echo(token)


@principal_app.command("list")
def principal_list(as_json: JsonOption = False) -> None:
    """Every principal: name, role, when it was created and, if so, revoked."""
    records = queries.principals(bootstrap.context(settings()))
    if as_json:
        typer.echo(json.dumps([principal_view(r) for r in records], indent=2))
        return
    table = Table(title="Principals")
    for column in ("name", "operator", "authority", "created", "revoked"):
        table.add_column(column)
    for r in records:
        p = r.principal
        table.add_row(
            p.name, p.operator or "", p.authority or "", _when(r.created_at), _when(r.revoked_at)
        )
    _console().print(table)


@principal_app.command("revoke")
def principal_revoke(name: Annotated[str, typer.Argument(help="The principal's name.")]) -> None:
    """Revoke a principal: every server on this database refuses its token at once.

    The revocation is recorded in the audit log; the name stays taken."""
    record = handlers.revoke_principal(bootstrap.context(settings()), name)
    typer.echo(f"revoked principal {name} at {_when(record.revoked_at)}: its token is refused")


HostOption = Annotated[str, typer.Option(help="Address to listen on.")]
PortOption = Annotated[
    int | None,
    typer.Option(
        help=f"Port to listen on [default: CLEARANCE_PORT, else {DEFAULT_PORT}].", min=1, max=65535
    ),
]


WorkersOption = Annotated[
    int,
    typer.Option(
        help="Worker processes serving the one port (each with its own database connections); "
        "one that dies is replaced.",
        min=1,
        max=64,
    ),
]


@app.command("serve")
def serve(
    host: HostOption = "127.0.0.1", port: PortOption = None, workers: WorkersOption = 1
) -> None:
    """Serve the REST API, the page (/) and the API docs (/docs).

    Uses the configured database (CLEARANCE_DATABASE_URL); `db upgrade` and `scenario load` first."""
    listening = _listen(host, port or settings().port)
    if workers == 1:
        ctx = bootstrap.context(settings())
        _warn_keyless(ctx.current_scenario())
        _serve(ctx, listening, settings())
        return
    # refused here, with its exit code, not in N workers
    _warn_keyless(bootstrap.check_serving(settings()))
    code = cli_serve.supervise(
        listening, workers, lambda: _serve(bootstrap.context(settings()), listening, settings())
    )
    raise typer.Exit(code)


def _warn_keyless(scenario: Scenario) -> None:
    warning = bootstrap.keyless_warning(scenario)
    if warning is not None:
        print(f"clearance serve: warning: {warning}", file=sys.stderr, flush=True)


def _listen(host: str, port: int) -> socket.socket:
    """The listening socket, taken before anything else happens, so that a port in use
    is refused with a clear line and nothing of a running server is touched."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listening = socket.socket(family, socket.SOCK_STREAM)
    try:
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listening.bind((host, port))
    except OSError as e:
        listening.close()
        if e.errno == errno.EADDRINUSE:
            raise InputError(
                f"port {port} on {host} is in use (is a server already running there?); "
                "choose another with --port N or CLEARANCE_PORT=N",
                field="--port",
            ) from None
        raise InputError(f"cannot listen on {host}:{port} ({e.strerror})", field="--host") from None
    return listening


def _serve(ctx: Context, listening: socket.socket, configured: Settings) -> None:
    import uvicorn

    from clearance.api.app import INTEGRATE_SECONDS, WITNESSED_INTEGRATE_SECONDS, create_app

    witnessed = configured.witnesses is not None
    app = create_app(
        ctx,
        audit_log=bootstrap.audit_log(configured, ctx=ctx),
        ready=bootstrap.Readiness(configured),
        integrate_seconds=WITNESSED_INTEGRATE_SECONDS if witnessed else INTEGRATE_SECONDS,
        deliver=bootstrap.webhook_worker(ctx, configured),
    )
    host, port = listening.getsockname()[:2]
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))
    server.run(sockets=[listening])


conformance_app = typer.Typer(help="What was flown against what was cleared.", no_args_is_help=True)
simulate_app = typer.Typer(help="Plausible tracks for demos and tests.", no_args_is_help=True)
app.add_typer(conformance_app, name="conformance")
app.add_typer(simulate_app, name="simulate")


@conformance_app.command("check")
def conformance_check(
    request_id: RequestIdArg,
    track: Annotated[Path, typer.Argument(help="Telemetry: .csv (time,lat,lng,alt_m) or .jsonl.")],
    as_json: JsonOption = False,
) -> None:
    """Check a flown track; the result is recorded on the request (exit 0 either way)."""
    media = "jsonl" if track.suffix.lower() in (".jsonl", ".ndjson") else "csv"
    result = record_telemetry(
        bootstrap.context(settings()), request_id, read_track_file(track, media)
    )
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
        return
    verdict = "[green]conforming[/]" if result.conforming else "[red]not conforming[/]"
    _console().print(f"{request_id}: {verdict}, {result.conformance_percent:.1f}% of flight time")
    for x in result.excursions:
        _console().print(
            f"  {x.kind} {_when(x.start)} .. {_when(x.end)} ({x.seconds:.0f} s, "
            f"{x.max_outside_m:.0f} m outside){' over ' + x.party if x.party else ''}"
        )
    for reason in result.reasons:
        _console().print(f"  {reason}")


@simulate_app.command("track")
def simulate_track_command(
    request_id: RequestIdArg,
    out: Annotated[Path, typer.Option("--out", help="CSV file to write.")],
    drift_to: Annotated[
        str | None, typer.Option("--drift-to", help="LAT,LNG to drift towards.")
    ] = None,
) -> None:
    """Write a plausible track for a request: inside its first volume, or drifting."""
    target = _lat_lng(drift_to) if drift_to else None
    out.write_text(
        simulated_track_csv(bootstrap.context(settings()), request_id, target), encoding="utf-8"
    )
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
    host: HostOption = "127.0.0.1",
    port: PortOption = None,
    directory: Annotated[
        Path | None,
        typer.Option(
            "--dir",
            help="Keep the demo's database (demo.db) and keys (demo-keys) here, not in the configured ones.",
        ),
    ] = None,
    fresh: Annotated[
        bool,
        typer.Option("--fresh", help="With --dir: delete the demo's database and keys first."),
    ] = False,
    serve_api: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve the API.")] = True,
    timeline: Annotated[
        Path | None,
        typer.Option(
            help="Replay this timeline into a database that holds no request (default: the "
            "scenario's timeline.yaml, if it has one; else its example requests are stored)."
        ),
    ] = None,
) -> None:
    """Store a scenario and replay its timeline (or store its example requests), print their state and the demo principals' tokens, then serve.

    The port is checked first: when it is in use, nothing is changed. The database is kept from one start to the next (with --dir, --fresh starts over); the timeline is replayed (or the example requests stored) when it holds no request. After a replay, the demo's clock starts at the timeline's end and moves with real time. Each start gives the demo principals new tokens and their earlier ones stop working (only digests of tokens are stored)."""
    if fresh and directory is None:
        raise InputError(
            "needs --dir: the demo deletes only a database it keeps itself", field="--fresh"
        )
    port = port or settings().port
    listening = _listen(host, port) if serve_api else None
    if directory is not None:
        configured = bootstrap.demo_settings(directory, settings())
        bootstrap.hold_demo(configured.key_dir.parent)  # until this process ends
        if fresh:
            bootstrap.forget_demo(configured.key_dir.parent)
            cli_demo.forget_parties(configured.key_dir.parent)
    else:
        configured = settings()
    home = configured.key_dir.parent  # the parties' folders beside, never in, the key dir
    parties_scenario = cli_demo.scenario_with_root_keys(scenario, home)
    cli_demo.forget_server_signing_keys(configured)
    bootstrap.upgrade_database(configured)
    kept = bootstrap.holds_requests(configured)
    console = _console()
    script = _demo_replay(
        parties_scenario, timeline, configured, home, console, kept=kept, own=directory is not None
    )
    loaded, _ = bootstrap.scenario_unless_stored(parties_scenario, configured)
    ctx = bootstrap.context(configured)
    if script is not None:
        since = bootstrap.made_current_at(configured)
        ctx.clock = bootstrap.demo_clock(script, configured, since)
    member_keys = cli_demo.enroll_members(ctx, loaded, home)
    table = Table(title="Demo principals (new tokens on every start; earlier ones stop working)")
    for column in ("principal", "acts for", "token"):
        table.add_column(column, overflow="fold")
    planners: dict[str, Principal] = {}
    roles = [
        *((name, {"operator": o}) for o, name in DEMO_OPERATORS.items() if o in loaded.operators),
        *((m.id, {"authority": m.authority}) for m in loaded.members.values()),
    ]
    for name, role in roles:
        try:
            token = handlers.issue_token(ctx, name, **role)
        except ConflictError as e:  # revoked, or the name taken by another role
            token = f"none: {e}"
        else:
            if "operator" in role:
                planners[role["operator"]] = queries.principal(ctx, name)
        table.add_row(name, next(iter(role.values())), token)
    if not kept and script is None:
        _store_examples(ctx, scenario / "requests", planners)
    records = queries.inspect_all(ctx, limit=DEMO_SHOWN + 1)
    rows = [(_title(r), r.state.value, _as_evaluation(r)) for r in reversed(records[:DEMO_SHOWN])]
    console.print(_table(rows, "Requests", column="state"))
    if len(records) > DEMO_SHOWN:
        console.print(f"(the newest {DEMO_SHOWN}; `clearance request list` shows the rest)")
    if kept and script is not None:
        console.print(f"Kept the replayed timeline ({script.source}); the clock goes on from it.")
    if kept:
        console.print(
            f"Kept the demo's database ({_redact(configured.database_url)}) and its requests; "
            "--fresh starts over."
        )
    console.print(table)
    console.print(_parties_table(member_keys, home))
    if directory is not None:
        console.print(
            "To use the clearance command on this database:\n"
            f"  export CLEARANCE_DATABASE_URL={configured.database_url} "
            f"CLEARANCE_KEY_DIR={configured.key_dir}"
        )
    if listening is not None:
        base = f"http://{host}:{port}"
        witnesses = cli_demo.Witnesses(home, configured)
        policy = witnesses.start()
        console.print(
            f"Witnesses {', '.join(f'{p} on {u}' for p, u in witnesses.urls.items())} (starting; "
            f"logs beside their keys in {cli_demo.parties_dir(home) / 'witnesses'}) cosign "
            f"every checkpoint; the policy every verifier requires (any "
            f"{cli_demo.QUORUM} of them): {policy} (also at {base}/v1/audit/policy)"
        )
        console.print(
            f"Open the page: {base}/ and sign in with a token above; the API's docs: {base}/docs\n"
            f"API on {base} (OpenAPI: {base}/openapi.json). Try:\n"
            f"  curl -s -H 'Authorization: Bearer <token>' {base}/v1/requests"
        )
        sys.stdout.flush()
        try:
            _serve(ctx, listening, replace(configured, witnesses=policy))
        finally:
            witnesses.stop()


def _parties_table(keys: list[cli_demo.MemberKeyFile], base: Path) -> Table:
    table = Table(
        title=f"Members' keys, on their own machines ({cli_demo.parties_dir(base)}; the "
        "server holds public keys only): sign in on the page with the member's token, then "
        "under 'Your signing key' import the file"
    )
    for column in ("member", "of", "key file"):
        table.add_column(column, overflow="fold")
    for k in keys:
        table.add_row(k.member, k.authority, str(k.path))
    return table


DEMO_SHOWN = 20  # requests the demo lists at start


def _demo_replay(
    scenario: Path,
    given: Path | None,
    configured: Settings,
    home: Path,
    console: Console,
    *,
    kept: bool,
    own: bool,
) -> Timeline | None:
    """The demo's timeline (``given``, else the scenario's ``timeline.yaml`` if any),
    replayed first when the database holds no request; the members' keys are made in the
    parties' folders (``cli_demo.parties_dir(home)``), beside the root keys that enroll
    them. ``own``: the demo keeps its own folder (--dir), cleared if the replay fails, so
    it needs no rehearsal. None when there is no timeline."""
    path = given if given is not None else scenario / "timeline.yaml"
    if given is None and not path.is_file():
        return None
    if kept:
        return bootstrap.timeline_from(path, scenario)  # replayed by an earlier start
    try:
        run = bootstrap.replay_timeline(
            path, scenario, configured,
            database_url=configured.database_url, keys=cli_demo.parties_dir(home),
            rehearse=not own,  # a demo folder of its own is simply cleared
        )  # fmt: skip
    except BaseException:
        if own:
            bootstrap.forget_demo(home)
        raise
    for table in cli_replay.tables(run.replayed)[1:]:
        console.print(table)
    console.print(
        f"Replayed {run.replayed.steps} steps of {path} "
        f"({instant(run.replayed.start)} to {instant(run.replayed.end)})."
    )
    return run.timeline


def _store_examples(ctx: Context, examples: Path, planners: dict[str, Principal]) -> None:
    """Submit each example request as its operator's demo planner (in file order)."""
    if not examples.is_dir():
        return
    for document in bootstrap.documents_from([examples]):
        content = document.content
        operator = content.get("operator") if isinstance(content, dict) else None
        planner = planners.get(operator) if isinstance(operator, str) else None
        if planner is None:
            _console().print(f"not stored: {document.source}: no demo planner for {operator}")
            continue
        try:
            handlers.submit(ctx, planner, content)
        except ClearanceError as e:
            _console().print(f"not stored: {document.source}: {e}")


def _title(r: RequestRecord) -> str:
    """The id, then what a person recognises: purpose, operator, site and first start."""
    d = r.document
    what = f"{d.get('purpose')} {r.operator} from {d.get('launch_site')}"
    return f"{r.id}\n{what}\n{_when(r.time_start)}"


def _as_evaluation(r: RequestRecord) -> Evaluation:
    """A stored request as the table shows an evaluation: its chain as it stands now."""
    return Evaluation(r.outcome, tuple(r.approvals), tuple(r.violations))


@request_app.command("submit")
def request_submit(
    file: Annotated[Path, typer.Argument(help="Request document (YAML or JSON).")],
    as_: AsOption,
    as_json: JsonOption = False,
) -> None:
    """Submit a request: it is evaluated, stored and routed."""
    ctx = bootstrap.context(settings())
    (document,) = bootstrap.documents_from([file])
    record = handlers.submit(ctx, queries.principal(ctx, as_), document.content).record
    _print_record(record, [], as_json, ctx.scenario_of(record))


@request_app.command("show")
def request_show(request_id: RequestIdArg, as_json: JsonOption = False) -> None:
    """One request: its state, chain of approvals and timeline."""
    ctx = bootstrap.context(settings())
    record, events = queries.inspect(ctx, request_id)
    _print_record(record, events, as_json, ctx.scenario_of(record))


@request_app.command("list")
def request_list(
    state: Annotated[RequestState | None, typer.Option(help="Only requests in this state.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 100,
    as_json: JsonOption = False,
) -> None:
    """Every stored request, whoever's (the database operator's view), newest first."""
    ctx = bootstrap.context(settings())
    records = queries.inspect_all(ctx, state, limit)
    if as_json:
        typer.echo(json.dumps([summary_view(r, ctx.scenario_of(r)) for r in records], indent=2))
        return
    table = Table(title="Requests")
    for column in ("id", "state", "operator", "submitted", "first start", "awaiting"):
        table.add_column(column)
    for r in records:
        table.add_row(
            r.id, r.state.value, r.operator, _when(r.created_at), _when(r.time_start),
            ", ".join(r.awaiting()),
        )  # fmt: skip
    _console().print(table)


@request_app.command("decide")
def request_decide(
    request_id: RequestIdArg,
    as_: AsOption,
    authority: Annotated[str, typer.Option(help="Decide for this authority.")],
    approve: Annotated[
        bool, typer.Option("--approve", help="Approve the authority's approval.")
    ] = False,
    deny: Annotated[bool, typer.Option("--deny", help="Deny the request.")] = False,
    comment: Annotated[str, typer.Option(help="Why.")] = "",
    conditions: Annotated[
        str | None, typer.Option("--conditions", help="Conditions attached to the decision.")
    ] = None,
    not_before: Annotated[
        str | None,
        typer.Option(
            "--not-before", help="With --conditions: fly from this time (RFC 3339), not earlier."
        ),
    ] = None,
    not_after: Annotated[
        str | None,
        typer.Option(
            "--not-after", help="With --conditions: fly until this time (RFC 3339), not later."
        ),
    ] = None,
    key: Annotated[
        Path | None,
        typer.Option(
            "--key",
            help="Sign the decision here with your enrolled private key (required for an "
            "authority whose scenario entry names a root_key).",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Approve or deny for one authority (its approval on the request), with conditions if need be.

    --conditions, --not-before and --not-after give what the API's decision calls conditions (text, time_start, time_end); the window must lie within the request's."""
    if approve == deny:
        raise InputError("give exactly one of --approve and --deny", field="--approve/--deny")
    attached: dict[str, str] | None = None
    if conditions is not None:
        attached = {"text": conditions}
        if not_before is not None:
            attached["time_start"] = not_before
        if not_after is not None:
            attached["time_end"] = not_after
    elif not_before is not None or not_after is not None:
        raise InputError("--not-before and --not-after need --conditions", field="--conditions")
    ctx = bootstrap.context(settings())
    decision = Decision.APPROVE if approve else Decision.DENY
    who = queries.principal(ctx, as_)
    try:
        if key is None:
            record = handlers.decide(ctx, who, request_id, authority, decision, comment, attached)
        else:
            record = _decide_signed(
                ctx, who, request_id, authority, decision, comment, attached, key
            )
    except InputError as e:
        if e.field in CONDITION_OPTIONS:
            raise InputError(e.rule, field=CONDITION_OPTIONS[e.field]) from None
        raise
    _print_record(record, [], as_json, ctx.scenario_of(record))


def _decide_signed(
    ctx: Context,
    who: Principal,
    request_id: str,
    authority: str,
    decision: Decision,
    comment: str,
    attached: dict[str, str] | None,
    key: Path,
) -> RequestRecord:
    """Sign the decision's statement here, on the version of the request read now, and
    have the service check it against the key enrolled for ``who``."""
    private = read_key_file(key, "--key")
    seen, _ = queries.get(ctx, who, request_id)
    parsed = read_conditions(attached, seen) if attached is not None else None
    at = ctx.clock.now()
    statement = statement_for(
        seen.id,
        seen.version + 1,
        document_digest(seen.document),
        authority,
        decision.value,
        comment,
        parsed,
        who.name,
        at,
    )
    signed = Signed(at, sign_statement(private, statement))
    return handlers.decide(
        ctx, who, request_id, authority, decision, comment, attached,
        expected_version=seen.version, signed=signed,
    )  # fmt: skip


# The fields of the API's decision conditions, as the options that give them.
CONDITION_OPTIONS = {
    "conditions": "--not-before/--not-after",
    "conditions.text": "--conditions",
    "conditions.time_start": "--not-before",
    "conditions.time_end": "--not-after",
}


request_app.command("forecast")(cli_forecast.request_forecast)


@request_app.command("withdraw")
def request_withdraw(request_id: RequestIdArg, as_: AsOption, as_json: JsonOption = False) -> None:
    """Withdraw a pending or cleared request."""
    ctx = bootstrap.context(settings())
    withdrawn = handlers.withdraw(ctx, queries.principal(ctx, as_), request_id)
    _print_record(withdrawn, [], as_json, ctx.scenario_of(withdrawn))


def _print_record(
    record: RequestRecord, events: list[Event], as_json: bool, scenario: Scenario
) -> None:
    if as_json:
        view = record_view(record, scenario)
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
    # the live state above; what the rules said when it was last evaluated, dated
    console.print(f"last evaluation ({_when(record.evaluated_at)}): {record.outcome.value}")
    table = Table(show_lines=False)
    for column in ("stage", "authority", "status", "by", "at", "reasons"):
        table.add_column(column)
    for a in record.approvals:
        table.add_row(
            str(a.stage), a.authority, f"[{STATUS_STYLE[a.status]}]{a.status.value}[/]",
            a.by or "", _when(a.at), "\n".join(a.reasons[:2]),
        )  # fmt: skip
    console.print(table)
    for a in record.approvals:
        if a.conditions is not None:
            c = a.conditions
            window = f" ({_when(c.time_start) or 'start'} to {_when(c.time_end) or 'end'})"
            shown = window if c.time_start or c.time_end else ""
            console.print(f"conditions of {a.authority}: {c.text}{shown}")
    for v in record.violations:
        console.print(f"[magenta]{v.code}[/]: {v.message}")
    if record.awaiting():
        console.print(f"awaiting: {', '.join(record.awaiting())}")
    for e in events:
        console.print(f"{_when(e.at)}  v{e.version} {e.kind} {e.by or ''}")


def _when(at: datetime | None) -> str:
    """A time as the API prints it (RFC 3339, UTC, with a Z), or nothing."""
    return instant(at) if at is not None else ""


def _console() -> Console:
    return Console() if sys.stdout.isatty() else Console(width=160)


def _redact(url: str) -> str:
    """Hide a password in a database URL."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def main() -> None:
    """Console entry point: reads the settings once, maps errors to exit codes by class
    (``cli_run.EXIT_CODES``), never shows a traceback unless CLEARANCE_DEBUG asks.

    Usage errors are Click's own (exit 2 with the usage line)."""
    debug = False
    try:
        configured = Settings.from_env()
        debug = configured.debug
        app(obj=configured)
    except ClearanceError as e:
        code = exit_code(e)
        if code is ExitCode.INTERNAL_ERROR:  # a class nobody mapped: a bug
            _internal(e, debug)
        print(f"error: {e}", file=sys.stderr)
        sys.exit(code)
    except Exception as e:
        _internal(e, debug)


def _internal(e: Exception, debug: bool) -> None:
    """A bug (or a broken environment): one line, unless CLEARANCE_DEBUG asks for more."""
    if debug:
        raise e
    message = " ".join(str(e).split())  # one line, even when a library's has several
    print(
        f"internal error: {type(e).__name__}: {message} (CLEARANCE_DEBUG=1 shows more)",
        file=sys.stderr,
    )
    sys.exit(ExitCode.INTERNAL_ERROR)


if __name__ == "__main__":
    main()
