"""Deconfliction's cells over SQLAlchemy: candidates looked up by cell, and check-and-commit
serialised per cell, across processes, with portable SQL.

``lock(cells)`` ``SELECT ... FOR UPDATE``s the cells' lock rows in ascending cell order, so
two units of work that share a cell queue on it and do not wait on each other in a cycle;
cells never touched before get their rows (``INSERT ... ON CONFLICT DO NOTHING``) and are
locked after the others (one statement in the usual case, not two; the rare cycle this
allows between two first-time submissions is a deadlock the server detects and the loser
is told to retry, 409). The lock is held
until the unit of work ends; after it, ``candidates`` reads the committed cells of every
other pending or cleared request (READ COMMITTED: a statement sees what committed before
it began, so the winner of the lock is seen by the loser), and the new request's cells
are inserted in the same transaction (``RequestRepository.add``). No PostGIS, EXCLUDE
constraint or advisory lock: the same statements run on PostgreSQL, CockroachDB,
YugabyteDB and SQLite. On SQLite, ``FOR UPDATE`` renders as nothing and the upsert's
write opens the unit's ``BEGIN IMMEDIATE`` transaction, the database-wide writer lock,
which serialises everything the row locks would.

The same table keeps one more lock: ``GRANTS_LOCK`` (0, H3's null index, which is never a
cell), shared by every submission while it reads the grant revocations and taken
exclusively by a revocation (``GrantRepository.hold`` and ``revoke``).
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
GRANTS_LOCK = 0  # H3_NULL: no cell has it
_BUSY = "the airspace is busy with a concurrent submission; retry"


class SqlAirspace(AirspaceRepository):
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self.uow = uow

    def lock(self, cells: Sequence[int]) -> None:
        ordered = sorted(set(cells))
        locked = self._lock_rows(ordered)
        missing = [c for c in ordered if c not in locked]
        if missing:  # cells never touched before: their rows, then their locks
            for chunk in _chunks(missing):
                self.uow.execute(
                    self._insert_missing().values([{"cell": c} for c in chunk]),
                    write=True,
                    conflict=_BUSY,
                )
            self._lock_rows(missing)

    def lock_key(self, key: int, *, shared: bool) -> None:
        """Lock one row of the table by key (``FOR SHARE`` or ``FOR UPDATE``), making the
        row the first time; on SQLite, the writer lock."""
        locks = t.airspace_locks.c
        query = sa.select(locks.cell).where(locks.cell == key).with_for_update(read=shared)
        if self.uow.execute(query, write=True, conflict=_BUSY).first() is None:
            self.uow.execute(self._insert_missing().values(cell=key), write=True, conflict=_BUSY)
            self.uow.execute(query, write=True, conflict=_BUSY)

    def _lock_rows(self, ordered: list[int]) -> set[int]:
        """Lock the rows there are of ``ordered`` cells, in that order; the cells found."""
        locks = t.airspace_locks.c
        found: set[int] = set()
        for chunk in _chunks(ordered):
            query = sa.select(locks.cell).where(locks.cell.in_(chunk)).order_by(locks.cell)
            rows = self.uow.execute(query.with_for_update(), write=True, conflict=_BUSY)
            found.update(rows.scalars())
        return found

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
            # from the cells (by index) to their requests (by primary key): written as a
            # join on a derived table, since "id IN (subquery) AND state IN (...)" led
            # SQLite to scan every active request by its state index instead
            ids = (
                sa.select(c.request_id)
                .distinct()
                .where(c.cell.in_(chunk), c.time_end >= time_start, c.time_start <= time_end)
                .subquery()
            )
            query = (
                sa.select(r.id, r.version, r.document)
                .select_from(ids.join(t.requests, r.id == ids.c.request_id))
                .where(r.state.in_([s.value for s in ACTIVE]))
            )
            if exclude is not None:
                query = query.where(r.id != exclude)
            for row in self.uow.execute(query):
                found[row.id] = Candidate(row.id, row.version, row.document)
        return [found[k] for k in sorted(found)]

    def index(
        self, request_id: str, volumes: Mapping[int, VolumeCells], *, new: bool = False
    ) -> None:
        if not new:
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
