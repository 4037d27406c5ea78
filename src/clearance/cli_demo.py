"""The demo's parties (``clearance demo --dir DIR``, what ``./run`` starts): keys made and
kept on the parties' side, and three witnesses beside the server.

``DIR/parties/`` stands for the parties' own machines; the server never reads it:

- ``parties/<authority>/root.key``: each authority's root key; its public half goes into
  the demo's copy of the scenario (``DIR/scenario/``, ``authorities.<id>.root_key``);
- ``parties/<authority>/<member>.key``: each demo member's key, enrolled by a statement
  the root key signed (as ``clearance member enroll`` does), so every decision is signed
  by its member, on the CLI (``--key``) or in the browser (the page imports the file);
- ``parties/witnesses/<party>/``: the US, NE and FR witnesses' keys and state; they run
  ``clearance witness serve`` on loopback while the demo serves, and the log submits
  every checkpoint to them under the policy ``DIR/witnesses.policy`` (any 2 of the 3).

The server's key directory (``DIR/demo-keys``) holds the log's key only.
"""

from __future__ import annotations

import base64
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import yaml

from clearance.adapters.key_files import new_key_file, read_key_file
from clearance.adapters.keys import KeyStore
from clearance.adapters.scenario_loader import TIMELINE_FILE, scenario_files
from clearance.config import Settings
from clearance.domain.clearance.scenario import Scenario
from clearance.domain.errors import ClearanceError, InputError
from clearance.domain.ledger.checkpoint import raw_public, vkey
from clearance.domain.ledger.members import ENROLLED, MemberStatement
from clearance.domain.ledger.signatures import sign_statement
from clearance.domain.ledger.witness import cosigner_vkey
from clearance.service import handlers, queries
from clearance.service.context import Context

PARTIES = "parties"
SCENARIO = "scenario"
POLICY = "witnesses.policy"
WITNESS_PARTIES = ("US", "NE", "FR")
QUORUM = 2


@dataclass(frozen=True)
class MemberKeyFile:
    authority: str
    member: str
    path: Path


def parties_dir(directory: Path) -> Path:
    return directory / PARTIES


def _key(path: Path) -> bytes:
    """The public half of the key in ``path``, made there first if missing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    key = read_key_file(path, "--dir") if path.exists() else new_key_file(path, "--dir")
    return raw_public(key)


def scenario_with_root_keys(source: Path, directory: Path) -> Path:
    """``DIR/scenario``: the scenario in ``source`` with each authority's root public key
    (made in ``DIR/parties/<authority>/root.key`` the first time) written in."""
    if not (source / "scenario.yaml").is_file():
        raise InputError("names no scenario.yaml", source=str(source), field="--scenario")
    out = directory / SCENARIO
    files = scenario_files(source)
    document = yaml.safe_load(files["scenario.yaml"].decode("utf-8"))
    authorities = document.get("authorities") if isinstance(document, dict) else None
    if not isinstance(authorities, dict):
        raise InputError("names no authorities", source=str(source / "scenario.yaml"))
    for authority, entry in authorities.items():
        if isinstance(entry, dict):
            root = _key(parties_dir(directory) / authority / "root.key")
            entry["root_key"] = base64.b64encode(root).decode("ascii")
    shutil.rmtree(out, ignore_errors=True)
    # beside it, as in the source: its example requests and its timeline (no part of the
    # stored scenario, so they leave its version as it is)
    files = files | {
        p.relative_to(source).as_posix(): p.read_bytes()
        for p in [*sorted((source / "requests").glob("*.yaml")), source / TIMELINE_FILE]
        if p.is_file()
    }
    for name, data in files.items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(data)
    header = (
        f"# The demo's copy of {source}/scenario.yaml with each authority's root public key\n"
        f"# (its private key is in {parties_dir(directory)}/<authority>/root.key).\n"
    )
    text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
    (out / "scenario.yaml").write_text(header + text, encoding="utf-8")
    return out


def enroll_members(ctx: Context, scenario: Scenario, directory: Path) -> list[MemberKeyFile]:
    """Make each demo member's key (``DIR/parties/<authority>/<member>.key``) unless it
    exists and enroll it, signed with the authority's root key, unless it is enrolled."""
    enrolled = {
        (k.authority, k.member, k.public_key)
        for k in queries.member_keys(ctx)
        if k.revoked_at is None
    }
    made = []
    for member in scenario.members.values():
        folder = parties_dir(directory) / member.authority
        path = folder / f"{member.id}.key"
        public = _key(path)
        if (member.authority, member.id, public) not in enrolled:
            root = read_key_file(folder / "root.key", "--dir")
            at = ctx.clock.now()
            unsigned = MemberStatement(ENROLLED, member.authority, member.id, public, at, "")
            statement = replace(unsigned, signature=sign_statement(root, unsigned.fields()))
            try:
                handlers.apply_member_statement(ctx, statement)
            except ClearanceError as e:  # another key enrolled for them already
                print(f"not enrolled: {member.id} of {member.authority}: {e}", file=sys.stderr)
        made.append(MemberKeyFile(member.authority, member.id, path))
    return made


