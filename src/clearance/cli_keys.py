"""``clearance key ...`` and ``clearance member ...``: keys made and kept by their owners
(registered on the main app in ``clearance.cli``).

A member runs ``key new`` where they work and hands over the public key it prints; the
authority's officer enrolls it with ``member enroll``, signing the statement with the
authority's root key from a file on their own machine. The service stores public keys
only, and checks each statement against the root key the scenario names.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from clearance import bootstrap
from clearance.adapters.key_files import new_key_file, read_key_file
from clearance.cli_run import settings
from clearance.domain.ledger.checkpoint import raw_public
from clearance.domain.ledger.members import (
    ENROLLED,
    KEY_REVOKED,
    MemberStatement,
    key_text,
    public_key,
)
from clearance.domain.ledger.signatures import sign_statement
from clearance.service import handlers, queries

key_app = typer.Typer(help="Key pairs made and kept by their owners.", no_args_is_help=True)
member_app = typer.Typer(
    help="Members' keys, enrolled by their authority's root key.", no_args_is_help=True
)

NameArg = Annotated[str, typer.Argument(help="The member's principal name.")]
AuthorityOption = Annotated[str, typer.Option("--authority", help="The member's authority.")]
PublicKeyOption = Annotated[
    str, typer.Option("--public-key", help="The member's public key (what `key new` printed).")
]
RootKeyOption = Annotated[
    Path, typer.Option("--root-key", help="The authority's root private key file.")
]


@key_app.command("new")
def key_new(
    out: Annotated[Path, typer.Option("--out", help="Where to write the private key (0600).")],
) -> None:
    """Make an Ed25519 key pair: the private key goes to --out (mode 0600, never over an
    existing file) and stays with you; the public key is the last line printed."""
    public = raw_public(new_key_file(out))
    typer.echo(f"private key written to {out} (keep it; it never leaves this machine)")
    typer.echo(key_text(public))


@member_app.command("enroll")
def member_enroll(
    name: NameArg, authority: AuthorityOption, key: PublicKeyOption, root_key: RootKeyOption
) -> None:
    """Enroll a member's public key for their authority: its root key signs the statement
    here; the service checks it against the root key the scenario names and logs it."""
    _state(ENROLLED, name, authority, key, root_key)
    typer.echo(f"enrolled {key.strip()} for {name} of {authority}")


@member_app.command("revoke")
def member_revoke(
    name: NameArg, authority: AuthorityOption, key: PublicKeyOption, root_key: RootKeyOption
) -> None:
    """Revoke a member's key: decisions signed with it are refused from then on."""
    _state(KEY_REVOKED, name, authority, key, root_key)
    typer.echo(f"revoked {key.strip()} of {name} of {authority}")


@member_app.command("statement")
def member_statement_cmd(
    name: NameArg,
    authority: AuthorityOption,
    key: PublicKeyOption,
    root_key: RootKeyOption,
    revoke: Annotated[
        bool, typer.Option("--revoke", help="A key revocation instead of an enrollment.")
    ] = False,
) -> None:
    """Sign an enrollment (or with --revoke a revocation) here, on the authority's machine,
    and print it as the JSON body of POST /v1/authorities/ID/members (or
    .../members/revocations): nothing is stored and no database is needed."""
    public = public_key(key, "--public-key")
    root = read_key_file(root_key, "--root-key")
    kind = KEY_REVOKED if revoke else ENROLLED
    at = datetime.now(UTC).replace(microsecond=0)
    fields = MemberStatement(kind, authority, name, public, at, "").fields()
    typer.echo(json.dumps({"statement": fields, "signature": sign_statement(root, fields)}))


@member_app.command("list")
def member_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Every enrolled member key, revoked or not."""
    records = queries.member_keys(bootstrap.context(settings()))
    rows = [
        {
            "authority": k.authority,
            "member": k.member,
            "public_key": key_text(k.public_key),
            "enrolled_at": k.enrolled_at.isoformat(),
            "revoked_at": k.revoked_at.isoformat() if k.revoked_at else None,
        }
        for k in records
    ]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        revoked = f", revoked {r['revoked_at']}" if r["revoked_at"] else ""
        typer.echo(
            f"{r['authority']} {r['member']} {r['public_key']} (enrolled {r['enrolled_at']}{revoked})"
        )


def _state(kind: str, name: str, authority: str, key: str, root_key: Path) -> None:
    public = public_key(key, "--public-key")
    root = read_key_file(root_key, "--root-key")
    ctx = bootstrap.context(settings())
    unsigned = MemberStatement(kind, authority, name, public, ctx.clock.now(), "")
    statement = replace(unsigned, signature=sign_statement(root, unsigned.fields()))
    handlers.apply_member_statement(ctx, statement)
