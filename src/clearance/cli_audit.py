"""``clearance audit ...``: the tamper-evident log (registered on the main app in
``clearance.cli``).

``audit verify`` and ``audit verify-export`` exit 0 when everything checks out, and 1
(``ExitCode.VERIFICATION_FAILED``) when not: one line on stderr naming the first bad entry when the log itself is damaged,
else one line per stored request field that disagrees with the replayed log.
"""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

import typer

from clearance import bootstrap
from clearance.adapters.audit_files import read_bundle, read_export, write_bundle, write_export
from clearance.cli_run import ExitCode, settings
from clearance.domain.errors import InputError
from clearance.domain.ledger.audit import AuditError, unsigned_summary, verify_log
from clearance.domain.ledger.bundle import verify_bundle
from clearance.domain.ledger.checkpoint import NoteError, parse_vkey, raw_public
from clearance.domain.ledger.policy import QuorumError, check_quorum
from clearance.service.audit import checkpoint_view, entry_view
from clearance.service.bundle import request_bundle

audit_app = typer.Typer(
    help="The tamper-evident audit log (RFC 9162 Merkle tree, signed checkpoints).",
    no_args_is_help=True,
)

SHOWN = 50  # problems printed by `audit verify` (--json lists every one)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
PolicyOption = Annotated[
    Path | None,
    typer.Option(
        "--policy",
        help="A witness policy (C2SP tlog-policy): the latest checkpoint must be signed by "
        "a log it names and cosigned by its quorum of witnesses.",
    ),
]


@audit_app.command("checkpoint")
def audit_checkpoint(as_json: JsonOption = False) -> None:
    """Integrate waiting entries and print the latest signed checkpoint.

    The checkpoint is a C2SP signed note over the entries committed so far."""
    checkpoint = bootstrap.audit_log(settings()).integrate()
    if as_json:
        typer.echo(json.dumps(checkpoint_view(checkpoint), indent=2))
    else:
        typer.echo(checkpoint.note, nl=False)


@audit_app.command("proof")
def audit_proof(
    index: Annotated[int, typer.Argument(help="0-based log index.", min=0)],
    size: Annotated[
        int | None, typer.Option("--size", help="Tree size (default: the latest).", min=1)
    ] = None,
) -> None:
    """One entry with its inclusion proof (JSON; hashes in base64)."""
    log = bootstrap.audit_log(settings())
    typer.echo(json.dumps(entry_view(log.entry(index, size)), indent=2))


@audit_app.command("verify")
def audit_verify(as_json: JsonOption = False, policy: PolicyOption = None) -> None:
    """Check the whole database against the log; exit 1 naming what disagrees.

    Recomputes every leaf and the tree, checks every signed checkpoint and every decision signature, then replays the log and compares every request's state, version, document and approvals with it; every automatic step is evaluated again against the scenario version its entry names."""
    rules = bootstrap.witness_policy(policy) if policy is not None else None
    verified = bootstrap.audit_log(settings()).verify(rules, bootstrap.scenario_versions())
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "ok": verified.ok,
                    "problem": verified.problem,
                    "problems": list(verified.problems),
                    "size": verified.size,
                    "pending": verified.pending,
                    "checkpoints": verified.checkpoints,
                    "decisions": verified.decisions,
                    "requests": verified.requests,
                    "unreplayed": verified.unreplayed,
                    "cosigned": list(verified.cosigned),
                    "unsigned": dict(sorted(verified.unsigned.items())),
                }
            )
        )
    if not verified.ok:
        shown = verified.problems[:SHOWN]
        for problem in shown:
            print(f"audit log: FAILED: {problem}", file=sys.stderr)
        if len(verified.problems) > len(shown):
            more = len(verified.problems) - len(shown)
            print(f"audit log: FAILED: and {more} more (--json lists all)", file=sys.stderr)
        raise typer.Exit(ExitCode.VERIFICATION_FAILED)
    if not as_json:
        pending = f"; not yet checkpointed: {verified.pending}" if verified.pending else ""
        old = (
            f" ({verified.unreplayed} logged before approvals were: their approvals checked "
            "by signature only)"
            if verified.unreplayed
            else ""
        )
        witnessed = (
            f"; the latest checkpoint meets the witness policy's quorum (cosigned by "
            f"{', '.join(verified.cosigned) or 'none needed'})"
            if rules is not None
            else ""
        )
        typer.echo(
            f"audit log intact: {verified.size} entries, {verified.checkpoints} signed "
            f"checkpoints, {verified.signed} signed decisions, {verified.requests} "
            f"requests replayed{old}{pending}{witnessed}{_unsigned(verified.unsigned)}"
        )


