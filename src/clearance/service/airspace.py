"""The volumes of every pending and cleared request, indexed in process for deconfliction.

Loaded from the database on first use and updated after every commit that changes a
request (this process's own commits: several API processes on one PostgreSQL would each
need the others' changes, which is what PostGIS or a shared index is for). ``lock``
serialises check-and-commit, so two conflicting submissions cannot both pass.
"""

from __future__ import annotations

import threading

from clearance.domain.airspace.deconfliction import Deconfliction, Priorities, deconflict
from clearance.domain.airspace.index import VolumeIndex
from clearance.domain.clearance.model import Request
from clearance.domain.clearance.requests import stored_airspace
from clearance.domain.clearance.workflow import RequestRecord, RequestState
from clearance.service.ports import UnitOfWork

ACTIVE = (RequestState.PENDING, RequestState.CLEARED)


class Airspace:
    def __init__(self) -> None:
        self.index = VolumeIndex()
        self.purposes: dict[str, str] = {}
        self.lock = threading.RLock()
        self.loaded = False

    def load(self, uow: UnitOfWork) -> None:
        if self.loaded:
            return
        for state in ACTIVE:
            for record in uow.requests.search(state=state, limit=10**9):
                self.update(record)
        self.loaded = True

    def check(
        self, request: Request, priorities: Priorities, own_id: str | None = None
    ) -> Deconfliction:
        """Deconflict ``request`` with the priorities of the version it is evaluated against."""
        return deconflict(request, self.index, self.purposes.__getitem__, priorities, own_id)

    def update(self, record: RequestRecord, request: Request | None = None) -> None:
        """Index ``record`` as it now stands (removed unless pending or cleared)."""
        self.index.remove_request(record.id)
        self.purposes.pop(record.id, None)
        if record.state not in ACTIVE:
            return
        if request is not None:
            purpose, volumes = request.purpose, request.volumes
        else:
            purpose, volumes = stored_airspace(record.document)
        self.index.add_many(((record.id, i), v) for i, v in enumerate(volumes))
        self.purposes[record.id] = purpose

    def settle(self, record: RequestRecord) -> None:
        """After a change that cannot add volumes: drop the request once it is no longer
        pending or cleared (denied, withdrawn, expired)."""
        if record.state not in ACTIVE:
            with self.lock:
                self.index.remove_request(record.id)
                self.purposes.pop(record.id, None)
