"""The ports the use cases need: a unit of work over repositories, and a clock.

Each port has an in-memory implementation in ``service.memory`` (used by unit tests)
and a SQLAlchemy one in ``adapters.sql``. Contracts:

- ``UnitOfWork`` is a context manager; leaving it without ``commit()`` rolls back. One
  unit of work is one database transaction: a state change and its events commit
  together or not at all.
- ``RequestRepository.save(record, expected_version)`` writes the record and its new
  ``events`` only if the stored version is still ``expected_version``; otherwise it
  raises ``ConflictError``. Records come back from ``get`` with an empty ``events`` list.
- ``IdempotencyRepository.remember`` raises ``ConflictError`` when the key is taken.
- Every change is logged here, once: the repositories' public methods that change state
  (``add``, ``save``, ``revoke``...) are template methods of these base classes, which call
  the adapter's storage method (``_add``, ``_save``, ``_revoke``...) and then append the
  change's audit-log entries (built by ``domain.ledger.audit`` from the record's events
  and the other changes) through ``AuditRepository`` in the same transaction. Adapters
  and fakes store; they never build or write an entry themselves.
- ``integrate`` gives the committed, not yet integrated entries their log indexes (see
  ``service.audit``).
- Deconfliction's truth is ``AirspaceRepository``'s cells, kept in the same transaction as
  the requests: ``RequestRepository.add``/``save`` (template methods again) index a
  request's cells when it is submitted or amended into pending or cleared, and drop them
  when it leaves those states, so no use case can forget to.
"""

from __future__ import annotations

import abc
from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any

from clearance.domain.airspace.cells import request_cells
from clearance.domain.airspace.volumes import Volume4D
from clearance.domain.clearance.model import Principal
from clearance.domain.clearance.overview import ChainTimes
from clearance.domain.clearance.requests import stored_airspace
from clearance.domain.clearance.workflow import Event, RequestRecord, RequestState
from clearance.domain.documents import instant
from clearance.domain.ledger import audit
from clearance.domain.ledger.disclosure import Disclosure
from clearance.domain.ledger.members import MemberStatement
from clearance.service.outbox import WebhookRepository


class Logged:
    """A repository whose changes are logged: ``log`` is the unit of work's audit log."""

    def __init__(self, log: AuditRepository) -> None:
        self.log = log


ACTIVE = (RequestState.PENDING, RequestState.CLEARED)
"""The states whose volumes take airspace (deconfliction's candidates)."""

_NEW_VOLUMES = frozenset({"submitted", "amended"})


@dataclass(frozen=True, slots=True)
class VolumeCells:
    """One volume's cells (``domain.airspace.cells``) and time window, as indexed."""

    cells: frozenset[int]
    time_start: datetime
    time_end: datetime


@dataclass(frozen=True, slots=True)
class Candidate:
    """An active request with a volume in a shared cell and an overlapping time window:
    its document as stored at ``version`` (what deconfliction reads of it)."""

    request_id: str
    version: int
    document: Any


class AirspaceRepository(abc.ABC):
    """The cells of every pending and cleared request's volumes, and one lock row per cell
    ever touched: check-and-commit is serialised per cell, across processes."""

    @abc.abstractmethod
    def lock(self, cells: Sequence[int]) -> None:
        """Hold ``cells``' lock rows until the unit of work ends, creating the missing
        ones, taken in ascending order (so two units never wait on each other in a
        cycle). Begins the unit's write transaction."""

    @abc.abstractmethod
    def candidates(
        self, cells: Sequence[int], time_start: datetime, time_end: datetime, exclude: str | None
    ) -> list[Candidate]:
        """Pending and cleared requests (but ``exclude``) with a volume in one of ``cells``
        whose window overlaps or touches ``[time_start, time_end]``, by id."""

    @abc.abstractmethod
    def index(
        self, request_id: str, volumes: Mapping[int, VolumeCells], *, new: bool = False
    ) -> None:
        """Replace the request's cells with those of ``volumes`` (volume index -> cells);
        ``new``: the request was just added, it has none yet."""

    @abc.abstractmethod
    def drop(self, request_id: str) -> None:
        """Forget the request's cells (it no longer takes airspace)."""


