"""In-memory implementations of every port: the fakes for unit tests.

``MemoryStore`` holds committed state; each ``MemoryUnitOfWork`` works on a private copy
and publishes it on ``commit()``, so a rolled-back unit leaves no trace, as in a database.
"""

from __future__ import annotations

import copy
from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from clearance.domain.clearance.model import ApprovalStatus, Principal
from clearance.domain.clearance.overview import ChainTimes
from clearance.domain.clearance.workflow import (
    Event,
    RequestRecord,
    RequestState,
)
from clearance.domain.errors import ConflictError, NotFoundError
from clearance.domain.ledger import audit, merkle
from clearance.domain.ledger.disclosure import Disclosure
from clearance.domain.ledger.members import MemberStatement
from clearance.domain.ledger.signatures import instant
from clearance.domain.ledger.witness import with_cosignatures
from clearance.service.memory_webhooks import MemoryWebhooks, WebhookStore
from clearance.service.ports import (
    ACTIVE,
    AirspaceRepository,
    AuditRepository,
    Candidate,
    GrantRepository,
    IdempotencyRepository,
    MemberKey,
    MemberKeyRepository,
    PrincipalRecord,
    PrincipalRepository,
    RequestRepository,
    ScenarioRepository,
    StoredCheckpoint,
    StoredEntry,
    StoredRequest,
    TreeHead,
    UnitOfWork,
    VolumeCells,
)


@dataclass
class MemoryStore:
    requests: dict[str, RequestRecord] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    principals: dict[str, tuple[PrincipalRecord, str]] = field(default_factory=dict)
    idempotency: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    revoked: dict[str, datetime] = field(default_factory=dict)
    scenario_versions: dict[str, dict[str, bytes]] = field(default_factory=dict)
    scenario_loads: list[str] = field(default_factory=list)
    scenario_loaded_at: list[datetime] = field(default_factory=list)  # wall-clock
    member_keys: list[MemberKey] = field(default_factory=list)
    audit: list[StoredEntry] = field(default_factory=list)
    # commitment -> (request id, disclosure object)
    disclosures: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    checkpoints: list[StoredCheckpoint] = field(default_factory=list)
    cells: dict[str, dict[int, VolumeCells]] = field(default_factory=dict)
    webhooks: WebhookStore = field(default_factory=WebhookStore)


