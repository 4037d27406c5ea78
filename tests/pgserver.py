"""A throwaway PostgreSQL server on loopback, for the tests and the benchmarks.

PostgreSQL comes from Debian's ``postgresql`` package (``scripts/ensure-postgres.sh``
installs it). Without it the tests fail, unless ``CLEARANCE_SKIP_POSTGRES=1`` is set
outside CI, in which case the PostgreSQL variants are skipped.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path


def find_bin_dir() -> Path | None:
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parents[1].name) if Path(p).parents[1].name.isdigit() else 0,
        reverse=True,
    )
    candidates += ["/usr/local/bin/initdb", shutil.which("initdb") or ""]
    for candidate in candidates:
        path = Path(candidate)
        if candidate and path.is_file() and os.access(path, os.X_OK):
            real = path.resolve().parent
            if (real / "pg_ctl").exists() and (real / "postgres").exists():
                return real
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class PostgresServer:
    bin_dir: Path
    root: Path
    port: int
    as_postgres: bool
    counter: itertools.count[int]
    settings: dict[str, str] = field(default_factory=dict)  # more (or other) `-c name=value`

    @property
    def data(self) -> Path:
        return self.root / "data"

    def run(self, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin_dir / tool), *args]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        self.initdb()
        self.launch()

    def initdb(self) -> None:
        initdb = self.run(
            "initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
            "--encoding=UTF8", "--locale=C", "--no-sync",
        )  # fmt: skip
        if initdb.returncode != 0:
            raise RuntimeError(f"initdb failed:\n{initdb.stdout}\n{initdb.stderr}")

    def launch(self) -> None:
        """Start the server on ``data`` (made by ``initdb`` or copied from a primary)."""
        settings = {
            "listen_addresses": "127.0.0.1",
            "port": str(self.port),
            "unix_socket_directories": str(self.root),
            "fsync": "on",
            "max_connections": "200",
            **self.settings,
        }
        options = " ".join(f"-c {name}={value}" for name, value in settings.items())
        log = self.root / "server.log"
        started = self.run(
            "pg_ctl", "-D", str(self.data), "-o", options, "-l", str(log), "-w", "-t", "60", "start"
        )
        if started.returncode != 0:
            text = log.read_text() if log.exists() else ""
            raise RuntimeError(
                f"PostgreSQL did not start:\n{started.stdout}\n{started.stderr}\n{text}"
            )

    def stop(self) -> None:
        self.run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def crash(self) -> None:
        """Stop at once, as a power cut would: no checkpoint, no goodbye to clients."""
        self.run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def sql(self, statement: str, database: str = "postgres") -> list[tuple[object, ...]]:
        import psycopg

        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user=postgres dbname={database}", autocommit=True
        ) as connection:
            cursor = connection.execute(statement.encode())
            return cursor.fetchall() if cursor.description else []

    def start_replica(self, root: Path, port: int, name: str) -> PostgresServer:
        """A streaming replica of this server (PostgreSQL's own machinery: pg_basebackup,
        standby.signal, primary_conninfo), started on ``port``, that this server then waits
        for on every commit (synchronous_standby_names), so an acknowledged commit is on
        both."""
        replica = PostgresServer(self.bin_dir, root, port, self.as_postgres, self.counter)
        copied = self.run(
            "pg_basebackup", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
            "-D", str(replica.data), "-X", "stream", "-R", "-c", "fast", "--no-sync",
        )  # fmt: skip
        if copied.returncode != 0:
            raise RuntimeError(f"pg_basebackup failed:\n{copied.stdout}\n{copied.stderr}")
        conninfo = f"host=127.0.0.1 port={self.port} user=postgres application_name={name}"
        with (replica.data / "postgresql.auto.conf").open("a") as conf:
            conf.write(f"primary_conninfo = '{conninfo}'\n")
        replica.launch()
        self.sql(f"ALTER SYSTEM SET synchronous_standby_names = '{name}'")
        self.sql("SELECT pg_reload_conf()")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            rows = self.sql(
                f"SELECT sync_state FROM pg_stat_replication WHERE application_name = '{name}'"
            )
            if rows and rows[0][0] == "sync":
                return replica
            time.sleep(0.1)
        raise RuntimeError(f"the replica {name} never became synchronous")

    def promote(self) -> None:
        promoted = self.run("pg_ctl", "-D", str(self.data), "-w", "-t", "60", "promote")
        if promoted.returncode != 0:
            raise RuntimeError(f"promotion failed:\n{promoted.stdout}\n{promoted.stderr}")

    def create_database(self) -> str:
        import psycopg
        from psycopg import sql

        name = f"clearance_test_{next(self.counter)}"
        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True
        ) as connection:
            connection.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name))
            )
        return self.url(name)
