"""``clearance witness ...``: what a party runs to witness the audit log (registered on
the main app in ``clearance.cli``).

- ``witness key new --name NAME --out FILE``: a new Ed25519 witness key in FILE (0600,
  never overwritten); the last line printed is its verifier key (type 0x04), for the
  policies that name this witness.
- ``witness serve --name NAME --key FILE --state DIR --log VKEY [--log VKEY...]``: the
  tlog-witness HTTP service (``clearance.api.witness``) for the logs given by their
  verifier keys (the key name is the log's origin), its state in ``DIR/witness.db``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from clearance.adapters.key_files import new_key_file, read_key_file
from clearance.adapters.witness_store import SqliteWitnessStore
from clearance.domain.errors import InputError
from clearance.domain.ledger.checkpoint import NoteError, parse_vkey, raw_public
from clearance.domain.ledger.witness import LogKey, cosigner_key_id, cosigner_vkey
from clearance.service.witness import Witness

witness_app = typer.Typer(
    help="Witness the audit log: cosign checkpoints that extend what was cosigned before "
    "(C2SP tlog-witness).",
    no_args_is_help=True,
)
key_app = typer.Typer(help="A witness's Ed25519 key.", no_args_is_help=True)
witness_app.add_typer(key_app, name="key")

NameOption = Annotated[
    str, typer.Option("--name", help="The witness's key name, e.g. witness.example/us.")
]


def _checked_name(name: str) -> str:
    try:
        cosigner_key_id(name, bytes(32))
    except NoteError as e:
        raise InputError(str(e), field="--name") from None
    return name


@key_app.command("new")
def key_new(
    name: NameOption,
    out: Annotated[Path, typer.Option("--out", help="The private key file to create.")],
) -> None:
    """Make a witness key in FILE (mode 0600); print its verifier key as the last line."""
    _checked_name(name)
    key = new_key_file(out)
    typer.echo(f"private key written to {out} (mode 0600); verifier key:")
    typer.echo(cosigner_vkey(name, key.public_key()))


@witness_app.command("serve")
def serve(
    name: NameOption,
    key: Annotated[Path, typer.Option("--key", help="The witness's private key file.")],
    state: Annotated[Path, typer.Option("--state", help="Directory of its database.")],
    log: Annotated[
        list[str],
        typer.Option("--log", help="A log's verifier key (repeatable); its name is its origin."),
    ],
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port.", min=1, max=65535)] = 8100,
) -> None:
    """Serve POST /add-checkpoint for the logs given with --log."""
    from clearance.cli import _listen  # the one place a listening socket is taken

    name, private, logs = _checked_name(name), read_key_file(key), _logs(log)
    listening = _listen(host, port)
    witness = Witness(name, private, logs, SqliteWitnessStore(state))
    import uvicorn

    from clearance.api.witness import create_witness_app

    bound_host, bound_port = listening.getsockname()[:2]
    typer.echo(
        f"witness {witness.name} on http://{bound_host}:{bound_port}/ for "
        f"{', '.join(witness.logs)}; verifier key:\n{witness.vkey}"
    )
    config = uvicorn.Config(
        create_witness_app(witness), host=bound_host, port=bound_port, log_level="warning"
    )
    uvicorn.Server(config).run(sockets=[listening])


def _logs(vkeys: list[str]) -> list[LogKey]:
    if not vkeys:
        raise InputError("name at least one log to witness", field="--log")
    logs = []
    for text in vkeys:
        try:
            name, public = parse_vkey(text)
        except NoteError as e:
            raise InputError(f"{text!r}: {e}", field="--log") from None
        logs.append(LogKey(name, raw_public(public)))
    return logs