def cells_of(volumes: Sequence[Volume4D]) -> dict[int, VolumeCells]:
    """Each volume's cells and window."""
    return {
        i: VolumeCells(cells, volumes[i].time_start, volumes[i].time_end)
        for i, cells in request_cells(volumes).items()
    }


class RequestRepository(Logged, abc.ABC):
    airspace: AirspaceRepository | None = None  # set by units of work that keep cells

    def add(self, record: RequestRecord) -> None:
        """Store a new record and its events; raises ``ConflictError`` if the id exists."""
        self._add(record)
        self._airspace(record, new=True)
        self._logged(record)

    def save(self, record: RequestRecord, expected_version: int) -> None:
        """Store the record and its new events if still at ``expected_version``."""
        self._save(record, expected_version)
        self._airspace(record)
        self._logged(record)

    def _airspace(self, record: RequestRecord, *, new: bool = False) -> None:
        """Keep the record's cells in step with it (before ``_logged`` clears its events)."""
        if self.airspace is None:
            return
        if record.state not in ACTIVE:
            if record.events and not new:  # it changed: it may have just left them
                self.airspace.drop(record.id)
        elif any(e.kind in _NEW_VOLUMES for e in record.events):
            _, volumes = stored_airspace(record.document)
            self.airspace.index(record.id, cells_of(volumes), new=new)

    def _logged(self, record: RequestRecord) -> None:
        entries, disclosures = audit.sealed_entries(record)
        self.log.append_many([(k, fields, record.id) for k, fields in entries])
        self.log.add_disclosures(record.id, disclosures)
        record.events = []

    @abc.abstractmethod
    def _add(self, record: RequestRecord) -> None:
        """Store the record and the rows of its ``events`` (which it leaves in place)."""

    @abc.abstractmethod
    def _save(self, record: RequestRecord, expected_version: int) -> None: ...

    @abc.abstractmethod
    def get(self, request_id: str) -> RequestRecord | None: ...

    @abc.abstractmethod
    def search(
        self,
        *,
        state: RequestState | None = None,
        operator: str | None = None,
        authority: str | None = None,
        limit: int = 100,
    ) -> list[RequestRecord]:
        """Newest first. ``authority`` keeps requests whose chain includes it."""

    @abc.abstractmethod
    def chain_times(
        self, *, operator: str | None = None, authority: str | None = None, limit: int = 100
    ) -> list[ChainTimes]:
        """What the overview reads of the newest requests (filtered as ``search``), without
        documents: newest first."""

    @abc.abstractmethod
    def chain_times_of(self, authorities: Sequence[str], limit: int) -> list[ChainTimes]:
        """The newest ``limit`` requests in the chain of each of ``authorities``, each
        request once (what a forecast reads of their history): newest first."""

    @abc.abstractmethod
    def needing_review(self, authority: str) -> list[RequestRecord]:
        """Pending requests with a needs_review approval for ``authority``, oldest first."""

    @abc.abstractmethod
    def decided_by_hand(
        self, authority: str, since: datetime, until: datetime, limit: int
    ) -> list[RequestRecord]:
        """Requests on which a member of ``authority`` approved or denied, the decision made
        in ``[since, until)``; newest first, at most ``limit``."""

    @abc.abstractmethod
    def open_for_operator(self, operator: str) -> list[RequestRecord]:
        """Pending and cleared requests of ``operator``."""

    @abc.abstractmethod
    def due_for_expiry(self, now: datetime) -> list[RequestRecord]:
        """Pending requests whose first time_start is at or before ``now``."""

    @abc.abstractmethod
    def events(self, request_id: str) -> list[Event]:
        """The request's timeline, oldest first."""


@dataclass(frozen=True, slots=True)
class PrincipalRecord:
    """A principal as stored: when it was created (None before revision 0003) and, once
    revoked, when."""

    principal: Principal
    created_at: datetime | None
    revoked_at: datetime | None


