"""``clearance monitor``: what a party runs to follow the log on its own (registered on
the main app in ``clearance.cli``).

``clearance monitor --log URL --state DIR --policy FILE [--token-file F | --token T] [--gossip FILE...]
[--ask-witnesses] [--once | --interval S]``: each pass (``clearance.service.monitor.run_pass``) checks the
log's latest checkpoint against the policy's quorum, its consistency with the checkpoint
verified last, the new entries against its root and every decision's signature against
the keys enrolled at that point of the log, then keeps the entries in ``DIR/monitor.db``
and the checkpoint in ``DIR/checkpoint``. With ``--ask-witnesses``, what each witness of
the policy last cosigned is compared too (a split view shown to the witnesses is named). Exit 0 printing one line (size, root) when all
is well, 1 with a line naming the entry or the checkpoints on any inconsistency, 2 on bad
arguments or files. From cron: ``--once``; else it loops every ``--interval`` seconds and
stops at the first failure.
"""

from __future__ import annotations

import base64
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

import typer

from clearance import bootstrap
from clearance.adapters.log_client import HttpLogClient, witness_checkpoints
from clearance.adapters.monitor_store import SqliteMonitorStore
from clearance.cli_run import ExitCode
from clearance.domain.errors import AuditError, InputError
from clearance.domain.ledger.audit import unsigned_summary
from clearance.domain.ledger.monitor import Seen
from clearance.domain.ledger.policy import Policy
from clearance.service.monitor import read_gossip, run_pass


def _gossip(files: list[Path], policy: Policy) -> list[Seen]:
    found = []
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise InputError(f"cannot read it: {e}", source=str(path), field="--gossip") from None
        try:
            found.append(read_gossip(text, f"gossip {path}", policy))
        except InputError as e:
            raise InputError(e.rule, source=str(path), field="--gossip") from None
    return found


def _read_token(path: Path) -> str:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"cannot read it: {e}", source=str(path), field="--token-file") from None
    token = lines[0].strip() if lines else ""
    if not token:
        raise InputError("its first line must be the token", source=str(path), field="--token-file")
    return token


def _witnessed(policy: Policy) -> list[Seen]:
    """The checkpoints the policy's witnesses last cosigned; one that cannot be read or
    is not signed by the log is reported on stderr and left out."""
    notes, problems = witness_checkpoints(policy)
    found = []
    for source, note in notes:
        try:
            found.append(read_gossip(note, source, policy))
        except InputError as e:
            problems.append(str(e))
    for problem in problems:
        print(f"monitor: warning: {problem}", file=sys.stderr)
    return found


def monitor(
    log: Annotated[str, typer.Option("--log", help="The log's URL (http://host:port).")],
    state: Annotated[Path, typer.Option("--state", help="This monitor's state directory.")],
    policy: Annotated[
        Path, typer.Option("--policy", help="The witness policy (C2SP tlog-policy) required.")
    ],
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            help="A principal's token: the entries need one. Other users of the machine "
            "can read a command line: prefer --token-file.",
        ),
    ] = None,
    token_file: Annotated[
        Path | None,
        typer.Option(
            "--token-file",
            help="A file whose first line is the token (keep it 0600).",
        ),
    ] = None,
    gossip: Annotated[
        list[Path] | None,
        typer.Option(
            "--gossip",
            help="A checkpoint another party saw (its monitor's DIR/checkpoint); repeatable.",
        ),
    ] = None,
    ask_witnesses: Annotated[
        bool,
        typer.Option(
            "--ask-witnesses",
            help="Also compare what each policy witness with a URL last cosigned.",
        ),
    ] = False,
    once: Annotated[bool, typer.Option("--once", help="One pass, then exit (cron).")] = False,
    interval: Annotated[
        float, typer.Option("--interval", help="Seconds between passes.", min=0.1)
    ] = 60.0,
) -> None:
    """Follow the log: verify each new checkpoint and entry; exit 1 naming what is wrong."""
    if not log.startswith(("http://", "https://")):
        raise InputError("must be an http:// or https:// URL", field="--log")
    if token_file is not None:
        if token is not None:
            raise InputError("give --token or --token-file, not both", field="--token-file")
        token = _read_token(token_file)
    rules = bootstrap.witness_policy(policy)
    seen = _gossip(gossip or [], rules)
    store = SqliteMonitorStore(state)
    client = HttpLogClient(log, token)
    try:
        while True:
            shown = seen + (_witnessed(rules) if ask_witnesses else [])
            try:
                done = run_pass(client, store, rules, shown)
            except AuditError as e:
                print(f"monitor: FAILED: {e}", file=sys.stderr)
                raise typer.Exit(ExitCode.VERIFICATION_FAILED) from None
            root = base64.b64encode(done.root).decode("ascii")
            cosigned = ", ".join(done.cosigned) or "none needed"
            typer.echo(
                f"monitor: log consistent: size {done.size}, root {root}; {done.added} new "
                f"entries, {done.signed} decision signatures verified; cosigned by "
                f"{cosigned}{_unsigned(done.unsigned)}"
            )
            if once:
                return
            time.sleep(interval)
    finally:
        client.close()


def _unsigned(unsigned: Mapping[str, int]) -> str:
    line = unsigned_summary(unsigned)
    return f"; {line}" if line else ""