def forget_parties(directory: Path) -> None:
    """``--fresh``: the parties' keys, the witnesses' state and the scenario copy go too
    (a new log is witnessed from its first checkpoint)."""
    shutil.rmtree(parties_dir(directory), ignore_errors=True)
    shutil.rmtree(directory / SCENARIO, ignore_errors=True)
    (directory / POLICY).unlink(missing_ok=True)


def forget_server_signing_keys(settings: Settings) -> None:
    """The demo's authorities keep their own root keys: the server holds none of theirs
    (a demo directory from before keeps no authority key it could sign with)."""
    shutil.rmtree(settings.key_dir / "authorities", ignore_errors=True)


class Witnesses:
    """The US, NE and FR witnesses (``clearance witness serve``) on loopback, for the
    demo's log; ``stop()`` ends them."""

    def __init__(self, directory: Path, settings: Settings) -> None:
        self.directory = directory
        self.settings = settings
        self.processes: list[subprocess.Popen[bytes]] = []
        self.policy = directory / POLICY
        self.urls: dict[str, str] = {}

    def start(self) -> Path:
        """Start the witnesses, write the policy naming them and return its path. The
        server does not wait for them: until they listen, the log's checkpoints wait for
        their cosignatures (a loaded machine takes a while to start three processes)."""
        log_key = KeyStore(self.settings.key_dir).instance_key()
        log_vkey = vkey(self.settings.log_origin, log_key.public_key())
        lines = [f"log {log_vkey}"]
        clearance = [sys.executable, "-c", "from clearance.cli import main; main()"]
        for party in WITNESS_PARTIES:
            name = f"witness.{party.lower()}.clearance.example"
            folder = parties_dir(self.directory) / "witnesses" / party
            key_path = folder / "witness.key"
            public = _key(key_path)
            port = _free_port()
            log = (folder / "witness.log").open("ab")
            self.processes.append(
                subprocess.Popen(
                    [*clearance, "witness", "serve", "--name", name, "--key", str(key_path),
                     "--state", str(folder / "state"), "--log", log_vkey, "--port", str(port)],
                    stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                    preexec_fn=_end_with_parent,
                )
            )  # fmt: skip
            log.close()
            url = f"http://127.0.0.1:{port}"
            self.urls[party] = url
            lines.append(f"witness {party} {cosigner_vkey(name, public)} {url}")
        lines += [f"group parties {QUORUM} {' '.join(WITNESS_PARTIES)}", "quorum parties"]
        self.policy.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return self.policy

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()


def _end_with_parent() -> None:
    """In the witness's process: end it (SIGTERM) when the demo ends, even if the demo is
    killed before it can stop them (Linux's PR_SET_PDEATHSIG; elsewhere, stop() does)."""
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