class PrincipalRepository(Logged, abc.ABC):
    def add(self, principal: Principal, token_hash: str, at: datetime | None = None) -> None:
        """Raises ``ConflictError`` when the name is taken (a revoked name stays taken)."""
        self._add(principal, token_hash, at)
        self.log.append("principal.added", audit.principal_fields(principal))

    def revoke(self, name: str, at: datetime) -> None:
        """Refuse the principal's token from the commit on, and log it; raises
        ``NotFoundError`` for an unknown name, ``ConflictError`` when already revoked."""
        self._revoke(name, at)
        self.log.append("principal.revoked", {"name": name, "at": instant(at)})

    @abc.abstractmethod
    def _add(self, principal: Principal, token_hash: str, at: datetime | None) -> None: ...

    @abc.abstractmethod
    def _revoke(self, name: str, at: datetime) -> None: ...

    @abc.abstractmethod
    def set_token(self, name: str, token_hash: str) -> None: ...

    @abc.abstractmethod
    def get(self, name: str) -> Principal | None:
        """The principal named ``name`` unless it was revoked."""

    @abc.abstractmethod
    def by_token(self, token_hash: str) -> Principal | None:
        """The principal whose token this is, unless it was revoked."""

    @abc.abstractmethod
    def record(self, name: str) -> PrincipalRecord | None:
        """The principal named ``name``, revoked or not."""

    @abc.abstractmethod
    def records(self) -> list[PrincipalRecord]:
        """Every principal, revoked or not, by name."""


@dataclass(frozen=True, slots=True)
class MemberKey:
    """A member's public key as enrolled by its authority's root key; once revoked, when."""

    authority: str
    member: str
    public_key: bytes
    enrolled_at: datetime
    revoked_at: datetime | None = None


class MemberKeyRepository(Logged, abc.ABC):
    """Members' public keys (never a private one), each enrolled and revoked by a
    statement its authority's root key signed, which the log keeps whole."""

    def enroll(self, statement: MemberStatement) -> None:
        """Raises ``ConflictError`` when the member has an enrolled key already, or this
        key was enrolled before."""
        self._enroll(statement)
        self._logged(statement)

    def revoke(self, statement: MemberStatement) -> None:
        """Raises ``NotFoundError`` unless the key is the member's enrolled one."""
        self._revoke(statement)
        self._logged(statement)

    def _logged(self, statement: MemberStatement) -> None:
        fields = {k: v for k, v in statement.fields().items() if k != "kind"}
        self.log.append(statement.kind, fields | {"signature": statement.signature})

    @abc.abstractmethod
    def _enroll(self, statement: MemberStatement) -> None: ...

    @abc.abstractmethod
    def _revoke(self, statement: MemberStatement) -> None: ...

    @abc.abstractmethod
    def active(self, authority: str, member: str) -> bytes | None:
        """The member's enrolled key unless revoked."""

    @abc.abstractmethod
    def records(self) -> list[MemberKey]:
        """Every enrolled key, revoked or not, by authority, member and enrollment."""


class IdempotencyRepository(abc.ABC):
    @abc.abstractmethod
    def find(self, principal: str, key: str) -> tuple[str, str] | None:
        """(request id, body digest) stored for this principal's key, if any."""

    @abc.abstractmethod
    def remember(self, principal: str, key: str, digest: str, request_id: str) -> None: ...


class GrantRepository(Logged, abc.ABC):
    @abc.abstractmethod
    def revoked(self) -> dict[str, datetime]:
        """Revoked grant ids and when."""

    @abc.abstractmethod
    def hold(self) -> None:
        """Keep revocations out until this unit of work ends (a shared lock): a submission
        takes it before reading the revocations its evaluation relies on, so a revocation
        committed by any process either comes before that read or waits for the
        submission's commit, and then finds the request when it looks for what the grant
        covered."""

    def revoke(self, grant: str, by: str, at: datetime) -> None:
        """Raises ``ConflictError`` when already revoked. Takes the lock ``hold`` shares
        exclusively first, so no submission is between its reading and its commit."""
        self._revoke(grant, by, at)
        self.log.append(audit.GRANT_REVOKED, {"grant": grant, "by": by, "at": instant(at)})

    @abc.abstractmethod
    def _revoke(self, grant: str, by: str, at: datetime) -> None: ...


