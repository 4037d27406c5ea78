"""The audit log over SQLAlchemy: entries written in the transaction of the change they
record, integrated into the tree later (``integrate``), tiles of subtree hashes for
O(log n) proofs (layout in ``adapters.audit_store``).

Why log indexes are given at integration, not at insert
-------------------------------------------------------
An entry is inserted with the change it records, in that change's transaction, with a
``seq`` from the table's identity and ``log_index`` NULL. On PostgreSQL (and the
distributed engines that speak its protocol) identity values are handed out when rows
are *inserted*, not when transactions *commit*: a transaction holding ``seq`` 41 may
commit after another holding ``seq`` 42, and a reader can see 42 while 41 is still
invisible (or rolled back, leaving a gap for ever). Numbering the log by ``seq`` would
therefore let a checkpoint cover 42 while 41 could still appear before it, which would
rewrite a signed tree. Giving log indexes at insert (``max + 1``) would instead serialize
every writer on one hot row.

So ``integrate`` takes the lock on the one-row ``audit_head`` table (``SELECT ... FOR
UPDATE`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` is the database-wide writer lock),
reads the entries that are committed and still unnumbered, and numbers them
consecutively after the current size, in ``seq`` order. An entry becomes part of the
log only once its transaction has committed, it is numbered exactly once (under the
lock), and the log's order is the order in which integrators saw commits: indexes never
have gaps and never move. The tiles, the new head and the signed checkpoint are written
in the same transaction, so a checkpoint always describes exactly the stored tree.
"""

from __future__ import annotations

import json
from collections.abc import Generator, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from clearance.adapters import sql_tables as t
from clearance.adapters.audit_store import (
    TileWriter,
    leaf_tile_slices,
    range_hashes,
    split_hashes,
)
from clearance.adapters.clock import wall_now
from clearance.domain.errors import NotFoundError, TamperedError
from clearance.domain.ledger import audit
from clearance.domain.ledger.disclosure import Disclosure
from clearance.domain.ledger.merkle import (
    EMPTY_ROOT,
    Frontier,
    consistency_proof_ranges,
    inclusion_proof_ranges,
    leaf_hash,
)
from clearance.domain.ledger.signatures import canonical_stored
from clearance.domain.ledger.witness import with_cosignatures
from clearance.service.ports import (
    AuditRepository,
    StoredCheckpoint,
    StoredEntry,
    StoredRequest,
    TreeHead,
)

if TYPE_CHECKING:
    from clearance.adapters.sql import SqlUnitOfWork

_IN_CHUNK = 500  # ids per IN (...) list


