"""Run the real `clearance serve` in a child process on loopback (tests and benchmarks)."""

from __future__ import annotations

import contextlib
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

    def prepare(self, principals: dict[str, tuple[str, str]]) -> dict[str, str]:
        """Load the Niger scenario and create principals: name -> ("--operator" | "--authority", id).
        Returns name -> token."""
        self.cli("scenario", "load", str(NIGER))
        return {
            name: self.cli("principal", "add", name, role, ident).strip().splitlines()[-1]
            for name, (role, ident) in principals.items()
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
