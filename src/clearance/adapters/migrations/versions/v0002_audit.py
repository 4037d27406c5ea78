"""The audit log: entries, tiles of subtree hashes, the tree head, signed checkpoints; and
the authority's signature on each decided approval.

Changes recorded before this revision are not in the log (the log starts empty), and
their decisions carry no signature.

Revision ID: 0002
Revises: 0001
Create Date: 2025-01-02
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written by hand to match clearance.adapters.sql_tables; a test compares the two.
TIME = sa.DateTime(timezone=True)
EMPTY_ROOT = hashlib.sha256(b"").digest()


def upgrade() -> None:
    op.add_column("approvals", sa.Column("signature", sa.Text(), nullable=True))

    op.create_table(
        "audit_entries",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("log_index", sa.BigInteger(), nullable=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("request_id", sa.String(64), nullable=True),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_audit_entries"),
    )
    op.create_index("ix_audit_entries_log_index", "audit_entries", ["log_index"], unique=True)
    op.create_index("ix_audit_entries_kind", "audit_entries", ["kind"])
    op.create_index("ix_audit_entries_request_id", "audit_entries", ["request_id"])

    op.create_table(
        "audit_tiles",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hashes", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_tiles"),
    )

    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root", sa.LargeBinary(), nullable=False),
        sa.Column("frontier", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", TIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_audit_head"),
    )
    assert head is not None
    op.bulk_insert(head, [{"id": 0, "size": 0, "root": EMPTY_ROOT, "frontier": b""}])

    op.create_table(
        "audit_checkpoints",
        sa.Column("size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("root", sa.LargeBinary(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("size", name="pk_audit_checkpoints"),
    )


def downgrade() -> None:
    op.drop_table("audit_checkpoints")
    op.drop_table("audit_head")
    op.drop_table("audit_tiles")
    op.drop_index("ix_audit_entries_request_id", table_name="audit_entries")
    op.drop_index("ix_audit_entries_kind", table_name="audit_entries")
    op.drop_index("ix_audit_entries_log_index", table_name="audit_entries")
    op.drop_table("audit_entries")
    with op.batch_alter_table("approvals") as batch:
        batch.drop_column("signature")
