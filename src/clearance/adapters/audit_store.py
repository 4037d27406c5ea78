"""The audit log's tree storage: leaf hashes and complete-subtree hashes in tiles of 256.

Layout (shared by the product's SQL store, ``adapters.sql_audit``, and by
:class:`TileStore`, the plain-``sqlite3`` store ``bench/audit.py`` measures)
--------------------------------------------------------------------------------
Tile ``(L, N)`` (``id = L << 40 | N``) holds the complete subtrees at tree levels
``8L .. 8L+7`` under level-``8L+8`` node ``N``: sublevel ``r`` has ``256 >> r`` slots of
32 bytes, sublevels concatenated (510 hashes, 16,320 bytes; slots not yet complete are
zero). The first 256 slots are exactly the C2SP tlog-tiles tile at level ``L`` (a
partial tile is its first ``w`` slots), so tiles can be served as c2sp.org/tlog-tiles;
the extra sublevels mean any complete subtree is one slice of one row, never a
recomputation. Next to the tiles, the tree head keeps the size, the root and the right
edge (:class:`~clearance.domain.ledger.merkle.Frontier` subtrees, concatenated).

A proof lists the subtrees it needs (:func:`~clearance.domain.ledger.merkle.inclusion_proof_ranges`)
and reads them in one query: about one tile row per 8 tree levels (3 at 10^6 entries;
the leaf hash comes from its level-0 tile), plus, when a sibling is the right-hand
remainder of the tree, the head's right edge (a remainder is always a suffix of it).
Proofs for an older size fold the remainder from tiles instead (one more query).
:func:`range_hashes` does this over any storage; :class:`TileWriter` applies appends to
tile buffers.

:class:`TileStore` (moved here from ``bench/``; plain ``sqlite3`` so the benchmark
measures storage, not an ORM) has its own tables:

``audit_leaf(idx, data, leaf_hash)``
    one row per entry (0-based index, canonical JSON bytes, SHA-256(0x00 || data)).
``audit_tile(id, hashes)``
    the tiles above.
``audit_tree(id = 0, size, root, frontier)``
    the current size, root and right edge, updated in the same transaction as the leaves.

An append batch is one transaction: leaves, every tile it touched, the tree row. Full
tiles never change, so a reader could cache them; this store does not (the benchmark
measures reads from SQLite).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from clearance.domain.ledger.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    Frontier,
    complete_subtrees,
    consistency_proof_ranges,
    fold,
    inclusion_proof_ranges,
    leaf_hash,
    node_hash,
)

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
# byte offset of sublevel r inside a tile row
_OFFSETS = [sum(TILE_WIDTH >> j for j in range(r)) * HASH_SIZE for r in range(TILE_HEIGHT)]
TILE_BYTES = sum(TILE_WIDTH >> r for r in range(TILE_HEIGHT)) * HASH_SIZE
_ID_SHIFT = 40
_TILE_QUERIES = [
    "SELECT id, hashes FROM audit_tile WHERE id IN (" + ",".join("?" * n) + ")" for n in range(12)
]

SCHEMA = """
CREATE TABLE IF NOT EXISTS audit_leaf (
    idx INTEGER PRIMARY KEY,
    data BLOB NOT NULL,
    leaf_hash BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_tile (
    id INTEGER PRIMARY KEY,
    hashes BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_tree (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    size INTEGER NOT NULL,
    root BLOB NOT NULL,
    frontier BLOB NOT NULL
);
"""


def tile_of(level: int, index: int) -> tuple[int, int]:
    """``(tile id, byte offset)`` of the complete subtree at ``level``, ``index``."""
    tile_level, r = divmod(level, TILE_HEIGHT)
    shift = TILE_HEIGHT - r
    tile_index = index >> shift
    slot = index - (tile_index << shift)
    return (tile_level << _ID_SHIFT) | tile_index, _OFFSETS[r] + slot * HASH_SIZE


# -- shared by every tile store ---------------------------------------------------------------


def split_hashes(blob: bytes) -> list[bytes]:
    """Concatenated 32-byte hashes, split."""
    return [bytes(blob[i : i + HASH_SIZE]) for i in range(0, len(blob), HASH_SIZE)]


class TileWriter:
    """Appends leaf hashes to a :class:`~clearance.domain.ledger.merkle.Frontier` and records
    every complete subtree they finish as ``(tile id, byte offset, hash)``; apply them to
    tile rows with :meth:`apply` once the rows are loaded (:attr:`tile_ids`)."""

    def __init__(self, frontier: Frontier) -> None:
        self.frontier = frontier
        self.writes: list[tuple[int, int, bytes]] = []
        self.tile_ids: set[int] = set()

    def append(self, leaf: bytes) -> int:
        """Append one leaf hash; returns its index."""
        index = self.frontier.size
        for level, node_index, node in self.frontier.append(leaf):
            tile_id, offset = tile_of(level, node_index)
            self.writes.append((tile_id, offset, node))
            self.tile_ids.add(tile_id)
        return index

    def apply(self, tiles: dict[int, bytearray]) -> None:
        """Write the recorded hashes into ``tiles`` (id -> buffer; missing ids get a new
        zeroed buffer)."""
        for tile_id, offset, node in self.writes:
            buf = tiles.get(tile_id)
            if buf is None:
                buf = tiles[tile_id] = bytearray(TILE_BYTES)
            buf[offset : offset + HASH_SIZE] = node


FetchTiles = Callable[[Sequence[int]], dict[int, bytes]]
FetchEdge = Callable[[int], bytes | None]


def locate(
    ranges: Sequence[tuple[int, int]],
) -> tuple[list[tuple[int, int] | None], list[tuple[int, int]]]:
    """Where each range's hash lives: the (tile id, slot) of a complete aligned subtree, or
    None for a right-hand remainder (also listed in the second result)."""
    spots: list[tuple[int, int] | None] = []
    remainders: list[tuple[int, int]] = []
    for start, end in ranges:
        width = end - start
        if width <= 0 or start < 0:
            raise ValueError(f"[{start}, {end}) is an empty range")
        if width & (width - 1) == 0:
            level = width.bit_length() - 1
            if start & (width - 1):
                raise ValueError(f"[{start}, {end}) is not an aligned subtree")
            spots.append(tile_of(level, start >> level))
        else:
            spots.append(None)
            remainders.append((start, end))
    return spots, remainders


def range_hashes(
    ranges: Sequence[tuple[int, int]], size: int, fetch_tiles: FetchTiles, fetch_edge: FetchEdge
) -> list[bytes]:
    """MTH of each range (a complete subtree, or a right-hand remainder ``[start, size)``;
    see ``clearance.domain.ledger.merkle``) in the tree of ``size`` entries, from tiles
    (``fetch_tiles(ids) -> {id: hashes}``, one call) and, for a remainder, the stored right
    edge when the stored size is ``size`` (``fetch_edge(size)``; None otherwise, and the
    remainder's subtrees are then read from tiles)."""
    spots, remainders = locate(ranges)
    ids = sorted({spot[0] for spot in spots if spot is not None})
    tiles = fetch_tiles(ids) if ids else {}
    edge = fetch_edge(size) if remainders else None
    out: list[bytes] = []
    for (start, end), spot in zip(ranges, spots, strict=True):
        if spot is not None:
            tile_id, offset = spot
            row = tiles.get(tile_id)
            if row is None:
                raise LookupError(f"tile {tile_id:#x} is missing: the tree is not stored")
            out.append(bytes(row[offset : offset + HASH_SIZE]))
            continue
        width = end - start
        low = width.bit_length()
        if edge is not None and end == size and size & ((1 << low) - 1) == width:
            hashes = split_hashes(edge)
            out.append(fold(hashes[(size >> low).bit_count() :]))
        else:
            parts = complete_subtrees(start, end)
            subranges = [(i << lv, (i + 1) << lv) for lv, i in parts]
            out.append(fold(range_hashes(subranges, size, fetch_tiles, fetch_edge)))
    return out


def leaf_tile_slices(start: int, end: int) -> list[tuple[int, int, int]]:
    """(tile id, first slot, last slot + 1) of the level-0 tiles holding leaves
    ``[start, end)``."""
    out = []
    for tile_index in range(start >> TILE_HEIGHT, ((end - 1) >> TILE_HEIGHT) + 1 if end else 0):
        lo = max(start, tile_index << TILE_HEIGHT) - (tile_index << TILE_HEIGHT)
        hi = min(end, (tile_index + 1) << TILE_HEIGHT) - (tile_index << TILE_HEIGHT)
        out.append((tile_index, lo, hi))
    return out


CACHE_KIB = 65_536


def connect(path: str | Path, cache_kib: int | None = CACHE_KIB) -> sqlite3.Connection:
    """A connection with the product's SQLite settings (WAL, synchronous=FULL) and a page
    cache of ``cache_kib`` KiB (SQLite's default is 2,000 KiB; ``None`` keeps it). The
    cache changes no durability: it spares a proof the ``pread`` of each tile page."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout=5000")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    if cache_kib is not None:
        conn.execute(f"PRAGMA cache_size=-{int(cache_kib)}")
    return conn


class TileStore:
    """Append-only Merkle log in SQLite; one writer, any number of readers."""

    def __init__(self, path: str | Path, cache_kib: int | None = CACHE_KIB) -> None:
        self.conn = connect(path, cache_kib)
        self.conn.executescript(SCHEMA)
        row = self.conn.execute("SELECT size, frontier FROM audit_tree WHERE id = 0").fetchone()
        if row is None:
            self._frontier = Frontier()
        else:
            size, edge = row
            hashes = [edge[i : i + HASH_SIZE] for i in range(0, len(edge), HASH_SIZE)]
            self._frontier = Frontier(size, hashes)
        self._open: dict[int, bytearray] = {}  # right-edge tiles being filled, by id
        self._suffix_key: tuple[int, bytes] | None = None
        self._suffix: list[bytes] = []
        self.tiles_read = 0

    def close(self) -> None:
        self.conn.close()

    # -- writing ----------------------------------------------------------------------

    @property
    def size(self) -> int:
        return self._frontier.size

    def root(self) -> bytes:
        return self._frontier.root()

    def _tile_buffer(self, tile_id: int) -> bytearray:
        buf = self._open.get(tile_id)
        if buf is None:
            row = self.conn.execute(
                "SELECT hashes FROM audit_tile WHERE id = ?", (tile_id,)
            ).fetchone()
            buf = bytearray(row[0]) if row else bytearray(TILE_BYTES)
            self._open[tile_id] = buf
        return buf

    def append(self, entries: Iterable[bytes]) -> int:
        """Append ``entries`` (leaf data) in one durable transaction; return the new size."""
        frontier = self._frontier
        start = frontier.size
        leaves: list[tuple[int, bytes, bytes]] = []
        touched: set[int] = set()
        open_tiles = self._open
        offsets = _OFFSETS
        for data in entries:
            h = leaf_hash(data)
            leaves.append((frontier.size, data, h))
            for level, index, node in frontier.append(h):
                # tile_of(level, index), inlined: this loop runs ~2 times per entry
                r = level & 7
                shift = TILE_HEIGHT - r
                tile_id = ((level >> 3) << _ID_SHIFT) | (index >> shift)
                offset = offsets[r] + (index & ((1 << shift) - 1)) * HASH_SIZE
                buf = open_tiles.get(tile_id)
                if buf is None:
                    buf = self._tile_buffer(tile_id)
                buf[offset : offset + HASH_SIZE] = node
                touched.add(tile_id)
        conn = self.conn
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(
                "INSERT INTO audit_leaf(idx, data, leaf_hash) VALUES (?, ?, ?)", leaves
            )
            conn.executemany(
                "INSERT INTO audit_tile(id, hashes) VALUES (?, ?) "
                "ON CONFLICT(id) DO UPDATE SET hashes = excluded.hashes",
                [(t, bytes(open_tiles[t])) for t in sorted(touched)],
            )
            conn.execute(
                "INSERT INTO audit_tree(id, size, root, frontier) VALUES (0, ?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET size = excluded.size, root = excluded.root, "
                "frontier = excluded.frontier",
                (frontier.size, frontier.root(), b"".join(frontier.subtrees)),
            )
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            # the in-memory edge ran ahead of the database: rebuild it from what committed
            self._reload(start)
            raise
        # keep only the tiles still on the right edge open
        for level_tile in [t for t in open_tiles if t not in self._edge_tiles()]:
            del open_tiles[level_tile]
        return frontier.size

    def _edge_tiles(self) -> set[int]:
        size = self._frontier.size
        out = set()
        for tile_level in range(0, max(size.bit_length(), 1) // TILE_HEIGHT + 1):
            base = size >> (tile_level * TILE_HEIGHT)  # nodes at level 8L
            out.add((tile_level << _ID_SHIFT) | (base >> TILE_HEIGHT))
        return out

    def _reload(self, size: int) -> None:
        self._open.clear()
        row = self.conn.execute("SELECT size, frontier FROM audit_tree WHERE id = 0").fetchone()
        if row is None:
            self._frontier = Frontier()
            return
        stored, edge = row
        assert stored == size, (stored, size)
        hashes = [edge[i : i + HASH_SIZE] for i in range(0, len(edge), HASH_SIZE)]
        self._frontier = Frontier(stored, hashes)

    # -- reading ----------------------------------------------------------------------

    def stored_size_and_root(self) -> tuple[int, bytes]:
        row = self.conn.execute("SELECT size, root FROM audit_tree WHERE id = 0").fetchone()
        return (0, EMPTY_ROOT) if row is None else (row[0], row[1])

    def leaf(self, index: int) -> tuple[bytes, bytes]:
        """``(data, leaf hash)`` of entry ``index``."""
        row = self.conn.execute(
            "SELECT data, leaf_hash FROM audit_leaf WHERE idx = ?", (index,)
        ).fetchone()
        if row is None:
            raise IndexError(index)
        return row[0], row[1]

    def _suffix_folds(self, size: int, edge: bytes) -> list[bytes]:
        """``out[j]`` = fold of right-edge subtrees ``j..``: the MTH of every right-hand
        remainder of the tree of ``size`` (cached for the last edge read)."""
        if self._suffix_key != (size, edge):
            hashes = [edge[i : i + HASH_SIZE] for i in range(0, len(edge), HASH_SIZE)]
            out = hashes[:]
            for j in range(len(hashes) - 2, -1, -1):
                out[j] = node_hash(hashes[j], out[j + 1])
            self._suffix_key, self._suffix = (size, edge), out
        return self._suffix

    def _hashes(
        self, ranges: Sequence[tuple[int, int]], size: int, extra: Sequence[tuple[int, int]] = ()
    ) -> list[bytes]:
        """MTH of each range (a complete subtree or a right-hand remainder ``[start, size)``,
        see ``clearance.domain.ledger.merkle``), then of each ``extra`` (level, index) node, all in
        one query: the tiles holding the complete subtrees, plus the tree row's right edge
        when a remainder is asked for and ``size`` is the stored size."""
        spots, remainders = locate(ranges)
        spots_extra = [tile_of(level, index) for level, index in extra]
        ids = sorted({spot[0] for spot in (*spots, *spots_extra) if spot is not None})
        sql = f"SELECT id, hashes FROM audit_tile WHERE id IN ({','.join('?' * len(ids))})"
        params: list[int] = ids
        if remainders:
            sql += " UNION ALL SELECT -1, frontier FROM audit_tree WHERE id = 0 AND size = ?"
            params = [*ids, size]
        tiles: dict[int, bytes] = dict(self.conn.execute(sql, params))
        self.tiles_read += len(ids)
        out: list[bytes] = []
        for (start, end), spot in zip(ranges, spots, strict=True):
            if spot is not None:
                t, o = spot
                out.append(tiles[t][o : o + HASH_SIZE])
            else:
                out.append(self._remainder(start, end, size, tiles.get(-1)))
        out.extend(tiles[t][o : o + HASH_SIZE] for t, o in spots_extra)
        return out

    def _remainder(self, start: int, end: int, size: int, edge: bytes | None) -> bytes:
        width = end - start
        low = width.bit_length()
        if edge is not None and end == size and size & ((1 << low) - 1) == width:
            return self._suffix_folds(size, edge)[(size >> low).bit_count()]
        # an older tree size (or not an edge suffix): fold its complete subtrees from tiles
        parts = complete_subtrees(start, end)
        return fold(self._hashes([(i << lv, (i + 1) << lv) for lv, i in parts], size))

    def hash_at(self, start: int, end: int) -> bytes:
        """``hash_at`` for :func:`clearance.domain.ledger.merkle.inclusion_proof` and friends."""
        return self._hashes([(start, end)], end)[0]

    def inclusion(self, index: int, size: int) -> tuple[bytes, list[bytes]]:
        """``(leaf hash, inclusion proof)`` of entry ``index`` in the tree of ``size``, from
        one query: about one tile per 8 levels (the path's siblings at levels 8L..8L+7
        are in tile ``(L, index >> (8L + 8))``, the leaf hash too; a sibling cut short by
        the tree's end may sit in the next tile), plus the tree row's right edge if a
        sibling is the right-hand remainder. The hot path of the read side, so
        :func:`~clearance.domain.ledger.merkle.inclusion_proof_ranges` is mapped to tiles inline.
        """
        if size > self.size_stored():
            raise ValueError(f"size {size} is beyond the log's stored size")
        leaf_tile = index >> TILE_HEIGHT
        spots: list[tuple[int, int] | None] = []  # (tile id, byte offset); None: remainder
        ids = {leaf_tile}
        for start, end in inclusion_proof_ranges(index, size):
            width = end - start
            if width & (width - 1):
                spots.append(None)
                remainder = (start, end)
                continue
            h = width.bit_length() - 1
            tl, r = h >> 3, h & 7
            tile_id = (tl << _ID_SHIFT) | (start >> (tl * TILE_HEIGHT + TILE_HEIGHT))
            spots.append((tile_id, _OFFSETS[r] + ((start >> h) & ((TILE_WIDTH >> r) - 1)) * 32))
            ids.add(tile_id)
        params = list(ids)
        sql = _TILE_QUERIES[len(params)]
        if None in spots:
            sql += " UNION ALL SELECT -1, frontier FROM audit_tree WHERE id = 0 AND size = ?"
            params.append(size)
        tiles = dict(self.conn.execute(sql, params))
        self.tiles_read += len(ids)
        proof = [
            tiles[spot[0]][spot[1] : spot[1] + HASH_SIZE]
            if spot is not None
            else self._remainder(*remainder, size, tiles.get(-1))
            for spot in spots
        ]
        o = (index & (TILE_WIDTH - 1)) * HASH_SIZE
        return tiles[leaf_tile][o : o + HASH_SIZE], proof

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        return self.inclusion(index, size)[1]

    def consistency_proof(self, size1: int, size2: int) -> list[bytes]:
        if size2 > self.size_stored():
            raise ValueError(f"size {size2} is beyond the log's stored size")
        ranges = consistency_proof_ranges(size1, size2)
        return self._hashes(ranges, size2) if ranges else []

    def size_stored(self) -> int:
        """The committed size as this connection last saw it (reads re-check the tree row)."""
        return self._frontier.size
