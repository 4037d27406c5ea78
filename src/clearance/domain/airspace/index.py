"""An in-process spatio-temporal index of many volumes, for strategic deconfliction.

``VolumeIndex`` holds volumes keyed by ``(request id, volume index)`` and answers "which
indexed volumes conflict with this one?" without scanning them all:

1. **space**: shapely 2 ``STRtree``s over each volume's padded (lng, lat) bounding box
   (``geotemporal.Shape.box``; each box is stored as its diagonal, a two-point
   linestring, which has the same envelope in less memory than a box polygon);
2. **time and altitude**: the few boxes that meet the query's are filtered with numpy
   over per-volume arrays (start, end in microseconds; lower, upper in metres), with the
   same rules as ``volumes_conflict``;
3. **exact**: ``conflicts`` runs ``volumes_conflict`` on what is left.

Adds go to a small "recent" buffer that queries scan with numpy; when it holds
``RECENT_LIMIT`` (1,024) volumes it becomes a tree of its own, and trees of similar
size are merged (the logarithmic method of Bentley and Saxe), so at most about
``log2(n / 1024)`` trees exist and a query costs O(log^2 n + k) (O(log n + k) after a
bulk build, which makes one tree). Each volume is rebuilt into a bigger tree
O(log(n / 1024)) times, so an add costs O(log n) amortised tree building (about 1.3 us
per volume per rebuild), though the one add that completes a merge pays for the whole
merge. Measured (bench/deconfliction.py): ~50 us per ``add`` on average, 10,000 adds
into an index of 10^6, most of it the per-call cost of numpy on one volume.
``add_many`` computes every array vectorised and builds one tree. ``remove_request``
marks slots dead (queries skip them); when dead slots outnumber live ones, everything
is compacted into one tree.

Not thread-safe: one writer, or callers lock.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import numpy.typing as npt
import shapely

from clearance.domain.airspace.geotemporal import (
    circle_boxes,
    micros,
    polygon_boxes,
    shape_of,
    volumes_conflict,
)
from clearance.domain.airspace.volumes import Circle, Volume4D

Key = tuple[str, int]
"""(request id, index of the volume within the request)."""

RECENT_LIMIT = 1024

_T = TypeVar("_T", bound=np.generic)
Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class VolumeFacts:
    """Arrays describing volumes for the index: boxes (n, 4), times (us), altitudes."""

    box: Floats
    t0: Ints
    t1: Ints
    lower: Floats
    upper: Floats


def volume_facts(volumes: Sequence[Volume4D]) -> VolumeFacts:
    """The index's arrays for ``volumes``, with the geodesic work vectorised."""
    n = len(volumes)
    box = np.empty((n, 4))
    is_circle = np.fromiter((isinstance(v.outline, Circle) for v in volumes), bool, n)
    circles = [v.outline for v in volumes if isinstance(v.outline, Circle)]
    if circles:
        box[is_circle] = circle_boxes(
            np.fromiter((c.center.lng for c in circles), float, len(circles)),
            np.fromiter((c.center.lat for c in circles), float, len(circles)),
            np.fromiter((c.radius_m for c in circles), float, len(circles)),
        )
    polygons = [v.outline.vertices for v in volumes if not isinstance(v.outline, Circle)]
    if polygons:
        sizes = np.fromiter((len(p) for p in polygons), np.intp, len(polygons))
        starts = np.cumsum(sizes) - sizes
        lngs = np.fromiter((x.lng for p in polygons for x in p), float, int(sizes.sum()))
        lats = np.fromiter((x.lat for p in polygons for x in p), float, int(sizes.sum()))
        box[~is_circle] = polygon_boxes(lngs, lats, starts)
    return VolumeFacts(
        box,
        np.fromiter((micros(v.time_start) for v in volumes), np.int64, n),
        np.fromiter((micros(v.time_end) for v in volumes), np.int64, n),
        np.fromiter((v.altitude_lower_m for v in volumes), float, n),
        np.fromiter((v.altitude_upper_m for v in volumes), float, n),
    )


@dataclass(frozen=True, slots=True, eq=False)
class _Tree:
    tree: shapely.STRtree
    slots: Ints