class ScenarioRepository(Logged, abc.ABC):
    """Scenario versions: immutable sets of files named by their digest
    (``domain.ledger.audit.scenario_version``); the newest load names the current one."""

    def save(self, files: dict[str, bytes], at: datetime) -> str:
        """Store these files (relative path -> content) as a version unless stored
        already, make it current, log the load; returns the version."""
        fields = audit.scenario_fields(files, at)
        version: str = fields["version"]
        self._save(version, files, at)
        self.log.append("scenario.loaded", fields)
        return version

    @abc.abstractmethod
    def _save(self, version: str, files: dict[str, bytes], at: datetime) -> None:
        """Store the version unless it is stored already, and record the load."""

    @abc.abstractmethod
    def current(self) -> str | None:
        """The current version (None before any load): one indexed read."""

    @abc.abstractmethod
    def made_current_at(self) -> datetime | None:
        """When, in wall-clock time, the newest load was recorded (None before any): where
        a replayed ``clock:`` starts, the same for every process."""

    @abc.abstractmethod
    def files(self, version: str) -> dict[str, bytes] | None:
        """The files of ``version``, or None when no such version is stored."""


@dataclass(frozen=True, slots=True)
class StoredEntry:
    """One audit-log entry as stored: ``index`` is None until it is integrated."""

    seq: int
    index: int | None
    kind: str
    request_id: str | None
    data: bytes
    leaf_hash: bytes


@dataclass(frozen=True, slots=True)
class StoredRequest:
    """A stored request as ``audit verify`` reads it: ``record`` is None, and ``problem``
    says why, when its row cannot be read as a request (a value no state or status is)."""

    id: str
    record: RequestRecord | None
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class TreeHead:
    size: int
    root: bytes


@dataclass(frozen=True, slots=True)
class StoredCheckpoint:
    """A signed checkpoint (C2SP signed note) of the tree of ``size`` entries; ``at`` is
    when it was signed in wall-clock time (not the service's ``Clock``, which a scenario
    may replay from another date)."""

    size: int
    root: bytes
    note: str
    at: datetime


