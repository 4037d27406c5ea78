"""A log the tests play themselves (a key, leaves, signed checkpoints and consistency
proofs), and a real ``clearance witness serve`` process on loopback."""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from clearance.adapters.key_files import new_key_file
from clearance.domain.ledger.checkpoint import format_checkpoint, sign_note, vkey
from clearance.domain.ledger.merkle import EMPTY_ROOT, consistency_proof_for, leaf_hash, root_hash
from clearance.domain.ledger.witness import add_checkpoint_body, cosigner_vkey
from tests.serverproc import CLEARANCE, free_port

ORIGIN = "test.clearance/log"


@dataclass
class PlayedLog:
    """A log: its key, its leaves; ``leaves`` may be rewritten to play an attacker."""

    key: Ed25519PrivateKey = field(
        default_factory=lambda: Ed25519PrivateKey.from_private_bytes(
            hashlib.sha256(b"played log").digest()
        )
    )
    leaves: list[bytes] = field(default_factory=lambda: [leaf_hash(b"%d" % i) for i in range(64)])
    origin: str = ORIGIN

    @property
    def vkey(self) -> str:
        return vkey(self.origin, self.key.public_key())

    @property
    def public_key(self) -> bytes:
        return self.key.public_key().public_bytes_raw()

    def note(self, size: int) -> str:
        root = root_hash(self.leaves[:size]) if size else EMPTY_ROOT
        return sign_note(format_checkpoint(self.origin, size, root), self.origin, self.key)

    def body(self, old: int, size: int) -> bytes:
        proof = consistency_proof_for(old, size, self.leaves) if 0 < old < size else []
        return add_checkpoint_body(old, proof, self.note(size))

    def rewrite(self, index: int) -> None:
        self.leaves[index] = leaf_hash(b"rewritten %d" % index)


@dataclass
class WitnessProcess:
    name: str
    key: Path
    state: Path
    logs: list[str]
    log_file: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    vkey: str = ""

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def make_key(self) -> None:
        """With the CLI, as a party would (``witness key new``)."""
        made = subprocess.run(
            [*CLEARANCE, "witness", "key", "new", "--name", self.name, "--out", str(self.key)],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        self.vkey = made.stdout.strip().splitlines()[-1]

    def start(self) -> None:
        self.launch()
        self.wait()

    def launch(self) -> None:
        """Start the process; :meth:`wait` until it listens (launch several, then wait)."""
        if not self.key.exists():  # in-process: a second CLI start per witness costs 2-4 s
            key = new_key_file(self.key)
            self.vkey = cosigner_vkey(self.name, key.public_key())
        args = ["--name", self.name, "--key", str(self.key), "--state", str(self.state)]
        for log in self.logs:
            args += ["--log", log]
        with self.log_file.open("ab") as out:
            self.process = subprocess.Popen(
                [*CLEARANCE, "witness", "serve", *args, "--port", str(self.port)],
                stdout=out,
                stderr=out,
                env=dict(os.environ),
            )

    def wait(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"witness exited: {self.log_file.read_text()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"witness did not start: {self.log_file.read_text()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)


def start_witnesses(
    directory: Path, names: list[str], logs: list[str]
) -> dict[str, WitnessProcess]:
    """One witness per name (``witness.test/<name>``), started in parallel."""
    witnesses = {
        n: WitnessProcess(
            f"witness.test/{n.lower()}",
            directory / f"{n}.pem",
            directory / n,
            logs,
            directory / f"{n}.log",
        )
        for n in names
    }
    for w in witnesses.values():
        w.launch()
    try:
        for w in witnesses.values():
            w.wait()
    except BaseException:
        stop_witnesses(witnesses)
        raise
    return witnesses


def stop_witnesses(witnesses: dict[str, WitnessProcess]) -> None:
    for w in witnesses.values():
        w.stop()


def policy_text(log_vkey: str, witnesses: dict[str, WitnessProcess], quorum: str = "2") -> str:
    """A tlog-policy: the log, the witnesses with their URLs, ``quorum`` of them."""
    lines = [f"log {log_vkey}"]
    lines += [f"witness {n} {w.vkey} {w.base}" for n, w in witnesses.items()]
    lines += [f"group parties {quorum} {' '.join(witnesses)}", "quorum parties"]
    return "\n".join(lines) + "\n"
