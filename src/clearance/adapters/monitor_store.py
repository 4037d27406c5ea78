"""A monitor's state in its own SQLite file (``<state dir>/monitor.db``), and the latest
verified checkpoint as a plain file beside it (``<state dir>/checkpoint``: what a party
hands to another's monitor as ``--gossip``).

Tables: ``seen`` (every checkpoint seen: size, root, note, source), ``entries`` (the kept
copy of the log: index, data) and ``verified`` (one row: the checkpoint verified last).
:meth:`SqliteMonitorStore.advance` writes new entries and the verified checkpoint in one
``BEGIN IMMEDIATE`` transaction (``synchronous=FULL``), so the verified checkpoint never
runs ahead of the entries kept; the ``checkpoint`` file is then replaced atomically.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from clearance.adapters.files import state_directory
from clearance.domain.errors import InputError
from clearance.domain.ledger.monitor import Seen
from clearance.service.monitor import MonitorStore

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS seen (
        size INTEGER NOT NULL CHECK (size >= 0),
        root BLOB NOT NULL CHECK (length(root) = 32),
        note TEXT NOT NULL,
        source TEXT NOT NULL,
        PRIMARY KEY (size, root, source)
    )""",
    """CREATE TABLE IF NOT EXISTS entries (
        log_index INTEGER PRIMARY KEY CHECK (log_index >= 0),
        data BLOB NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS verified (
        one INTEGER PRIMARY KEY CHECK (one = 1),
        size INTEGER NOT NULL,
        root BLOB NOT NULL,
        note TEXT NOT NULL,
        source TEXT NOT NULL
    )""",
)
PAGE = 5000


class SqliteMonitorStore(MonitorStore):
    def __init__(self, directory: Path) -> None:
        directory = state_directory(directory)
        self.directory = directory
        self.path = directory / "monitor.db"
        db = self._connect()
        try:
            db.execute("PRAGMA journal_mode=WAL")
            for statement in SCHEMA:
                db.execute(statement)
        except sqlite3.DatabaseError as e:
            raise InputError(
                f"{self.path} is not a monitor's state: {e}", field="--state"
            ) from None
        finally:
            db.close()

    def _connect(self) -> sqlite3.Connection:
        try:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        except sqlite3.OperationalError as e:
            raise InputError(f"cannot open {self.path}: {e}", field="--state") from None
        db.execute("PRAGMA synchronous=FULL")
        db.execute("PRAGMA busy_timeout=30000")
        return db

    def seen(self) -> list[Seen]:
        db = self._connect()
        try:
            rows = db.execute("SELECT size, root, note, source FROM seen ORDER BY size, source")
            return [Seen(int(r[0]), bytes(r[1]), str(r[2]), str(r[3])) for r in rows]
        finally:
            db.close()

    def see(self, checkpoints: Sequence[Seen]) -> None:
        db = self._connect()
        try:
            db.execute("BEGIN IMMEDIATE")
            db.executemany(
                "INSERT OR IGNORE INTO seen (size, root, note, source) VALUES (?, ?, ?, ?)",
                [(c.size, c.root, c.note, c.source) for c in checkpoints],
            )
            db.execute("COMMIT")
        finally:
            db.close()

    def verified(self) -> Seen | None:
        db = self._connect()
        try:
            r = db.execute("SELECT size, root, note, source FROM verified").fetchone()
        finally:
            db.close()
        return None if r is None else Seen(int(r[0]), bytes(r[1]), str(r[2]), str(r[3]))

    def entries(self) -> Iterator[tuple[int, bytes]]:
        start = 0
        while True:
            db = self._connect()
            try:
                rows = db.execute(
                    "SELECT log_index, data FROM entries WHERE log_index >= ? "
                    "ORDER BY log_index LIMIT ?",
                    (start, PAGE),
                ).fetchall()
            finally:
                db.close()
            for index, data in rows:
                yield int(index), bytes(data)
            if len(rows) < PAGE:
                return
            start = int(rows[-1][0]) + 1

    def advance(self, checkpoint: Seen, entries: Sequence[tuple[int, bytes]]) -> None:
        db = self._connect()
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                db.executemany("INSERT INTO entries (log_index, data) VALUES (?, ?)", entries)
                db.execute(
                    "INSERT INTO verified (one, size, root, note, source) VALUES (1, ?, ?, ?, ?) "
                    "ON CONFLICT (one) DO UPDATE SET size = excluded.size, root = excluded.root,"
                    " note = excluded.note, source = excluded.source",
                    (checkpoint.size, checkpoint.root, checkpoint.note, checkpoint.source),
                )
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        finally:
            db.close()
        _write_atomically(self.directory / "checkpoint", checkpoint.note)


def _write_atomically(path: Path, text: str) -> None:
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".checkpoint.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