class MemoryRequests(RequestRepository):
    def __init__(self, store: MemoryStore, log: AuditRepository) -> None:
        super().__init__(log)
        self.store = store

    def _add(self, record: RequestRecord) -> None:
        if record.id in self.store.requests:
            raise ConflictError(f"request {record.id} exists")
        self._write(record)

    def get(self, request_id: str) -> RequestRecord | None:
        found = self.store.requests.get(request_id)
        return replace(copy.deepcopy(found), events=[]) if found else None

    def _save(self, record: RequestRecord, expected_version: int) -> None:
        stored = self.store.requests.get(record.id)
        if stored is None or stored.version != expected_version:
            raise ConflictError(f"request {record.id} changed meanwhile; reload and retry")
        self._write(record)

    def _write(self, record: RequestRecord) -> None:
        self.store.events.extend(record.events)
        self.store.requests[record.id] = replace(copy.deepcopy(record), events=[])

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

    def chain_times(
        self, *, operator: str | None = None, authority: str | None = None, limit: int = 100
    ) -> list[ChainTimes]:
        return [
            ChainTimes.of(r)
            for r in self.search(operator=operator, authority=authority, limit=limit)
        ]

    def chain_times_of(self, authorities: Sequence[str], limit: int) -> list[ChainTimes]:
        found: dict[str, ChainTimes] = {}
        for authority in authorities:
            found.update((c.id, c) for c in self.chain_times(authority=authority, limit=limit))
        return sorted(found.values(), key=lambda c: (c.created_at, c.id), reverse=True)

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

    def decided_by_hand(
        self, authority: str, since: datetime, until: datetime, limit: int
    ) -> list[RequestRecord]:
        hand = (ApprovalStatus.APPROVED, ApprovalStatus.DENIED)
        found = [
            r
            for r in self.store.requests.values()
            if any(
                a.authority == authority
                and a.status in hand
                and a.by is not None
                and a.at is not None
                and since <= a.at < until
                for a in r.approvals
            )
        ]
        found.sort(key=lambda r: (r.created_at, r.id), reverse=True)
        return [self.get(r.id) for r in found[:limit]]  # type: ignore[misc]

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
    def __init__(self, store: MemoryStore, log: AuditRepository) -> None:
        super().__init__(log)
        self.store = store

    def _add(self, principal: Principal, token_hash: str, at: datetime | None) -> None:
        if principal.name in self.store.principals:
            raise ConflictError(f"principal {principal.name!r} exists")
        self.store.principals[principal.name] = (PrincipalRecord(principal, at, None), token_hash)

    def set_token(self, name: str, token_hash: str) -> None:
        found = self.store.principals.get(name)
        if found is None or found[0].revoked_at is not None:
            raise NotFoundError(f"no principal named {name!r} (or it was revoked)")
        self.store.principals[name] = (found[0], token_hash)

    def get(self, name: str) -> Principal | None:
        found = self.store.principals.get(name)
        return found[0].principal if found and found[0].revoked_at is None else None

    def by_token(self, token_hash: str) -> Principal | None:
        for record, digest in self.store.principals.values():
            if digest == token_hash and record.revoked_at is None:
                return record.principal
        return None

    def record(self, name: str) -> PrincipalRecord | None:
        found = self.store.principals.get(name)
        return found[0] if found else None

    def records(self) -> list[PrincipalRecord]:
        return [self.store.principals[name][0] for name in sorted(self.store.principals)]

    def _revoke(self, name: str, at: datetime) -> None:
        found = self.store.principals.get(name)
        if found is None:
            raise NotFoundError(f"no principal named {name!r}")
        if found[0].revoked_at is not None:
            raise ConflictError(
                f"principal {name!r} was already revoked at {instant(found[0].revoked_at)}"
            )
        self.store.principals[name] = (replace(found[0], revoked_at=at), found[1])


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
    def __init__(self, store: MemoryStore, log: AuditRepository) -> None:
        super().__init__(log)
        self.store = store

    def revoked(self) -> dict[str, datetime]:
        return dict(self.store.revoked)

    def hold(self) -> None:
        """One process's memory: its own lock already serialises revocations."""

    def _revoke(self, grant: str, by: str, at: datetime) -> None:
        if grant in self.store.revoked:
            raise ConflictError(f"grant {grant} was already revoked")
        self.store.revoked[grant] = at


class MemoryMemberKeys(MemberKeyRepository):
    def __init__(self, store: MemoryStore, log: AuditRepository) -> None:
        super().__init__(log)
        self.store = store

    def _enroll(self, statement: MemberStatement) -> None:
        keys = self.store.member_keys
        if any(k.public_key == statement.public_key for k in keys) or self.active(
            statement.authority, statement.member
        ):
            raise ConflictError(
                f"{statement.member} of {statement.authority} has an enrolled key already, "
                "or this key was enrolled before"
            )
        keys.append(
            MemberKey(statement.authority, statement.member, statement.public_key, statement.at)
        )

    def _revoke(self, statement: MemberStatement) -> None:
        keys = self.store.member_keys
        for i, k in enumerate(keys):
            if (k.authority, k.member, k.public_key) == (
                statement.authority,
                statement.member,
                statement.public_key,
            ) and k.revoked_at is None:
                keys[i] = replace(k, revoked_at=statement.at)
                return
        raise NotFoundError(
            f"{statement.member} of {statement.authority} has no enrolled key like this one"
        )

    def active(self, authority: str, member: str) -> bytes | None:
        for k in self.store.member_keys:
            if (k.authority, k.member, k.revoked_at) == (authority, member, None):
                return k.public_key
        return None

    def records(self) -> list[MemberKey]:
        return sorted(self.store.member_keys, key=lambda k: (k.authority, k.member))


