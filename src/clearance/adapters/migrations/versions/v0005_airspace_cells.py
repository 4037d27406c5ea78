"""Deconfliction in the database: the H3 cells of every pending and cleared request's
volumes (``airspace_cells``, looked up by cell) and one lock row per cell ever touched
(``airspace_locks``), which check-and-commit locks in ascending order.

The cells of the requests already pending or cleared are computed here with the code's
cover (``clearance.domain.airspace.cells``, resolution 5): unlike the rest of a migration
it is not frozen history, so a change of resolution or cover needs a new migration that
recomputes every row. A document that cannot be read as volumes (none was stored through
the service) gets no cells.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written by hand to match clearance.adapters.sql_tables; a test compares the two.
TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "airspace_cells",
        sa.Column("cell", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("volume_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("time_start", TIME, nullable=False),
        sa.Column("time_end", TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["requests.id"],
            name="fk_airspace_cells_request_id_requests",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("cell", "request_id", "volume_index", name="pk_airspace_cells"),
    )
    op.create_index("ix_airspace_cells_request_id", "airspace_cells", ["request_id"])
    op.create_index("ix_airspace_cells_cell_time_end", "airspace_cells", ["cell", "time_end"])
    op.create_table(
        "airspace_locks",
        sa.Column("cell", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("cell", name="pk_airspace_locks"),
    )
    _index_active_requests()


def _index_active_requests() -> None:
    from clearance.domain.airspace.cells import request_cells
    from clearance.domain.clearance.requests import stored_airspace
    from clearance.domain.errors import InputError

    bind = op.get_bind()
    requests = sa.table(
        "requests", sa.column("id", sa.String), sa.column("state", sa.String),
        sa.column("document", sa.JSON),
    )  # fmt: skip
    cells = sa.table(
        "airspace_cells", sa.column("cell", sa.BigInteger), sa.column("request_id", sa.String),
        sa.column("volume_index", sa.Integer), sa.column("time_start", TIME),
        sa.column("time_end", TIME),
    )  # fmt: skip
    locks = sa.table("airspace_locks", sa.column("cell", sa.BigInteger))
    active = sa.select(requests.c.id, requests.c.document).where(
        requests.c.state.in_(["pending", "cleared"])
    )
    touched: set[int] = set()
    for row in bind.execute(active).all():
        try:
            _, volumes = stored_airspace(row.document)
        except InputError:
            continue  # no volumes to read: nothing it could conflict with either
        rows = [
            {
                "cell": cell,
                "request_id": row.id,
                "volume_index": i,
                # as UtcDateTime writes them: UTC, naive on SQLite
                "time_start": _stored(volumes[i].time_start, bind.dialect.name),
                "time_end": _stored(volumes[i].time_end, bind.dialect.name),
            }
            for i, found in request_cells(volumes).items()
            for cell in sorted(found)
        ]
        if rows:
            bind.execute(sa.insert(cells), rows)
        touched.update(r["cell"] for r in rows)
    if touched:
        bind.execute(sa.insert(locks), [{"cell": c} for c in sorted(touched)])


def _stored(value: datetime, dialect: str) -> datetime:
    utc = value.astimezone(UTC)
    return utc.replace(tzinfo=None) if dialect == "sqlite" else utc


def downgrade() -> None:
    op.drop_table("airspace_locks")
    op.drop_index("ix_airspace_cells_cell_time_end", table_name="airspace_cells")
    op.drop_index("ix_airspace_cells_request_id", table_name="airspace_cells")
    op.drop_table("airspace_cells")
