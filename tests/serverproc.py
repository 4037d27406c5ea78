"""Run the real `clearance serve` in a child process on loopback (tests and benchmarks)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).parents[1]
NIGER = ROOT / "examples" / "niger"
CLEARANCE = [sys.executable, "-m", "clearance.cli"]
# Server.cli_each's child: runs each command of the JSON list on stdin as `clearance ARGS`
# would, printing _NEXT after each that exits 0 and stopping at the first that does not.
_NEXT = "\n--- clearance command done ---\n"
_EACH = f"""
import json, sys
from clearance.cli import main
for args in json.loads(sys.stdin.read()):
    sys.argv = ["clearance", *args]
    try:
        main()
        code = 0
    except SystemExit as exit:
        code = exit.code or 0
    sys.stdout.flush()
    if code != 0:
        sys.exit(code)
    sys.stdout.write({_NEXT!r})
    sys.stdout.flush()
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    database_url: str
    log: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    command: list[str] = field(default_factory=lambda: list(CLEARANCE))  # e.g. an installed one
    extra_env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    workers: int = 1  # `serve --workers N` when more than one

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "CLEARANCE_DATABASE_URL": self.database_url, **self.extra_env}

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cli(self, *args: str) -> str:
        done = subprocess.run(
            [*self.command, *args],
            env=self.env,
            cwd=self.cwd,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if done.returncode != 0:
            raise RuntimeError(f"clearance {' '.join(args)} failed: {done.stderr}")
        return done.stdout

    def cli_each(self, *commands: list[str]) -> list[str]:
        """Each command's stdout, the commands run one after another by ``clearance.cli``'s
        ``main`` in one process (each reads the environment and exits as it would alone;
        starting Python and importing the CLI once, not per command, saves ~1.5 s of CPU a
        command). The first that exits non-zero raises. An installed ``command`` (not
        this interpreter's ``-m clearance.cli``) runs them one process each."""
        if self.command != CLEARANCE:
            return [self.cli(*args) for args in commands]
        done = subprocess.run(
            [sys.executable, "-c", _EACH],
            input=json.dumps(commands),
            env=self.env,
            cwd=self.cwd,
            capture_output=True,
            text=True,
            timeout=120 * len(commands),
        )
        outputs = done.stdout.split(_NEXT)
        if done.returncode != 0:
            failed = commands[len(outputs) - 1]
            raise RuntimeError(f"clearance {' '.join(failed)} failed: {done.stderr}")
        return outputs[:-1]

    def prepare(self, principals: dict[str, tuple[str, str]]) -> dict[str, str]:
        """Load the Niger scenario and create principals: name -> ("--operator" | "--authority", id).
        Returns name -> token."""
        outputs = self.cli_each(
            ["scenario", "load", str(NIGER)],
            *(
                ["principal", "add", name, role, ident]
                for name, (role, ident) in principals.items()
            ),
        )
        return {
            name: output.strip().splitlines()[-1]
            for name, output in zip(principals, outputs[1:], strict=True)
        }

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [
                    *self.command,
                    "serve",
                    "--port",
                    str(self.port),
                    *(["--workers", str(self.workers)] if self.workers > 1 else []),
                ],
                env=self.env,
                cwd=self.cwd,
                stdout=out,
                stderr=out,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"server did not start: {self.log.read_text()}")

    def worker_pids(self) -> list[int]:
        """The worker processes of `serve --workers N` now (Linux's /proc), in pid order."""
        assert self.process is not None
        pid = self.process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        return sorted(int(c) for c in children)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush; what was acknowledged must already be durable."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


@contextlib.contextmanager
def serving(
    database_url: str, workdir: Path, principals: dict[str, tuple[str, str]]
) -> Iterator[tuple[Server, dict[str, str]]]:
    """A started server on the Niger scenario with these principals, and their tokens;
    stopped on exit."""
    server = Server(database_url, workdir / "server.log")
    tokens = server.prepare(principals)
    server.start()
    try:
        yield server, tokens
    finally:
        server.stop()
