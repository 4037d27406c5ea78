"""A witness's state in its own SQLite file (``<state dir>/witness.db``): one row per
log it follows, the latest checkpoint it cosigned.

``advance`` runs its read, decision and write in one ``BEGIN IMMEDIATE`` transaction: the
write lock is taken before the read, so two add-checkpoint calls (threads or processes)
cannot both advance from the same size. ``synchronous=FULL`` and WAL: a cosignature is
returned only after its checkpoint is durable, as tlog-witness requires.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from clearance.adapters.files import state_directory
from clearance.domain.errors import InputError
from clearance.domain.ledger.witness import Witnessed
from clearance.service.witness import Step, WitnessState, WitnessStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS witnessed (
    origin TEXT PRIMARY KEY,
    size INTEGER NOT NULL CHECK (size >= 0),
    root BLOB NOT NULL CHECK (length(root) = 32),
    note TEXT NOT NULL
)
"""


class SqliteWitnessStore(WitnessStore):
    def __init__(self, directory: Path) -> None:
        directory = state_directory(directory)
        self.path = directory / "witness.db"
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        try:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        except sqlite3.OperationalError as e:
            raise InputError(f"cannot open {self.path}: {e}", field="--state") from None
        db.execute("PRAGMA synchronous=FULL")
        db.execute("PRAGMA busy_timeout=30000")
        return db

    def advance(self, origin: str, step: Step) -> WitnessState:
        db = self._connect()
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                new = step(self._read(db, origin))
                db.execute(
                    "INSERT INTO witnessed (origin, size, root, note) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (origin) DO UPDATE SET size = excluded.size, "
                    "root = excluded.root, note = excluded.note",
                    (origin, new.tree.size, new.tree.root, new.note),
                )
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
            return new
        finally:
            db.close()

    def latest(self, origin: str) -> WitnessState | None:
        db = self._connect()
        try:
            return self._read(db, origin)
        finally:
            db.close()

    @staticmethod
    def _read(db: sqlite3.Connection, origin: str) -> WitnessState | None:
        row = db.execute(
            "SELECT size, root, note FROM witnessed WHERE origin = ?", (origin,)
        ).fetchone()
        if row is None:
            return None
        return WitnessState(Witnessed(int(row[0]), bytes(row[1])), str(row[2]))
