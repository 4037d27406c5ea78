"""Migrating a database: several processes starting at once (each running ``clearance db
upgrade``) must not race each other into a half-made schema or a failed start."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from clearance.adapters.sql import make_engine

CLI = str(Path(sys.executable).parent / "clearance")


def test_concurrent_upgrades_of_a_fresh_database_all_succeed(db_url: str) -> None:
    env = os.environ | {"CLEARANCE_DATABASE_URL": db_url}
    runs = [
        subprocess.Popen(
            [CLI, "db", "upgrade"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for _ in range(4)
    ]
    outcomes = [(run.wait(timeout=120), run.stderr.read().decode()[-400:]) for run in runs]  # type: ignore[union-attr]
    for run in runs:
        run.stdout.close()  # type: ignore[union-attr]
        run.stderr.close()  # type: ignore[union-attr]
    assert all(code == 0 for code, _ in outcomes), outcomes
    engine = make_engine(db_url)
    try:
        with engine.connect() as connection:
            versions = connection.execute(sa.text("SELECT version_num FROM alembic_version"))
            assert len(versions.all()) == 1
            tables = set(sa.inspect(connection).get_table_names())
        assert {"requests", "approvals", "audit_entries", "audit_head"} <= tables
    finally:
        engine.dispose()
