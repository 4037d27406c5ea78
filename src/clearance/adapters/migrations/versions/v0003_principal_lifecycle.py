"""Principals: when each was created and when it was revoked (``clearance principal
revoke``); a revoked principal's token is refused from the moment the revocation commits.

Principals created before this revision get the time of their ``principal.added`` entry
in the audit log, or none (those created before the log existed).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written by hand to match clearance.adapters.sql_tables; a test compares the two.
TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("principals") as batch:
        batch.add_column(sa.Column("created_at", TIME, nullable=True))
        batch.add_column(sa.Column("revoked_at", TIME, nullable=True))

    bind = op.get_bind()
    entries = sa.table(
        "audit_entries",
        sa.column("kind", sa.String),
        sa.column("data", sa.LargeBinary),
        sa.column("created_at", TIME),
    )
    principals = sa.table("principals", sa.column("name", sa.String), sa.column("created_at", TIME))
    added = bind.execute(
        sa.select(entries.c.data, entries.c.created_at).where(entries.c.kind == "principal.added")
    )
    for row in added:
        name = json.loads(bytes(row.data)).get("name")
        bind.execute(
            sa.update(principals)
            .where(principals.c.name == name, principals.c.created_at.is_(None))
            .values(created_at=row.created_at)
        )


def downgrade() -> None:
    with op.batch_alter_table("principals") as batch:
        batch.drop_column("revoked_at")
        batch.drop_column("created_at")