class AuditRepository(abc.ABC):
    def append(self, kind: str, fields: Mapping[str, Any], request_id: str | None = None) -> None:
        """Add the entry ``{"kind": kind, **fields}`` (canonical JSON), not yet integrated;
        ``request_id`` (by default the entry's own ``request_id`` field) is kept beside it."""
        self.append_many([(kind, fields, request_id)])

    @abc.abstractmethod
    def append_many(self, entries: Sequence[tuple[str, Mapping[str, Any], str | None]]) -> None:
        """``append`` each (kind, fields, request id), in order."""

    @abc.abstractmethod
    def recorded_keys(self) -> dict[tuple[str, str], bytes]:
        """The latest public key recorded in the log for each (role, name)."""

    @abc.abstractmethod
    def add_disclosures(self, request_id: str, disclosures: Sequence[Disclosure]) -> None:
        """Store the disclosures of ``request_id``'s new entries beside the log."""

    @abc.abstractmethod
    def disclosures(self, commitments: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The stored disclosures of these commitments (commitment -> disclosure
        object); a commitment without one is absent."""

    @abc.abstractmethod
    def request_disclosures(self, request_id: str) -> list[dict[str, Any]]:
        """Every stored disclosure of ``request_id``'s entries, in the order written."""

    @abc.abstractmethod
    def has_pending(self) -> bool:
        """Whether committed entries wait for integration."""

    @abc.abstractmethod
    def integrate(self, limit: int) -> tuple[TreeHead, int]:
        """Lock the tree head (held until the unit of work ends), give up to ``limit``
        pending entries the next log indexes in ``seq`` order, store the subtree hashes
        and the new head; returns the head and how many entries were integrated."""

    @abc.abstractmethod
    def head(self) -> TreeHead: ...

    @abc.abstractmethod
    def add_checkpoint(self, checkpoint: StoredCheckpoint) -> None: ...

    @abc.abstractmethod
    def latest_checkpoint(self) -> StoredCheckpoint | None: ...

    @abc.abstractmethod
    def add_cosignatures(self, size: int, lines: Sequence[str]) -> StoredCheckpoint:
        """Add witnesses' cosignature lines to the stored checkpoint of ``size`` (its body
        and the log's signature stay; see ``domain.ledger.witness.with_cosignatures``);
        returns it. Raises ``NotFoundError`` if there is none of that size."""

    @abc.abstractmethod
    def checkpoints(self) -> list[StoredCheckpoint]:
        """Every stored checkpoint, smallest size first."""

    @abc.abstractmethod
    def entry(self, index: int) -> StoredEntry | None: ...

    @abc.abstractmethod
    def entries(self, start: int, limit: int) -> list[StoredEntry]:
        """Integrated entries with ``index >= start``, in index order, at most ``limit``."""

    @abc.abstractmethod
    def request_entries(self, request_id: str, limit: int) -> list[StoredEntry]:
        """Integrated entries about ``request_id``, in index order, at most ``limit``."""

    @abc.abstractmethod
    def entries_of_kinds(self, kinds: Sequence[str], below: int) -> list[StoredEntry]:
        """Integrated entries of one of ``kinds`` with ``index < below``, in index order
        (by the kind's index: the log's keys and enrollments, not a scan of the log)."""

    @abc.abstractmethod
    def pending(self, after_seq: int, limit: int) -> list[StoredEntry]:
        """Entries not integrated yet with ``seq > after_seq``, in seq order."""

    @abc.abstractmethod
    def inclusion_proof(self, index: int, size: int) -> tuple[bytes, list[bytes]]:
        """(leaf hash as the stored tree holds it, proof) of entry ``index`` in the tree of
        ``size`` entries; ``size`` is at most the head's."""

    @abc.abstractmethod
    def consistency_proof(self, size1: int, size2: int) -> list[bytes]: ...

    @abc.abstractmethod
    def root(self, size: int) -> bytes:
        """The root of the tree of the first ``size`` entries (from stored subtrees)."""

    @abc.abstractmethod
    def tree_leaves(self, start: int, end: int) -> list[bytes]:
        """The leaf hashes the stored tree holds for indexes ``[start, end)``."""

    @abc.abstractmethod
    def request_events(self) -> list[tuple[str, int, str]]:
        """(request id, version, kind) of every stored request event."""

    @abc.abstractmethod
    def request_records(self) -> Generator[StoredRequest]:
        """Every stored request with its approvals, as its rows hold them (the stored
        state: one due to expire is not shown expired here), a page at a time."""


class UnitOfWork(abc.ABC):
    requests: RequestRepository
    airspace: AirspaceRepository
    principals: PrincipalRepository
    idempotency: IdempotencyRepository
    grants: GrantRepository
    scenarios: ScenarioRepository
    member_keys: MemberKeyRepository
    audit: AuditRepository
    webhooks: WebhookRepository

    def __enter__(self) -> UnitOfWork:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.rollback()

    @abc.abstractmethod
    def commit(self) -> None: ...

    @abc.abstractmethod
    def rollback(self) -> None:
        """Undo everything not committed; harmless after a commit."""


class Clock(abc.ABC):
    """The service's present time: every record, queue, overview and the page read it
    (request ids and the audit tables' wall-clock columns do not).

    ``rate`` says how fast it runs: seconds of its time per real second (1 for real time,
    0 for a pinned clock, the scenario's ``rate`` for a replay); the page runs its own
    copy of the clock forward at that rate between calls."""

    rate: float = 1.0

    @abc.abstractmethod
    def now(self) -> datetime:
        """An aware UTC datetime."""


class PinnedClock(Clock):
    """Always the same instant (``CLEARANCE_NOW``; tests control time by setting ``at``)."""

    rate = 0.0

    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at
