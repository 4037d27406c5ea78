"""Initial schema: requests with their approvals and events, principals, idempotency keys,
grant revocations and the stored scenario.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written by hand to match clearance.adapters.sql_tables; a test compares the two.
TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "requests",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("operator", sa.String(200), nullable=False),
        sa.Column("submitted_by", sa.String(200), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("violations", sa.JSON(), nullable=False),
        sa.Column("time_start", TIME, nullable=False),
        sa.Column("time_end", TIME, nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_requests"),
    )
    op.create_index("ix_requests_operator", "requests", ["operator"])
    op.create_index("ix_requests_state", "requests", ["state"])
    op.create_index("ix_requests_time_start", "requests", ["time_start"])
    op.create_index("ix_requests_created_at", "requests", ["created_at"])

    op.create_table(
        "approvals",
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("authority", sa.String(200), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("party", sa.String(200), nullable=False),
        sa.Column("stage", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("policies", sa.JSON(), nullable=False),
        sa.Column("grant_id", sa.String(200), nullable=True),
        sa.Column("volumes", sa.JSON(), nullable=False),
        sa.Column("inputs", sa.String(64), nullable=False),
        sa.Column("decided_by", sa.String(200), nullable=True),
        sa.Column("decided_at", TIME, nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("conditions", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["requests.id"],
            name="fk_approvals_request_id_requests",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("request_id", "authority", name="pk_approvals"),
    )
    op.create_index("ix_approvals_authority_status", "approvals", ["authority", "status"])

    op.create_table(
        "request_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("occurred_at", TIME, nullable=False),
        sa.Column("actor", sa.String(200), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["requests.id"],
            name="fk_request_events_request_id_requests",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_request_events"),
    )
    op.create_index("ix_request_events_request_id", "request_events", ["request_id"])

    op.create_table(
        "principals",
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("operator", sa.String(200), nullable=True),
        sa.Column("authority", sa.String(200), nullable=True),
        sa.Column("token_hash", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_principals"),
    )
    op.create_index("ix_principals_token_hash", "principals", ["token_hash"], unique=True)

    op.create_table(
        "idempotency_keys",
        sa.Column("principal", sa.String(200), nullable=False),
        sa.Column("idempotency_key", sa.String(255), nullable=False),
        sa.Column("digest", sa.String(128), nullable=False),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("principal", "idempotency_key", name="pk_idempotency_keys"),
    )

    op.create_table(
        "grant_revocations",
        sa.Column("grant_id", sa.String(200), nullable=False),
        sa.Column("revoked_by", sa.String(200), nullable=False),
        sa.Column("revoked_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("grant_id", name="pk_grant_revocations"),
    )

    op.create_table(
        "scenario_files",
        sa.Column("path", sa.String(1000), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("loaded_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("path", name="pk_scenario_files"),
    )


def downgrade() -> None:
    op.drop_table("scenario_files")
    op.drop_table("grant_revocations")
    op.drop_table("idempotency_keys")
    op.drop_index("ix_principals_token_hash", table_name="principals")
    op.drop_table("principals")
    op.drop_index("ix_request_events_request_id", table_name="request_events")
    op.drop_table("request_events")
    op.drop_index("ix_approvals_authority_status", table_name="approvals")
    op.drop_table("approvals")
    op.drop_index("ix_requests_created_at", table_name="requests")
    op.drop_index("ix_requests_time_start", table_name="requests")
    op.drop_index("ix_requests_state", table_name="requests")
    op.drop_index("ix_requests_operator", table_name="requests")
    op.drop_table("requests")