class VolumeIndex:
    """Volumes keyed by (request id, volume index); finds conflicts without a scan.

    >>> index = VolumeIndex()
    >>> index.add(("r1", 0), volume)                       # doctest: +SKIP
    >>> index.conflicts(other, exclude_request="r2")       # doctest: +SKIP
    [('r1', 0)]
    """

    def __init__(self) -> None:
        self._volumes: list[Volume4D] = []
        self._request: list[str] = []
        self._vindex: list[int] = []
        self._box = np.empty((0, 4))
        self._t0: Ints = np.empty(0, np.int64)
        self._t1: Ints = np.empty(0, np.int64)
        self._lower: Floats = np.empty(0)
        self._upper: Floats = np.empty(0)
        self._alive = np.empty(0, bool)
        self._size = 0  # slots used (live or dead)
        self._live = 0
        self._by_request: dict[str, list[int]] = {}
        self._trees: list[_Tree] = []
        self._recent: list[int] = []

    def __len__(self) -> int:
        return self._live

    # -- writes -----------------------------------------------------------------
    def add(self, key: Key, volume: Volume4D) -> None:
        """Index one volume; a key already present raises ``ValueError``."""
        self._append([key], [volume], volume_facts([volume]))
        self._recent.append(self._size - 1)
        if len(self._recent) >= RECENT_LIMIT:
            self._push_tree(np.array(self._recent, dtype=np.int64))
            self._recent = []

    def add_many(self, items: Iterable[tuple[Key, Volume4D]]) -> None:
        """Index many volumes at once: arrays computed vectorised, one tree built."""
        pairs = list(items)
        if not pairs:
            return
        keys = [k for k, _ in pairs]
        volumes = [v for _, v in pairs]
        first = self._size
        self._append(keys, volumes, volume_facts(volumes))
        self._push_tree(np.arange(first, self._size, dtype=np.int64))

    def remove_request(self, request_id: str) -> int:
        """Drop every volume of ``request_id``; returns how many were indexed."""
        slots = self._by_request.pop(request_id, [])
        if not slots:
            return 0
        self._alive[slots] = False
        self._live -= len(slots)
        dead = self._size - self._live
        if dead > RECENT_LIMIT and dead > self._live:
            self._compact()
        return len(slots)

    # -- reads ------------------------------------------------------------------
    def candidates(self, volume: Volume4D) -> list[Key]:
        """Live volumes whose box meets ``volume``'s and whose time window and altitude
        band overlap it by ``volumes_conflict``'s rules: a superset of the conflicts."""
        return [self._key(s) for s in self._candidate_slots(volume)]

    def conflicts(self, volume: Volume4D, exclude_request: str | None = None) -> list[Key]:
        """Keys of indexed volumes that conflict with ``volume`` (``volumes_conflict``),
        leaving out those of ``exclude_request``; in slot order (oldest first)."""
        out = []
        for s in self._candidate_slots(volume):
            if exclude_request is not None and self._request[s] == exclude_request:
                continue
            if volumes_conflict(volume, self._volumes[s]):
                out.append(self._key(s))
        return out

    def conflicting(
        self, volume: Volume4D, exclude_request: str | None = None
    ) -> list[tuple[Key, Volume4D]]:
        """``conflicts`` with each indexed volume met (what alternatives state as a hold)."""
        out = []
        for s in self._candidate_slots(volume):
            if exclude_request is not None and self._request[s] == exclude_request:
                continue
            if volumes_conflict(volume, self._volumes[s]):
                out.append((self._key(s), self._volumes[s]))
        return out

    # -- internals --------------------------------------------------------------
    def _key(self, slot: int) -> Key:
        return (self._request[slot], self._vindex[slot])

    def _candidate_slots(self, volume: Volume4D) -> list[int]:
        box = shape_of(volume).box
        t0, t1 = micros(volume.time_start), micros(volume.time_end)
        lo, hi = volume.altitude_lower_m, volume.altitude_upper_m
        query = shapely.box(*box)
        found = [t.slots[t.tree.query(query)] for t in self._trees]
        if self._recent:
            recent = np.array(self._recent, dtype=np.int64)
            b = self._box[recent]
            near = (b[:, 0] <= box[2]) & (box[0] <= b[:, 2])
            near &= (b[:, 1] <= box[3]) & (box[1] <= b[:, 3])
            found.append(recent[near])
        if not found:
            return []
        slots = np.concatenate(found)
        slots = slots[self._alive[slots]]
        slots = slots[(self._t0[slots] < t1) & (t0 < self._t1[slots])]
        lower, upper = self._lower[slots], self._upper[slots]
        ok = np.maximum(lower, lo) < np.minimum(upper, hi)
        if lo == hi:
            ok |= (lower <= lo) & (lo <= upper)
        ok |= (lower == upper) & (lo <= lower) & (lower <= hi)
        return sorted(slots[ok].tolist())

    def _append(self, keys: list[Key], volumes: list[Volume4D], facts: VolumeFacts) -> None:
        n = len(keys)
        if len(set(keys)) != n or any(
            self._vindex[s] == vindex
            for request_id, vindex in keys
            for s in self._by_request.get(request_id, ())
        ):
            raise ValueError("a key is given twice or is already indexed")
        for i, (request_id, _) in enumerate(keys):
            self._by_request.setdefault(request_id, []).append(self._size + i)
        self._reserve(self._size + n)
        at = slice(self._size, self._size + n)
        self._box[at] = facts.box
        self._t0[at], self._t1[at] = facts.t0, facts.t1
        self._lower[at], self._upper[at] = facts.lower, facts.upper
        self._alive[at] = True
        self._volumes.extend(volumes)
        self._request.extend(k[0] for k in keys)
        self._vindex.extend(k[1] for k in keys)
        self._size += n
        self._live += n

    def _reserve(self, needed: int) -> None:
        capacity = len(self._alive)
        if needed <= capacity:
            return
        new = max(needed, 2 * capacity, 1024)
        self._box = _grown(self._box, new)
        self._t0, self._t1 = _grown(self._t0, new), _grown(self._t1, new)
        self._lower, self._upper = _grown(self._lower, new), _grown(self._upper, new)
        self._alive = _grown(self._alive, new)

    def _push_tree(self, slots: Ints) -> None:
        """Add a tree over ``slots``, merging trees of similar size (Bentley-Saxe)."""
        self._trees.append(self._build(slots))
        while len(self._trees) >= 2 and len(self._trees[-2].slots) < 2 * len(self._trees[-1].slots):
            small, big = self._trees.pop(), self._trees.pop()
            self._trees.append(self._build(np.concatenate([big.slots, small.slots])))

    def _build(self, slots: Ints) -> _Tree:
        slots = slots[self._alive[slots]]
        b = self._box[slots]
        diagonals = shapely.linestrings(
            np.stack([b[:, [0, 1]], b[:, [2, 3]]], axis=1).reshape(-1, 2, 2)
        )
        return _Tree(shapely.STRtree(diagonals), slots)

    def _compact(self) -> None:
        keep = np.flatnonzero(self._alive[: self._size])
        renumber = np.full(self._size, -1, dtype=np.int64)
        renumber[keep] = np.arange(len(keep))
        recent = [int(renumber[s]) for s in self._recent if renumber[s] >= 0]
        in_trees = np.ones(len(keep), bool)
        in_trees[recent] = False
        self._volumes = [self._volumes[s] for s in keep]
        self._request = [self._request[s] for s in keep]
        self._vindex = [self._vindex[s] for s in keep]
        self._box = self._box[keep]
        self._t0, self._t1 = self._t0[keep], self._t1[keep]
        self._lower, self._upper = self._lower[keep], self._upper[keep]
        self._alive = np.ones(len(keep), bool)
        self._by_request = {
            r: [int(renumber[s]) for s in slots] for r, slots in self._by_request.items()
        }
        self._size = self._live = len(keep)
        self._recent = recent
        self._trees = []
        if in_trees.any():
            self._trees.append(self._build(np.flatnonzero(in_trees).astype(np.int64)))


def _grown(array: npt.NDArray[_T], size: int) -> npt.NDArray[_T]:
    out = np.zeros((size, *array.shape[1:]), dtype=array.dtype)
    out[: len(array)] = array
    return out
