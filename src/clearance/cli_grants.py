"""``clearance grant suggest``: the standing grant that would have cleared what an
authority approved by hand (registered as ``grant`` in ``clearance.cli``;
``service.grant_suggestions`` does the work)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from clearance import bootstrap
from clearance.adapters.files import check_document_path, document_text, write_document
from clearance.cli_run import settings
from clearance.domain.clearance.grant_suggestions import LIMIT
from clearance.domain.errors import InputError, NotFoundError
from clearance.service import grant_suggestions as mining
from clearance.service import queries

grant_app = typer.Typer(help="Standing grants.", no_args_is_help=True)


@grant_app.command("suggest")
def grant_suggest(
    authority: Annotated[str, typer.Option("--authority", help="The authority (e.g. NE.Defense).")],
    since: Annotated[
        str | None, typer.Option(help="Decisions made at or after this RFC 3339 instant.")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="Decisions made before this RFC 3339 instant.")
    ] = None,
    as_: Annotated[
        str | None,
        typer.Option("--as", help="Act as this principal (a member of the authority)."),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=20, help="Suggestions at most.")] = LIMIT,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Write the best (or --pick) suggestion as a grant proposal: a `grants:` "
            "list in scenario.yaml's format (.yaml, .yml or .json)."
        ),
    ] = None,
    pick: Annotated[int, typer.Option(min=1, help="Which suggestion --out writes.")] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The standing grants (operator, purposes, payloads, area, time window) that would
    have cleared the most of what AUTHORITY approved by hand and none of what it denied,
    best first, with those counts. Nothing is stored."""
    start, end = mining.period(since, until)
    if out is not None:
        check_document_path(out)
    ctx = bootstrap.context(settings())
    who = queries.principal(ctx, as_) if as_ is not None else None
    found = mining.grant_suggestions(ctx, who, authority, start, end, limit)
    view = mining.with_proposals(mining.suggestions_view(found), document_text)
    if out is not None:
        if not found.suggestions:
            raise NotFoundError(f"no grant would have cleared an approval of {authority}")
        if pick > len(found.suggestions):
            raise InputError(f"--pick: there are {len(found.suggestions)} suggestions")
        data, header = mining.proposal(authority, view["suggestions"][pick - 1])
        write_document(out, data, header)
    if as_json:
        typer.echo(json.dumps(view, indent=2))
        return
    period = f"{view['since'] or 'the start'} to {view['until'] or 'now'}"
    typer.echo(
        f"{authority}: {found.approvals} approvals and {found.denials} denials by hand, {period}"
    )
    if not view["suggestions"]:
        typer.echo("no standing grant would have cleared any of its approvals")
    for i, s in enumerate(view["suggestions"], 1):
        typer.echo(f"{i}. {s['grant']['id']}: {s['description']}")
    if out is not None:
        typer.echo(f"wrote suggestion {pick} to {out}")
