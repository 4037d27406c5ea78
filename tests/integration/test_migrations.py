"""Migrating a database: several processes starting at once (each running ``clearance db
upgrade``) must not race each other into a half-made schema or a failed start."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from clearance.adapters.sql import make_engine, uow_factory, upgrade
from clearance.domain.ledger import merkle
from clearance.domain.ledger.audit import entry_data, scenario_version

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


def test_0003_dates_existing_principals_from_the_audit_log(db_url: str) -> None:
    """Principals made before revision 0003 get the time of their principal.added entry
    (none without one) and are not revoked."""
    engine = make_engine(db_url)
    try:
        upgrade(engine, "0002")
        added = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
        data = entry_data(
            "principal.added", {"name": "old", "operator": "US.AFRICOM", "authority": None}
        )
        with engine.begin() as c:
            for name, digest in (("old", "h1"), ("older", "h2")):
                c.execute(
                    sa.text(
                        "INSERT INTO principals (name, operator, token_hash) VALUES (:n, 'US.AFRICOM', :h)"
                    ),
                    {"n": name, "h": digest},
                )
            c.execute(
                sa.text(
                    "INSERT INTO audit_entries (kind, data, leaf_hash, created_at) "
                    "VALUES ('principal.added', :d, :l, :t)"
                ),
                {
                    "d": data,
                    "l": merkle.leaf_hash(data),
                    "t": added if engine.dialect.name != "sqlite" else added.replace(tzinfo=None),
                },
            )
        upgrade(engine)
        with engine.connect() as c:
            rows = c.execute(
                sa.text("SELECT name, created_at, revoked_at FROM principals ORDER BY name")
            ).all()
        assert [r.name for r in rows] == ["old", "older"]
        old_created = rows[0].created_at
        if isinstance(old_created, str):  # SQLite hands back text through sa.text
            old_created = datetime.fromisoformat(old_created)
        if old_created.tzinfo is None:  # SQLite stores UTC without an offset
            old_created = old_created.replace(tzinfo=UTC)
        assert old_created == added
        assert rows[1].created_at is None
        assert all(r.revoked_at is None for r in rows)
    finally:
        engine.dispose()


def test_0004_makes_the_stored_files_the_first_version_of_every_request(db_url: str) -> None:
    """The files stored before revision 0004 become a version named as the code names it,
    current, and every existing request was evaluated against it."""
    files = {
        "scenario.yaml": b"name: old\n",
        "policies/a.cedar": b"permit(principal, action, resource);\n",
    }
    loaded = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    engine = make_engine(db_url)
    stamp = loaded if engine.dialect.name != "sqlite" else loaded.replace(tzinfo=None)
    try:
        upgrade(engine, "0003")
        with engine.begin() as c:
            for path, content in files.items():
                c.execute(
                    sa.text(
                        "INSERT INTO scenario_files (path, content, loaded_at) VALUES (:p, :c, :t)"
                    ),
                    {"p": path, "c": content, "t": stamp},
                )
            c.execute(
                sa.text(
                    "INSERT INTO requests (id, version, operator, submitted_by, document, state, "
                    "outcome, violations, time_start, time_end, created_at, updated_at) VALUES "
                    "('req-1', 1, 'US.AFRICOM', 'a', '{}', 'pending', 'pending', '[]', :t, :t, "
                    ":t, :t)"
                ),
                {"t": stamp},
            )
        upgrade(engine)
        with uow_factory(engine)() as uow:
            current = uow.scenarios.current()
            assert current == scenario_version(files)
            assert uow.scenarios.files(current) == files
            record = uow.requests.get("req-1")
        assert record is not None
        assert record.scenario_version == current
        assert record.evaluated_at == loaded  # no events: its creation
        with engine.connect() as c:
            tables = set(sa.inspect(c).get_table_names())
        assert "scenario_files" not in tables
    finally:
        engine.dispose()