class MemoryScenarios(ScenarioRepository):
    def __init__(self, store: MemoryStore, log: AuditRepository) -> None:
        super().__init__(log)
        self.store = store

    def _save(self, version: str, files: dict[str, bytes], at: datetime) -> None:
        self.store.scenario_versions.setdefault(version, dict(files))
        self.store.scenario_loads.append(version)
        self.store.scenario_loaded_at.append(at)  # a fake: the service's time stands in

    def current(self) -> str | None:
        return self.store.scenario_loads[-1] if self.store.scenario_loads else None

    def made_current_at(self) -> datetime | None:
        return self.store.scenario_loaded_at[-1] if self.store.scenario_loaded_at else None

    def files(self, version: str) -> dict[str, bytes] | None:
        found = self.store.scenario_versions.get(version)
        return dict(found) if found is not None else None


class MemoryAirspace(AirspaceRepository):
    """Cells by request; one unit of work at a time, so ``lock`` has nothing to do."""

    def __init__(self, store: MemoryStore) -> None:
        self.store = store

    def lock(self, cells: Sequence[int]) -> None:
        pass

    def candidates(
        self, cells: Sequence[int], time_start: datetime, time_end: datetime, exclude: str | None
    ) -> list[Candidate]:
        wanted = set(cells)
        out = []
        for request_id, volumes in sorted(self.store.cells.items()):
            record = self.store.requests.get(request_id)
            if request_id == exclude or record is None or record.state not in ACTIVE:
                continue
            if any(
                v.cells & wanted and v.time_start <= time_end and time_start <= v.time_end
                for v in volumes.values()
            ):
                out.append(Candidate(request_id, record.version, record.document))
        return out

    def index(
        self, request_id: str, volumes: Mapping[int, VolumeCells], *, new: bool = False
    ) -> None:
        self.store.cells[request_id] = dict(volumes)

    def drop(self, request_id: str) -> None:
        self.store.cells.pop(request_id, None)


class MemoryUnitOfWork(UnitOfWork):
    def __init__(self, store: MemoryStore) -> None:
        self.shared = store
        self.committed = False

    def __enter__(self) -> MemoryUnitOfWork:
        self._bind()
        return self

    def _bind(self) -> None:
        self.work = copy.deepcopy(self.shared)
        self.audit = MemoryAudit(self.work)
        self.airspace = MemoryAirspace(self.work)
        self.requests = MemoryRequests(self.work, self.audit)
        self.requests.airspace = self.airspace
        self.principals = MemoryPrincipals(self.work, self.audit)
        self.idempotency = MemoryIdempotency(self.work)
        self.grants = MemoryGrants(self.work, self.audit)
        self.scenarios = MemoryScenarios(self.work, self.audit)
        self.member_keys = MemoryMemberKeys(self.work, self.audit)
        self.webhooks = MemoryWebhooks(self.work.webhooks)

    def commit(self) -> None:
        for name in vars(self.work):
            setattr(self.shared, name, getattr(self.work, name))
        self.committed = True
        self._bind()

    def rollback(self) -> None:
        self._bind()


# -- the audit log ---------------------------------------------------------------------------


