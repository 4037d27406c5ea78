"""Deconfliction against the database: the cells of every pending and cleared request's
volumes are rows (``AirspaceRepository``), written in the transaction that changes the
request, so every process on one database deconflicts against the same airspace.

``check`` covers the new request's volumes with cells (``domain.airspace.cells``), locks
them (check-and-commit is serialised per cell, across processes: the second of two
submissions that share a cell waits for the first to commit, then sees its cells), reads
the candidates (active requests with a volume in a shared cell and an overlapping
window) and runs the exact 4D check (``domain.airspace.deconfliction``) against their
volumes as stored. The new request's own cells are written by the repository when it is
added (``RequestRepository.add``), in the same transaction, before the locks are let go.

What stays in process is a cache of stored documents read into volumes, keyed by
(request id, version): a version is never reused for another document, and which
requests are candidates is read from the database every time, so the cache cannot
disagree with it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from datetime import datetime

from clearance.domain.airspace.deconfliction import Deconfliction, Priorities, deconflict
from clearance.domain.airspace.index import VolumeIndex
from clearance.domain.airspace.volumes import Volume4D
from clearance.domain.clearance.model import Request
from clearance.domain.clearance.requests import stored_airspace
from clearance.service.ports import Candidate, UnitOfWork, cells_of

CACHE_SIZE = 20_000  # stored documents read into volumes, most recently used kept


class Airspace:
    def __init__(self) -> None:
        # Serialises this process's grant revocations with its submissions (a submission
        # must not rely on a grant between a revocation's scan and its commit); the
        # database, not this lock, serialises conflicting submissions.
        self.lock = threading.RLock()
        self._read: OrderedDict[tuple[str, int], tuple[str, tuple[Volume4D, ...]]] = OrderedDict()
        self._read_lock = threading.Lock()

    def check(
        self,
        uow: UnitOfWork,
        request: Request,
        priorities: Priorities,
        own_id: str | None = None,
        *,
        lock: bool = True,
    ) -> Deconfliction:
        """Deconflict ``request`` with the priorities of the version it is evaluated against.
        With ``lock`` (a submission or amendment, not a dry run), the touched cells stay
        locked until ``uow`` ends, which must add or save the request before it commits."""
        touched = sorted(set().union(*(v.cells for v in cells_of(request.volumes).values())))
        if lock:
            uow.airspace.lock(touched)
        index, purposes = self.nearby(uow, request.volumes, touched, own_id)
        return deconflict(request, index, purposes.__getitem__, priorities, own_id)

    def nearby(
        self,
        uow: UnitOfWork,
        volumes: Sequence[Volume4D],
        cells: Sequence[int],
        own_id: str | None = None,
    ) -> tuple[VolumeIndex, dict[str, str]]:
        """The volumes of the candidates for ``volumes`` (covered by ``cells``), indexed,
        and their requests' purposes: what the exact check runs against."""
        start = min(v.time_start for v in volumes)
        end = max(v.time_end for v in volumes)
        return self.within(uow, cells, start, end, own_id)

    def within(
        self,
        uow: UnitOfWork,
        cells: Sequence[int],
        start: datetime,
        end: datetime,
        own_id: str | None = None,
    ) -> tuple[VolumeIndex, dict[str, str]]:
        """The volumes of the active requests with a volume in ``cells`` between
        ``start`` and ``end`` (not ``own_id``'s), indexed, and their purposes."""
        index = VolumeIndex()
        purposes: dict[str, str] = {}
        for candidate in uow.airspace.candidates(cells, start, end, own_id):
            purpose, stored = self._airspace_of(candidate)
            index.add_many(((candidate.request_id, i), v) for i, v in enumerate(stored))
            purposes[candidate.request_id] = purpose
        return index, purposes

    def _airspace_of(self, candidate: Candidate) -> tuple[str, tuple[Volume4D, ...]]:
        key = (candidate.request_id, candidate.version)
        with self._read_lock:
            found = self._read.get(key)
            if found is not None:
                self._read.move_to_end(key)
                return found
        found = stored_airspace(candidate.document)
        with self._read_lock:
            self._read[key] = found
            if len(self._read) > CACHE_SIZE:
                self._read.popitem(last=False)
        return found