@audit_app.command("export")
def audit_export(directory: Annotated[Path, typer.Argument(help="Where to write.")]) -> None:
    """Write the log, its latest checkpoint and the public keys to DIR.

    DIR gets entries.jsonl, the signed checkpoint and keys.json, for `clearance audit verify-export` anywhere."""
    log = bootstrap.audit_log(settings())
    checkpoint = log.integrate()
    count = write_export(
        directory, log.pages(), checkpoint, log.public_keys(), log.all_disclosures(checkpoint)
    )
    typer.echo(f"exported {count} entries and the checkpoint of size {checkpoint.size}")


@audit_app.command("verify-export")
def audit_verify_export(
    directory: Annotated[Path, typer.Argument(help="A directory from `audit export`.")],
    vkey: Annotated[
        str | None,
        typer.Option(
            "--vkey", help="The log's verifier key, known independently (else keys.json's)."
        ),
    ] = None,
    policy: PolicyOption = None,
) -> None:
    """Check an exported log offline; exit 1 naming the first bad entry.

    Needs no database: checks every entry, the tree, the signed checkpoint, every
    disclosure the export carries and every decision signature."""
    try:
        rules = bootstrap.witness_policy(policy) if policy is not None else None
        export = read_export(directory)
        name, key = _log_key(export.keys, vkey)
        quorum = check_quorum(rules, export.note) if rules is not None else None
        summary = verify_log(export.entries(), export.note, name, key, export.disclosures())
    except (AuditError, QuorumError) as e:
        print(f"audit export: FAILED: {e}", file=sys.stderr)
        raise typer.Exit(ExitCode.VERIFICATION_FAILED) from None
    witnessed = (
        f"; its checkpoint meets the witness policy's quorum (cosigned by "
        f"{', '.join(sorted(quorum.cosigned)) or 'none needed'})"
        if quorum is not None
        else ""
    )
    typer.echo(
        f"audit export intact: {summary.size} entries of {summary.origin}, "
        f"{summary.signed} signed decisions{witnessed}{_sealed(summary.undisclosed)}"
        f"{_unsigned(summary.unsigned)}"
    )


def _sealed(count: int) -> str:
    if not count:
        return ""
    return f" ({count} of them sealed: their signatures are checked once disclosed)"


def _unsigned(unsigned: Mapping[str, int]) -> str:
    """``; 3 decisions unsigned: NE.Defense names no root key (...)``, or ""."""
    line = unsigned_summary(unsigned)
    return f"; {line}" if line else ""


@audit_app.command("bundle")
def audit_bundle(
    request_id: Annotated[str, typer.Argument(help="The request's id.")],
    out: Annotated[Path, typer.Option("--out", help="The bundle file to write.")],
) -> None:
    """Write one request's audit bundle: checkable offline with `audit verify-bundle`.

    The request's entries, their inclusion proofs, the cosigned checkpoint, the log's key and the key and enrollment entries its decisions are checked with."""
    log = bootstrap.audit_log(settings())
    bundle = request_bundle(log, request_id)
    write_bundle(out, bundle)
    typer.echo(
        f"wrote {out}: {len(bundle['entries'])} entries of {request_id} and the keys they "
        f"need, under the checkpoint of {log.origin}"
    )


@audit_app.command("verify-bundle")
def audit_verify_bundle(
    bundle: Annotated[Path, typer.Argument(help="A file from `audit bundle`.")],
    policy: Annotated[
        Path,
        typer.Option("--policy", help="The witness policy (C2SP tlog-policy) to require."),
    ],
) -> None:
    """Check a request's audit bundle with no server and no database; exit 1 naming what fails."""
    rules = bootstrap.witness_policy(policy)
    try:
        summary = verify_bundle(read_bundle(bundle), rules)
    except AuditError as e:
        print(f"audit bundle: FAILED: {e}", file=sys.stderr)
        raise typer.Exit(ExitCode.VERIFICATION_FAILED) from None
    except InputError as e:
        raise InputError(e.rule, source=str(bundle), field=e.field) from None
    typer.echo(
        f"audit bundle intact: request {summary.request_id} ({summary.state}), "
        f"{summary.entries} entries proven in the checkpoint of size {summary.size}, "
        f"{summary.signed} signed decisions, {summary.disclosures} disclosures; "
        f"cosigned by {', '.join(summary.cosigned) or 'none needed'}"
        f"{_unsigned(summary.unsigned)}"
    )


def _log_key(keys: dict[str, object], given: str | None) -> tuple[str, bytes]:
    try:
        if given is not None:
            name, public = parse_vkey(given)
            return name, raw_public(public)
        log = keys.get("log")
        if not isinstance(log, dict) or not isinstance(log.get("public_key"), str):
            raise AuditError("keys.json has no log key")
        raw = base64.b64decode(log["public_key"].encode("ascii"), validate=True)
        return str(log["name"]), raw
    except NoteError as e:
        raise InputError(str(e), field="--vkey") from None
    except (ValueError, KeyError) as e:
        raise AuditError(f"keys.json: {e}") from None
