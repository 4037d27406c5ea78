"""Scenario versions: immutable, content-addressed sets of scenario files, a history of
loads whose newest names the current version, and on every request the version it was
evaluated against and when (``evaluated_at``: its submission or latest amendment, filled
in from its events).

The files stored before this revision become the first version (its name computed as
``clearance.domain.ledger.audit.scenario_version`` computes it, repeated here because a
migration is frozen history), loaded at their ``loaded_at``; every existing request gets
that version, the only one the database ever held whole.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written by hand to match clearance.adapters.sql_tables; a test compares the two.
TIME = sa.DateTime(timezone=True)
LOAD_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _version(files: dict[str, bytes]) -> str:
    # RFC 8785 of a flat {ASCII path: hex} object is sorted keys, no spaces
    digests = {p: hashlib.sha256(c).hexdigest() for p, c in files.items()}
    text = json.dumps(digests, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def upgrade() -> None:
    op.create_table(
        "scenario_versions",
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("first_loaded_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("version", name="pk_scenario_versions"),
    )
    op.create_table(
        "scenario_version_files",
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("path", sa.String(1000), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["version"],
            ["scenario_versions.version"],
            name="fk_scenario_version_files_version_scenario_versions",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("version", "path", name="pk_scenario_version_files"),
    )
    op.create_table(
        "scenario_loads",
        sa.Column("id", LOAD_ID, autoincrement=True, nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("loaded_at", TIME, nullable=False),
        sa.Column("recorded_at", TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["version"],
            ["scenario_versions.version"],
            name="fk_scenario_loads_version_scenario_versions",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_scenario_loads"),
    )
    with op.batch_alter_table("requests") as batch:
        batch.add_column(
            sa.Column("scenario_version", sa.String(64), nullable=False, server_default="")
        )
        batch.add_column(sa.Column("evaluated_at", TIME, nullable=True))
    op.execute(
        "UPDATE requests SET evaluated_at = COALESCE((SELECT MAX(e.occurred_at) "
        "FROM request_events e WHERE e.request_id = requests.id "
        "AND e.kind IN ('submitted', 'amended')), created_at)"
    )
    with op.batch_alter_table("requests") as batch:
        batch.alter_column("evaluated_at", existing_type=TIME, nullable=False)

    bind = op.get_bind()
    old = sa.table(
        "scenario_files",
        sa.column("path", sa.String),
        sa.column("content", sa.LargeBinary),
        sa.column("loaded_at", TIME),
    )
    rows = bind.execute(sa.select(old.c.path, old.c.content, old.c.loaded_at)).all()
    if rows:
        files = {row.path: bytes(row.content) for row in rows}
        version = _version(files)
        at = min(row.loaded_at for row in rows)
        versions = sa.table(
            "scenario_versions", sa.column("version", sa.String), sa.column("first_loaded_at", TIME)
        )
        version_files = sa.table(
            "scenario_version_files",
            sa.column("version", sa.String),
            sa.column("path", sa.String),
            sa.column("content", sa.LargeBinary),
        )
        loads = sa.table(
            "scenario_loads",
            sa.column("version", sa.String),
            sa.column("loaded_at", TIME),
            sa.column("recorded_at", TIME),
        )
        requests = sa.table("requests", sa.column("scenario_version", sa.String))
        bind.execute(sa.insert(versions).values(version=version, first_loaded_at=at))
        bind.execute(
            sa.insert(version_files),
            [{"version": version, "path": p, "content": c} for p, c in files.items()],
        )
        # when it was recorded in real time is not known: its load time stands in
        bind.execute(sa.insert(loads).values(version=version, loaded_at=at, recorded_at=at))
        bind.execute(sa.update(requests).values(scenario_version=version))
    op.drop_table("scenario_files")


def downgrade() -> None:
    op.create_table(
        "scenario_files",
        sa.Column("path", sa.String(1000), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("loaded_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("path", name="pk_scenario_files"),
    )
    bind = op.get_bind()
    current = bind.execute(
        sa.text(
            "SELECT f.path, f.content, l.loaded_at FROM scenario_version_files f "
            "JOIN scenario_loads l ON l.version = f.version "
            "WHERE l.id = (SELECT MAX(id) FROM scenario_loads)"
        )
    ).all()
    if current:
        bind.execute(
            sa.text("INSERT INTO scenario_files (path, content, loaded_at) VALUES (:p, :c, :t)"),
            [{"p": r.path, "c": r.content, "t": r.loaded_at} for r in current],
        )
    with op.batch_alter_table("requests") as batch:
        batch.drop_column("evaluated_at")
        batch.drop_column("scenario_version")
    op.drop_table("scenario_loads")
    op.drop_table("scenario_version_files")
    op.drop_table("scenario_versions")