class SqlAudit(AuditRepository):
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self.uow = uow

    # -- appending ---------------------------------------------------------------------
    def append_many(self, entries: Sequence[tuple[str, Mapping[str, Any], str | None]]) -> None:
        if not entries:
            return
        now = wall_now()  # the row's created_at: wall-clock, never the service's clock
        rows = []
        for kind, fields, request_id in entries:
            data = audit.entry_data(kind, fields)
            rows.append(
                {
                    "kind": kind,
                    "request_id": audit.request_of(fields, request_id),
                    "data": data,
                    "leaf_hash": leaf_hash(data),
                    "created_at": now,
                }
            )
        self.uow.execute(sa.insert(t.audit_entries), rows, write=True)

    def add_disclosures(self, request_id: str, disclosures: Sequence[Disclosure]) -> None:
        if not disclosures:
            return
        now = wall_now()
        rows = [
            {
                "commitment": d.commitment,
                "request_id": request_id,
                "salt": d.salt,
                "value": canonical_stored(d.value).decode("utf-8"),
                "created_at": now,
            }
            for d in disclosures
        ]
        self.uow.execute(sa.insert(t.audit_disclosures), rows, write=True)

    def disclosures(self, commitments: Sequence[str]) -> dict[str, dict[str, Any]]:
        d = t.audit_disclosures.c
        wanted = sorted(set(commitments))
        out: dict[str, dict[str, Any]] = {}
        for i in range(0, len(wanted), _IN_CHUNK):
            chunk = wanted[i : i + _IN_CHUNK]
            rows = self.uow.execute(
                sa.select(d.commitment, d.salt, d.value).where(d.commitment.in_(chunk))
            )
            out.update((row.commitment, _disclosure(row)) for row in rows)
        return out

    def request_disclosures(self, request_id: str) -> list[dict[str, Any]]:
        d = t.audit_disclosures.c
        rows = self.uow.execute(
            sa.select(d.commitment, d.salt, d.value)
            .where(d.request_id == request_id)
            .order_by(d.commitment)
        )
        return [_disclosure(row) for row in rows]

    def recorded_keys(self) -> dict[tuple[str, str], bytes]:
        e = t.audit_entries.c
        rows = self.uow.execute(
            sa.select(e.data)
            .where(e.kind == audit.KEY)
            .order_by(e.log_index.is_(None), e.log_index, e.seq)
        )
        ring = audit.KeyRing()
        for row in rows:
            ring.learn(audit.parse_entry(bytes(row.data)))
        return ring.keys

    # -- integrating -------------------------------------------------------------------
    def has_pending(self) -> bool:
        e = t.audit_entries.c
        found = self.uow.execute(sa.select(e.seq).where(e.log_index.is_(None)).limit(1)).first()
        return found is not None

    def integrate(self, limit: int) -> tuple[TreeHead, int]:
        e, h = t.audit_entries.c, t.audit_head.c
        locked = self.uow.execute(
            sa.select(h.size, h.root, h.frontier).where(h.id == 0).with_for_update(),
            write=True,
        ).one()
        rows = self.uow.execute(
            sa.select(e.seq, e.data, e.leaf_hash)
            .where(e.log_index.is_(None))
            .order_by(e.seq)
            .limit(limit),
            write=True,
        ).all()
        if not rows:
            return TreeHead(locked.size, bytes(locked.root)), 0
        writer = TileWriter(Frontier(locked.size, split_hashes(bytes(locked.frontier))))
        numbered = []
        for row in rows:
            hashed = leaf_hash(bytes(row.data))
            if hashed != bytes(row.leaf_hash):
                raise TamperedError(
                    f"audit entry seq {row.seq}: its data does not hash to its leaf hash; "
                    "the database was changed, run `clearance audit verify`"
                )
            numbered.append({"b_seq": row.seq, "b_index": writer.append(hashed)})
        self.uow.execute(
            sa.update(t.audit_entries)
            .where(e.seq == sa.bindparam("b_seq"))
            .values(log_index=sa.bindparam("b_index")),
            numbered,
            write=True,
        )
        stored = self._tiles(sorted(writer.tile_ids))
        tiles = {tile_id: bytearray(hashes) for tile_id, hashes in stored.items()}
        writer.apply(tiles)
        updates = [{"b_id": i, "b_hashes": bytes(tiles[i])} for i in sorted(stored)]
        inserts = [
            {"id": i, "hashes": bytes(tiles[i])} for i in sorted(writer.tile_ids - set(stored))
        ]
        if updates:
            tc = t.audit_tiles.c
            self.uow.execute(
                sa.update(t.audit_tiles)
                .where(tc.id == sa.bindparam("b_id"))
                .values(hashes=sa.bindparam("b_hashes")),
                updates,
                write=True,
            )
        if inserts:
            self.uow.execute(sa.insert(t.audit_tiles), inserts, write=True)
        frontier = writer.frontier
        head = TreeHead(frontier.size, frontier.root())
        self.uow.execute(
            sa.update(t.audit_head)
            .where(h.id == 0)
            .values(
                size=head.size,
                root=head.root,
                frontier=b"".join(frontier.subtrees),
                updated_at=wall_now(),
            ),
            write=True,
        )
        return head, len(rows)

    def head(self) -> TreeHead:
        h = t.audit_head.c
        row = self.uow.execute(sa.select(h.size, h.root).where(h.id == 0)).one()
        return TreeHead(row.size, bytes(row.root))

    # -- checkpoints -------------------------------------------------------------------
    def add_checkpoint(self, checkpoint: StoredCheckpoint) -> None:
        row = {
            "size": checkpoint.size,
            "root": checkpoint.root,
            "note": checkpoint.note,
            "created_at": checkpoint.at,
        }
        self.uow.execute(sa.insert(t.audit_checkpoints), row, write=True)

    def latest_checkpoint(self) -> StoredCheckpoint | None:
        c = t.audit_checkpoints.c
        row = self.uow.execute(sa.select(t.audit_checkpoints).order_by(c.size.desc()).limit(1))
        found = row.first()
        return None if found is None else _checkpoint(found)

    def add_cosignatures(self, size: int, lines: Sequence[str]) -> StoredCheckpoint:
        c = t.audit_checkpoints.c
        row = self.uow.execute(
            sa.select(t.audit_checkpoints).where(c.size == size).with_for_update(), write=True
        ).first()
        if row is None:
            raise NotFoundError(f"no checkpoint of size {size}")
        note = with_cosignatures(row.note, lines)
        self.uow.execute(
            sa.update(t.audit_checkpoints).where(c.size == size).values(note=note), write=True
        )
        return replace(_checkpoint(row), note=note)

    def checkpoints(self) -> list[StoredCheckpoint]:
        c = t.audit_checkpoints.c
        rows = self.uow.execute(sa.select(t.audit_checkpoints).order_by(c.size))
        return [_checkpoint(row) for row in rows]

    # -- reading -----------------------------------------------------------------------
    def entry(self, index: int) -> StoredEntry | None:
        e = t.audit_entries.c
        row = self.uow.execute(sa.select(t.audit_entries).where(e.log_index == index)).first()
        return None if row is None else _entry(row)

    def entries(self, start: int, limit: int) -> list[StoredEntry]:
        e = t.audit_entries.c
        rows = self.uow.execute(
            sa.select(t.audit_entries)
            .where(e.log_index >= start)
            .order_by(e.log_index)
            .limit(limit)
        )
        return [_entry(row) for row in rows]

    def request_entries(self, request_id: str, limit: int) -> list[StoredEntry]:
        e = t.audit_entries.c
        rows = self.uow.execute(
            sa.select(t.audit_entries)
            .where(e.request_id == request_id, e.log_index.is_not(None))
            .order_by(e.log_index)
            .limit(limit)
        )
        return [_entry(row) for row in rows]

    def entries_of_kinds(self, kinds: Sequence[str], below: int) -> list[StoredEntry]:
        e = t.audit_entries.c
        rows = self.uow.execute(
            sa.select(t.audit_entries)
            .where(e.kind.in_(list(kinds)), e.log_index < below)
            .order_by(e.log_index)
        )
        return [_entry(row) for row in rows]

    def pending(self, after_seq: int, limit: int) -> list[StoredEntry]:
        e = t.audit_entries.c
        rows = self.uow.execute(
            sa.select(t.audit_entries)
            .where(e.log_index.is_(None), e.seq > after_seq)
            .order_by(e.seq)
            .limit(limit)
        )
        return [_entry(row) for row in rows]

    # -- proofs ------------------------------------------------------------------------
    def _tiles(self, ids: Sequence[int]) -> dict[int, bytes]:
        tc = t.audit_tiles.c
        out: dict[int, bytes] = {}
        for i in range(0, len(ids), _IN_CHUNK):
            chunk = list(ids[i : i + _IN_CHUNK])
            rows = self.uow.execute(sa.select(tc.id, tc.hashes).where(tc.id.in_(chunk)))
            out.update((row.id, bytes(row.hashes)) for row in rows)
        return out

    def _edge(self, size: int) -> bytes | None:
        h = t.audit_head.c
        row = self.uow.execute(sa.select(h.frontier).where(h.id == 0, h.size == size)).first()
        return None if row is None else bytes(row.frontier)

    def _check_size(self, size: int) -> None:
        stored = self.head().size
        if size > stored:
            raise ValueError(f"the stored tree has {stored} entries, not {size}")

    def inclusion_proof(self, index: int, size: int) -> tuple[bytes, list[bytes]]:
        self._check_size(size)
        ranges = [(index, index + 1), *inclusion_proof_ranges(index, size)]
        leaf, *proof = range_hashes(ranges, size, self._tiles, self._edge)
        return leaf, proof

    def consistency_proof(self, size1: int, size2: int) -> list[bytes]:
        self._check_size(size2)
        ranges = consistency_proof_ranges(size1, size2)
        return range_hashes(ranges, size2, self._tiles, self._edge) if ranges else []

    def root(self, size: int) -> bytes:
        self._check_size(size)
        if size == 0:
            return EMPTY_ROOT
        return range_hashes([(0, size)], size, self._tiles, self._edge)[0]

    def tree_leaves(self, start: int, end: int) -> list[bytes]:
        slices = leaf_tile_slices(start, end)
        tiles = self._tiles([tile_index for tile_index, _, _ in slices])  # level 0: id = index
        out = []
        for tile_index, lo, hi in slices:
            row = tiles.get(tile_index)
            if row is None:
                raise TamperedError(f"the tree's tile of leaves {tile_index << 8}.. is missing")
            out.extend(split_hashes(row[lo * 32 : hi * 32]))
        return out

    # -- what verification compares the log with ----------------------------------------
    def request_records(self) -> Generator[StoredRequest]:
        r, a = t.requests.c, t.approvals.c
        after = ""
        while True:  # pages of requests by id, each with its approvals (two queries)
            rows = self.uow.execute(
                sa.select(t.requests).where(r.id > after).order_by(r.id).limit(_IN_CHUNK)
            ).all()
            if not rows:
                return
            ids = [row.id for row in rows]
            steps: dict[str, list[sa.Row[Any]]] = {i: [] for i in ids}
            query = sa.select(t.approvals).where(a.request_id.in_(ids)).order_by(a.ordinal)
            for step in self.uow.execute(query):
                steps[step.request_id].append(step)
            for row in rows:
                try:
                    approvals = [t.to_approval(step) for step in steps[row.id]]
                    yield StoredRequest(row.id, t.to_record(row, approvals))
                except (ValueError, TypeError, KeyError) as e:
                    yield StoredRequest(row.id, None, str(e))
            after = ids[-1]

    def request_events(self) -> list[tuple[str, int, str]]:
        e = t.request_events.c
        rows = self.uow.execute(sa.select(e.request_id, e.version, e.kind).order_by(e.id))
        return [(row.request_id, row.version, row.kind) for row in rows]


def _entry(row: sa.Row[Any]) -> StoredEntry:
    return StoredEntry(
        row.seq, row.log_index, row.kind, row.request_id, _blob(row.data), _blob(row.leaf_hash)
    )


def _checkpoint(row: sa.Row[Any]) -> StoredCheckpoint:
    return StoredCheckpoint(row.size, _blob(row.root), row.note, row.created_at)


def _blob(value: bytes | str) -> bytes:
    """A binary column's bytes. SQLite keeps whatever type was written: a value rewritten
    as text comes back as ``str``, read as its UTF-8 bytes so the hashes judge it."""
    return value.encode("utf-8", "surrogateescape") if isinstance(value, str) else bytes(value)


def _disclosure(row: Any) -> dict[str, Any]:
    """A stored disclosure as its JSON object; a value that is not JSON (the row was
    changed) is kept as its text, for the check against the commitment to fail."""
    try:
        value = json.loads(row.value)
    except ValueError:
        value = row.value
    return {"commitment": row.commitment, "salt": row.salt, "value": value}
