"""In-memory implementations of every port: the fakes for unit tests.

``MemoryStore`` holds committed state; each ``MemoryUnitOfWork`` works on a private copy
and publishes it on ``commit()``, so a rolled-back unit leaves no trace, as in a database.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from datetime import datetime

from clearance.domain.errors import ConflictError, NotFoundError
from clearance.domain.model import ApprovalStatus, Principal
from clearance.domain.workflow import Event, RequestRecord, RequestState
from clearance.service.ports import (
    GrantRepository,
    IdempotencyRepository,
    PrincipalRepository,
    RequestRepository,
    ScenarioRepository,
    UnitOfWork,
)


@dataclass
class MemoryStore:
    requests: dict[str, RequestRecord] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    principals: dict[str, tuple[Principal, str]] = field(default_factory=dict)
    idempotency: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    revoked: dict[str, datetime] = field(default_factory=dict)
    scenario: dict[str, bytes] | None = None


class MemoryRequests(RequestRepository):
    def __init__(self, store: MemoryStore) -> None:
        self.store = store

    def add(self, record: RequestRecord) -> None:
        if record.id in self.store.requests:
            raise ConflictError(f"request {record.id} exists")
        self._write(record)

    def get(self, request_id: str) -> RequestRecord | None:
        found = self.store.requests.get(request_id)
        return replace(copy.deepcopy(found), events=[]) if found else None

    def save(self, record: RequestRecord, expected_version: int) -> None:
        stored = self.store.requests.get(record.id)
        if stored is None or stored.version != expected_version:
            raise ConflictError(f"request {record.id} changed meanwhile; reload and retry")
        self._write(record)

    def _write(self, record: RequestRecord) -> None:
        self.store.events.extend(record.events)
        self.store.requests[record.id] = replace(copy.deepcopy(record), events=[])
        record.events = []

    def search(
        self,
        *,
        state: RequestState | None = None,
        operator: str | None = None,
        authority: str | None = None,
        limit: int = 100,
    ) -> list[RequestRecord]:
        found = [
            r
            for r in self.store.requests.values()
            if (state is None or r.state is state)
            and (operator is None or r.operator == operator)
            and (authority is None or any(a.authority == authority for a in r.approvals))
        ]
        found.sort(key=lambda r: (r.created_at, r.id), reverse=True)
        return [self.get(r.id) for r in found[:limit]]  # type: ignore[misc]

    def needing_review(self, authority: str) -> list[RequestRecord]:
        found = [
            r
            for r in self.store.requests.values()
            if r.state is RequestState.PENDING
            and any(
                a.authority == authority and a.status is ApprovalStatus.NEEDS_REVIEW
                for a in r.approvals
            )
        ]
        found.sort(key=lambda r: (r.created_at, r.id))
        return [self.get(r.id) for r in found]  # type: ignore[misc]

    def open_for_operator(self, operator: str) -> list[RequestRecord]:
        return [
            self.get(r.id)  # type: ignore[misc]
            for r in self.store.requests.values()
            if r.operator == operator and r.state in (RequestState.PENDING, RequestState.CLEARED)
        ]

    def due_for_expiry(self, now: datetime) -> list[RequestRecord]:
        return [
            self.get(r.id)  # type: ignore[misc]
            for r in self.store.requests.values()
            if r.state is RequestState.PENDING and r.time_start <= now
        ]

    def events(self, request_id: str) -> list[Event]:
        return [e for e in self.store.events if e.request_id == request_id]


class MemoryPrincipals(PrincipalRepository):
    def __init__(self, store: MemoryStore) -> None:
        self.store = store

    def add(self, principal: Principal, token_hash: str) -> None:
        if principal.name in self.store.principals:
            raise ConflictError(f"principal {principal.name!r} exists")
        self.store.principals[principal.name] = (principal, token_hash)

    def set_token(self, name: str, token_hash: str) -> None:
        if name not in self.store.principals:
            raise NotFoundError(f"no principal named {name!r}")
        principal, _ = self.store.principals[name]
        self.store.principals[name] = (principal, token_hash)

    def get(self, name: str) -> Principal | None:
        found = self.store.principals.get(name)
        return found[0] if found else None

    def by_token(self, token_hash: str) -> Principal | None:
        for principal, digest in self.store.principals.values():
            if digest == token_hash:
                return principal
        return None


class MemoryIdempotency(IdempotencyRepository):
    def __init__(self, store: MemoryStore) -> None:
        self.store = store

    def find(self, principal: str, key: str) -> tuple[str, str] | None:
        return self.store.idempotency.get((principal, key))

    def remember(self, principal: str, key: str, digest: str, request_id: str) -> None:
        if (principal, key) in self.store.idempotency:
            raise ConflictError("this Idempotency-Key is being used by another request")
        self.store.idempotency[(principal, key)] = (request_id, digest)


class MemoryGrants(GrantRepository):
    def __init__(self, store: MemoryStore) -> None:
        self.store = store

    def revoked(self) -> dict[str, datetime]:
        return dict(self.store.revoked)

    def revoke(self, grant: str, by: str, at: datetime) -> None:
        if grant in self.store.revoked:
            raise ConflictError(f"grant {grant} was already revoked")
        self.store.revoked[grant] = at


class MemoryScenarios(ScenarioRepository):
    def __init__(self, store: MemoryStore) -> None:
        self.store = store

    def save(self, files: dict[str, bytes], at: datetime) -> None:
        self.store.scenario = dict(files)

    def load(self) -> dict[str, bytes] | None:
        return self.store.scenario


class MemoryUnitOfWork(UnitOfWork):
    def __init__(self, store: MemoryStore) -> None:
        self.shared = store
        self.committed = False

    def __enter__(self) -> MemoryUnitOfWork:
        self._bind()
        return self

    def _bind(self) -> None:
        self.work = copy.deepcopy(self.shared)
        self.requests = MemoryRequests(self.work)
        self.principals = MemoryPrincipals(self.work)
        self.idempotency = MemoryIdempotency(self.work)
        self.grants = MemoryGrants(self.work)
        self.scenarios = MemoryScenarios(self.work)

    def commit(self) -> None:
        for name in vars(self.work):
            setattr(self.shared, name, getattr(self.work, name))
        self.committed = True
        self._bind()

    def rollback(self) -> None:
        self._bind()