class MemoryAudit(AuditRepository):
    """The log as a list; proofs computed from all the leaf hashes (fine for tests)."""

    def __init__(self, store: MemoryStore) -> None:
        self.store = store

    def append_many(self, entries: Sequence[tuple[str, Mapping[str, Any], str | None]]) -> None:
        for kind, fields, request_id in entries:
            data = audit.entry_data(kind, fields)
            about = audit.request_of(fields, request_id)
            seq = len(self.store.audit) + 1
            self.store.audit.append(
                StoredEntry(seq, None, kind, about, data, merkle.leaf_hash(data))
            )

    def add_disclosures(self, request_id: str, disclosures: Sequence[Disclosure]) -> None:
        for d in disclosures:
            self.store.disclosures[d.commitment] = (request_id, copy.deepcopy(d.to_json()))

    def disclosures(self, commitments: Sequence[str]) -> dict[str, dict[str, Any]]:
        found = self.store.disclosures
        return {c: copy.deepcopy(found[c][1]) for c in commitments if c in found}

    def request_disclosures(self, request_id: str) -> list[dict[str, Any]]:
        return [
            copy.deepcopy(d)
            for c, (rid, d) in sorted(self.store.disclosures.items())
            if rid == request_id
        ]

    def recorded_keys(self) -> dict[tuple[str, str], bytes]:
        ring = audit.KeyRing()
        for e in sorted(self.store.audit, key=_log_order):
            if e.kind == audit.KEY:
                ring.learn(audit.parse_entry(e.data))
        return ring.keys

    def _integrated(self) -> list[StoredEntry]:
        found = [e for e in self.store.audit if e.index is not None]
        return sorted(found, key=lambda e: e.index or 0)

    def has_pending(self) -> bool:
        return any(e.index is None for e in self.store.audit)

    def integrate(self, limit: int) -> tuple[TreeHead, int]:
        size = len(self._integrated())
        done = 0
        for i, e in enumerate(self.store.audit):
            if e.index is None and done < limit:
                self.store.audit[i] = replace(e, index=size + done)
                done += 1
        return self.head(), done

    def _leaves(self) -> list[bytes]:
        return [e.leaf_hash for e in self._integrated()]

    def head(self) -> TreeHead:
        leaves = self._leaves()
        return TreeHead(len(leaves), merkle.root_hash(leaves))

    def add_checkpoint(self, checkpoint: StoredCheckpoint) -> None:
        self.store.checkpoints.append(checkpoint)

    def latest_checkpoint(self) -> StoredCheckpoint | None:
        return max(self.store.checkpoints, key=lambda c: c.size, default=None)

    def add_cosignatures(self, size: int, lines: Sequence[str]) -> StoredCheckpoint:
        for i, c in enumerate(self.store.checkpoints):
            if c.size == size:
                updated = replace(c, note=with_cosignatures(c.note, lines))
                self.store.checkpoints[i] = updated
                return updated
        raise NotFoundError(f"no checkpoint of size {size}")

    def checkpoints(self) -> list[StoredCheckpoint]:
        return sorted(self.store.checkpoints, key=lambda c: c.size)

    def entry(self, index: int) -> StoredEntry | None:
        return next((e for e in self.store.audit if e.index == index), None)

    def entries(self, start: int, limit: int) -> list[StoredEntry]:
        return [e for e in self._integrated() if (e.index or 0) >= start][:limit]

    def request_entries(self, request_id: str, limit: int) -> list[StoredEntry]:
        return [e for e in self._integrated() if e.request_id == request_id][:limit]

    def entries_of_kinds(self, kinds: Sequence[str], below: int) -> list[StoredEntry]:
        return [e for e in self._integrated() if e.kind in kinds and (e.index or 0) < below]

    def pending(self, after_seq: int, limit: int) -> list[StoredEntry]:
        return [e for e in self.store.audit if e.index is None and e.seq > after_seq][:limit]

    def inclusion_proof(self, index: int, size: int) -> tuple[bytes, list[bytes]]:
        leaves = self._leaves()[:size]
        return leaves[index], merkle.inclusion_proof_for(index, leaves)

    def consistency_proof(self, size1: int, size2: int) -> list[bytes]:
        return merkle.consistency_proof_for(size1, size2, self._leaves())

    def tree_leaves(self, start: int, end: int) -> list[bytes]:
        return self._leaves()[start:end]

    def root(self, size: int) -> bytes:
        return merkle.root_hash(self._leaves()[:size])

    def request_events(self) -> list[tuple[str, int, str]]:
        return [(e.request_id, e.version, e.kind) for e in self.store.events]

    def request_records(self) -> Generator[StoredRequest]:
        for request_id in sorted(self.store.requests):
            yield StoredRequest(request_id, copy.deepcopy(self.store.requests[request_id]))


def _log_order(e: StoredEntry) -> tuple[int, int]:
    return (0, e.index) if e.index is not None else (1, e.seq)
