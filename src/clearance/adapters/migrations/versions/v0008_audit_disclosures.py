"""Disclosures: the salt and value of each commitment a request entry makes.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29

Entries written before this revision carry no ``format`` (format 1: everything in
clear) and still verify as they are; no row is migrated.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written by hand to match clearance.adapters.sql_tables; a test compares the two.
TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "audit_disclosures",
        sa.Column("commitment", sa.String(64), nullable=False),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("salt", sa.String(44), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("commitment", name="pk_audit_disclosures"),
    )
    op.create_index("ix_audit_disclosures_request_id", "audit_disclosures", ["request_id"])


def downgrade() -> None:
    op.drop_index("ix_audit_disclosures_request_id", table_name="audit_disclosures")
    op.drop_table("audit_disclosures")
