"""Deconfliction's cells over SQLAlchemy: candidates looked up by cell, and check-and-commit
serialised per cell, across processes, with portable SQL.

``lock(cells)`` upserts one lock row per cell (``INSERT ... ON CONFLICT DO NOTHING``) and
then ``SELECT ... FOR UPDATE``s them, both in ascending cell order, so two units of work
that share a cell queue on it and never wait on each other in a cycle. The lock is held
until the unit of work ends; after it, ``candidates`` reads the committed cells of every
other pending or cleared request (READ COMMITTED: a statement sees what committed before
it began, so the winner of the lock is seen by the loser), and the new request's cells
are inserted in the same transaction (``RequestRepository.add``). No PostGIS, EXCLUDE
constraint or advisory lock: the same statements run on PostgreSQL, CockroachDB,
YugabyteDB and SQLite. On SQLite, ``FOR UPDATE`` renders as nothing and the upsert's
write opens the unit's ``BEGIN IMMEDIATE`` transaction, the database-wide writer lock,
which serialises everything the row locks would.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from clearance.adapters import sql_tables as t
from clearance.service.ports import ACTIVE, AirspaceRepository, Candidate, VolumeCells

if TYPE_CHECKING:
    from clearance.adapters.sql import SqlUnitOfWork

_CHUNK = 500  # cells per statement: well under every engine's parameter limit


class SqlAirspace(AirspaceRepository):
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self.uow = uow

    def lock(self, cells: Sequence[int]) -> None:
        ordered = sorted(set(cells))
        locks = t.airspace_locks.c
        for chunk in _chunks(ordered):
            self.uow.execute(
                self._insert_missing().values([{"cell": c} for c in chunk]),
                write=True,
                conflict="the airspace is busy with a concurrent submission; retry",
            )
        for chunk in _chunks(ordered):
            self.uow.execute(
                sa.select(locks.cell)
                .where(locks.cell.in_(chunk))
                .order_by(locks.cell)
                .with_for_update(),
                write=True,
                conflict="the airspace is busy with a concurrent submission; retry",
            ).all()

    def _insert_missing(self) -> Any:
        dialect = self.uow.engine.dialect.name
        if dialect == "sqlite":
            return sqlite.insert(t.airspace_locks).on_conflict_do_nothing()
        return postgresql.insert(t.airspace_locks).on_conflict_do_nothing()

    def candidates(
        self, cells: Sequence[int], time_start: datetime, time_end: datetime, exclude: str | None
    ) -> list[Candidate]:
        c, r = t.airspace_cells.c, t.requests.c
        found: dict[str, Candidate] = {}
        for chunk in _chunks(sorted(set(cells))):
            ids = sa.select(c.request_id).where(
                c.cell.in_(chunk), c.time_start <= time_end, time_start <= c.time_end
            )
            query = sa.select(r.id, r.version, r.document).where(
                r.id.in_(ids), r.state.in_([s.value for s in ACTIVE])
            )
            if exclude is not None:
                query = query.where(r.id != exclude)
            for row in self.uow.execute(query):
                found[row.id] = Candidate(row.id, row.version, row.document)
        return [found[k] for k in sorted(found)]

    def index(self, request_id: str, volumes: Mapping[int, VolumeCells]) -> None:
        self.drop(request_id)
        rows = [
            {
                "cell": cell,
                "request_id": request_id,
                "volume_index": i,
                "time_start": v.time_start,
                "time_end": v.time_end,
            }
            for i, v in sorted(volumes.items())
            for cell in sorted(v.cells)
        ]
        if rows:
            self.uow.execute(sa.insert(t.airspace_cells), rows, write=True)

    def drop(self, request_id: str) -> None:
        self.uow.execute(
            sa.delete(t.airspace_cells).where(t.airspace_cells.c.request_id == request_id),
            write=True,
        )


def _chunks(items: list[int]) -> list[list[int]]:
    return [items[i : i + _CHUNK] for i in range(0, len(items), _CHUNK)]
