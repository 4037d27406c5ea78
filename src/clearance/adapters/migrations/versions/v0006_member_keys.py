"""Members' public keys, enrolled and revoked by their authority's root key.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written by hand to match clearance.adapters.sql_tables; a test compares the two.
TIME = sa.DateTime(timezone=True)
KEY_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "member_keys",
        sa.Column("id", KEY_ID, autoincrement=True, nullable=False),
        sa.Column("authority", sa.String(200), nullable=False),
        sa.Column("member", sa.String(200), nullable=False),
        sa.Column("public_key", sa.LargeBinary(32), nullable=False),
        sa.Column("enrolled_at", TIME, nullable=False),
        sa.Column("revoked_at", TIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_member_keys"),
        sa.UniqueConstraint("public_key", name="uq_member_keys_public_key"),
    )
    # one unrevoked key per member, however many processes enroll at once
    op.create_index(
        "member_keys_one_active",
        "member_keys",
        ["authority", "member"],
        unique=True,
        sqlite_where=sa.text("revoked_at IS NULL"),
        postgresql_where=sa.text("revoked_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("member_keys_one_active", table_name="member_keys")
    op.drop_table("member_keys")
