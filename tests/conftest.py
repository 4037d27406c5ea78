"""Databases for every test that needs one: a fresh SQLite file per test, and a throwaway
PostgreSQL server (started here, on loopback, once per session) with a fresh database
per test. ``db_url`` runs a test on both.

PostgreSQL comes from Debian's ``postgresql`` package (``scripts/ensure-postgres.sh``
installs it). Without it the tests fail, unless ``CLEARANCE_SKIP_POSTGRES=1`` is set
outside CI, in which case the PostgreSQL variants are skipped.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.pgserver import PostgresServer, find_bin_dir, free_port


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    bin_dir = find_bin_dir()
    if bin_dir is None:
        message = (
            "PostgreSQL binaries (initdb, pg_ctl, postgres) not found in "
            "/usr/lib/postgresql/*/bin, /usr/local/bin or PATH; run scripts/ensure-postgres.sh"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        if os.environ.get("CLEARANCE_SKIP_POSTGRES") == "1":
            pytest.skip(message + " (skipped: CLEARANCE_SKIP_POSTGRES=1)")
        pytest.fail(message + ", or set CLEARANCE_SKIP_POSTGRES=1 to skip these tests")
    as_postgres = os.geteuid() == 0  # PostgreSQL refuses to run as root
    root = Path(tempfile.mkdtemp(prefix="clearance-pg-"))
    if as_postgres:
        shutil.chown(root, user="postgres")
    # fsync=off: a throwaway server need not survive a power cut, and with fsync=on each
    # commit waited on the disk and the shutdown checkpoint of a whole run's databases took
    # ~30 s (the `teardown` of whichever test ran last on a worker). A crashed or killed
    # PostgreSQL process (pg_ctl -m immediate, SIGKILL) still loses nothing it acknowledged:
    # its WAL was written to the kernel before the commit returned (synchronous_commit=on).
    server = PostgresServer(
        bin_dir, root, free_port(), as_postgres, itertools.count(1), {"fsync": "off"}
    )
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    return postgres_server.create_database()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'clearance.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    url: str = request.getfixturevalue(fixture)
    return url


@pytest.fixture(scope="session", autouse=True)
def key_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The log's instance key (the one private key a server holds), made by the CLI and
    servers the tests run (which inherit the environment), goes to a throwaway directory,
    never the user's."""
    previous = os.environ.get("CLEARANCE_KEY_DIR")
    directory = tmp_path_factory.mktemp("keys")
    os.environ["CLEARANCE_KEY_DIR"] = str(directory)
    try:
        yield directory
    finally:
        if previous is None:
            os.environ.pop("CLEARANCE_KEY_DIR", None)
        else:
            os.environ["CLEARANCE_KEY_DIR"] = previous
