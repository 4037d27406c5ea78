"""The audit log's use cases: integrate and sign checkpoints, serve entries and proofs,
record public keys, and verify the whole database.

Entries are appended by the repositories, in the transaction of the change they record
(``AuditRepository.append``). They join the Merkle tree later, in batches, when
:meth:`AuditLog.integrate` runs (``clearance audit checkpoint``, the API server's
background thread every second, and before any proof is served): it numbers the
committed entries under a lock, stores the subtree hashes and signs a C2SP checkpoint of
the new tree with the instance's key. Why numbering waits for integration is explained
in ``clearance.adapters.sql_audit``.

:meth:`AuditLog.verify` is what ``clearance audit verify`` runs: it recomputes every leaf
hash from the stored data and the tree from the leaves, checks every stored checkpoint's
signature and root and every decision signature in the log (a problem there stops it,
naming the first bad entry). Then it replays the log (:mod:`clearance.domain.ledger.replay`):
each request's entries, folded in order, say what its row must hold (version, state,
document digest, every approval); every stored request is compared with that, every
person's decision on it is checked by its signature and every stored request event must
be in the log. Each disagreement is reported, naming the request and the field. The
logic lives here once, over the ``AuditRepository`` port: the SQL adapter and the memory
fake give the same verdicts.
"""

from __future__ import annotations

import base64
import contextlib
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from clearance.domain.clearance.evaluation import evaluate
from clearance.domain.clearance.model import Approval
from clearance.domain.clearance.requests import parse_request
from clearance.domain.clearance.scenario import Scenario
from clearance.domain.clearance.workflow import RequestRecord, decided_by_person
from clearance.domain.errors import ClearanceError, InputError, NotFoundError
from clearance.domain.ledger import audit, members
from clearance.domain.ledger.checkpoint import (
    NoteError,
    format_checkpoint,
    key_id,
    open_checkpoint,
    raw_public,
    read_checkpoint,
    sign_note,
    vkey,
)
from clearance.domain.ledger.disclosure import commitments, is_sealed
from clearance.domain.ledger.merkle import Frontier, ProofError, leaf_hash
from clearance.domain.ledger.policy import Policy, QuorumError, check_quorum, cosigned_by
from clearance.domain.ledger.replay import (
    Replay,
    ReplayError,
    automatic_disagreements,
    disagreements,
    still_covered,
)
from clearance.domain.ledger.signatures import (
    DecisionSignatureError,
    decision_statement,
    verify_statement,
)
from clearance.service.ports import (
    StoredCheckpoint,
    StoredEntry,
    StoredRequest,
    UnitOfWork,
)
from clearance.service.scenarios import ScenarioVersions
from clearance.service.witnessing import Witnessing

BATCH = 10_000  # entries integrated per transaction
RETRY_SECONDS = 5.0  # a checkpoint lacking its witnesses' quorum is resubmitted this often
PAGE = 5_000  # entries read per query when verifying or exporting


@dataclass(frozen=True)
class EntryProof:
    """Entry ``index`` and its inclusion proof in the tree of ``size`` entries, whose
    root is ``root`` (the latest ``checkpoint``'s unless an older size was asked for)."""

    index: int
    data: bytes
    leaf_hash: bytes
    size: int
    root: bytes
    proof: list[bytes]
    checkpoint: StoredCheckpoint


@dataclass(frozen=True)
class ConsistencyProof:
    size1: int
    size2: int
    proof: list[bytes]
    checkpoint: StoredCheckpoint


@dataclass(frozen=True)
class Verified:
    """The outcome of :meth:`AuditLog.verify`: ``problems`` is empty when all is intact.
    ``requests`` were replayed; of those, ``unreplayed`` had entries older than logged
    approvals, so only their version, state, document and signatures were checked."""

    problems: tuple[str, ...]
    size: int
    pending: int
    checkpoints: int
    decisions: int
    requests: int = 0
    unreplayed: int = 0
    cosigned: tuple[str, ...] = ()  # with a policy: who cosigned the latest checkpoint
    # authority -> its decisions recorded unsigned (it names no root key): not a problem
    unsigned: Mapping[str, int] = field(default_factory=dict)

    @property
    def signed(self) -> int:
        """The decisions whose signature was checked."""
        return self.decisions - sum(self.unsigned.values())

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def problem(self) -> str | None:
        """The first problem, or None."""
        return self.problems[0] if self.problems else None


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def record_keys(uow: UnitOfWork, keys: Mapping[tuple[str, str], bytes]) -> list[str]:
    """Append a ``key`` entry for each (role, name) -> public key the log does not hold
    yet (or holds with another key); returns the names recorded."""
    recorded = uow.audit.recorded_keys()
    added = []
    for (role, name), public in keys.items():
        if recorded.get((role, name)) != public:
            uow.audit.append(audit.KEY, audit.key_fields(role, name, public))
            added.append(name)
    return added


def check_origin(origin: str, public_key: bytes) -> None:
    try:
        key_id(origin, public_key)
    except NoteError as e:
        raise InputError(str(e), field="CLEARANCE_LOG_ORIGIN", source="environment") from None


class AuditLog:
    """The log over a unit-of-work factory, signing with the instance key ``key`` under
    the name ``origin`` (the checkpoints' first line). ``now`` is wall-clock time, for
    when a checkpoint was signed; the entries carry the service's time themselves."""

    def __init__(
        self,
        uow: Callable[[], UnitOfWork],
        origin: str,
        key: Ed25519PrivateKey,
        *,
        batch: int = BATCH,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        witnessing: Witnessing | None = None,
    ) -> None:
        self.uow = uow
        self.witnessing = witnessing
        self._witnessed_at = -RETRY_SECONDS
        self.origin = origin
        self.key = key
        self.public_key = raw_public(key)
        check_origin(origin, self.public_key)
        self.batch = batch
        self.now = now

    @property
    def vkey(self) -> str:
        return vkey(self.origin, self.public_key)

    # -- integration -------------------------------------------------------------------
    def integrate(self) -> StoredCheckpoint:
        """Integrate every committed entry (in batches of ``batch``, one transaction
        each) and sign a checkpoint of each new tree; returns the latest checkpoint (with
        the witnesses' cosignatures when witnesses are configured)."""
        fresh = False
        while True:
            with self.uow() as uow:
                head, added = uow.audit.integrate(self.batch)
                latest = uow.audit.latest_checkpoint()
                if latest is not None and latest.size == head.size:
                    checkpoint = latest
                else:
                    text = format_checkpoint(self.origin, head.size, head.root)
                    note = sign_note(text, self.origin, self.key)
                    checkpoint = StoredCheckpoint(head.size, head.root, note, self.now())
                    uow.audit.add_checkpoint(checkpoint)
                    uow.commit()
                    fresh = True
            if added < self.batch:
                return self.witness(checkpoint) if fresh else checkpoint

    def integrate_if_pending(self) -> StoredCheckpoint | None:
        """Integrate when entries wait (or no checkpoint exists yet): a read, and no lock,
        when there is nothing to do; with witnesses, submit the latest checkpoint again
        (at most every ``RETRY_SECONDS``) while it lacks their quorum. Returns the latest
        checkpoint when it integrated or witnessed."""
        with self.uow() as uow:
            latest = uow.audit.latest_checkpoint()
            idle = not uow.audit.has_pending() and latest is not None
        if not idle or latest is None:
            return self.integrate()
        w = self.witnessing
        if w is None or time.monotonic() - self._witnessed_at < RETRY_SECONDS:
            return None
        try:
            if w.policy.satisfied(set(cosigned_by(w.policy, latest.note))):
                return None
        except QuorumError:
            pass  # a damaged cosignature line: submit again, the witness's replaces it
        return self.witness(latest)

    def witness(self, checkpoint: StoredCheckpoint) -> StoredCheckpoint:
        """Submit ``checkpoint`` to the configured witnesses and store the cosignatures
        they return; returns it with them (as it was when there are no witnesses)."""
        if self.witnessing is None:
            return checkpoint
        self._witnessed_at = time.monotonic()

        def proof(size1: int, size2: int) -> list[bytes]:
            with self.uow() as uow:
                return uow.audit.consistency_proof(size1, size2)

        collected = self.witnessing.collect(checkpoint.note, checkpoint.size, proof)
        if not collected.lines:
            return checkpoint
        with self.uow() as uow:
            updated = uow.audit.add_cosignatures(checkpoint.size, list(collected.lines.values()))
            uow.commit()
        return updated

    # -- reading -----------------------------------------------------------------------
    def checkpoint(self) -> StoredCheckpoint:
        """The latest signed checkpoint, after integrating what waits."""
        latest = self.integrate_if_pending()
        if latest is not None:
            return latest
        with self.uow() as uow:
            found = uow.audit.latest_checkpoint()
        if found is None:  # pragma: no cover - integrate_if_pending wrote one
            raise NotFoundError("the audit log has no checkpoint yet")
        return found

    def entry(self, index: int, size: int | None = None) -> EntryProof:
        """Entry ``index`` and its inclusion proof in the tree of ``size`` entries (by
        default the latest checkpoint's)."""
        checkpoint = self.checkpoint()
        if size is not None and not 1 <= size <= checkpoint.size:
            raise NotFoundError(f"no tree of size {size}: the log holds {checkpoint.size} entries")
        size = checkpoint.size if size is None else size
        if not 0 <= index < size:
            raise NotFoundError(f"no audit entry {index} in the tree of {size} entries")
        with self.uow() as uow:
            stored = uow.audit.entry(index)
            if stored is None:
                raise NotFoundError(f"audit entry {index} is missing from the database")
            _, proof = uow.audit.inclusion_proof(index, size)
            root = checkpoint.root if size == checkpoint.size else uow.audit.root(size)
        data = stored.data
        return EntryProof(index, data, leaf_hash(data), size, root, proof, checkpoint)

    def entries(self, start: int, limit: int) -> tuple[StoredCheckpoint, list[StoredEntry]]:
        """The latest checkpoint, and up to ``limit`` entries of its tree from log index
        ``start`` (what a monitor reads, then checks against the checkpoint's root)."""
        checkpoint = self.checkpoint()
        if start > checkpoint.size:
            raise NotFoundError(
                f"no audit entry {start}: the log's checkpoint holds {checkpoint.size} entries"
            )
        count = max(0, min(limit, checkpoint.size - start))
        with self.uow() as uow:
            page = uow.audit.entries(start, count) if count else []
        return checkpoint, page

    def request_entries(
        self, request_id: str, limit: int = 1000
    ) -> tuple[StoredCheckpoint, list[EntryProof]]:
        """The latest checkpoint, and every entry about ``request_id`` in its tree, each
        with its inclusion proof in that tree."""
        checkpoint = self.checkpoint()
        size = checkpoint.size
        found: list[EntryProof] = []
        with self.uow() as uow:
            for e in uow.audit.request_entries(request_id, limit):
                if e.index is None or e.index >= size:  # integrated after the checkpoint
                    continue
                _, proof = uow.audit.inclusion_proof(e.index, size)
                found.append(
                    EntryProof(
                        e.index, e.data, leaf_hash(e.data), size, checkpoint.root, proof, checkpoint
                    )
                )
        return checkpoint, found

    def disclosures_of(self, entries: list[EntryProof]) -> list[dict[str, Any]]:
        """The stored disclosures of every commitment these entries make, in the order
        the entries make them (a commitment without one is left out)."""
        wanted: list[str] = []
        for e in entries:
            with contextlib.suppress(ValueError):
                wanted += commitments(audit.parse_entry(e.data))
        with self.uow() as uow:
            found = uow.audit.disclosures(wanted) if wanted else {}
        return [found[c] for c in dict.fromkeys(wanted) if c in found]

    def consistency(self, size1: int, size2: int) -> ConsistencyProof:
        """The consistency proof between the trees of ``size1`` and ``size2`` entries."""
        checkpoint = self.checkpoint()
        if size1 < 1:
            raise InputError("must be at least 1", field="from", source="query")
        if size2 < size1:
            raise InputError(f"must be at least from ({size1})", field="to", source="query")
        if size2 > checkpoint.size:
            raise NotFoundError(
                f"the log holds {checkpoint.size} entries; no tree of size {size2} yet"
            )
        with self.uow() as uow:
            proof = uow.audit.consistency_proof(size1, size2)
        return ConsistencyProof(size1, size2, proof, checkpoint)

    def public_keys(self) -> dict[str, Any]:
        """The log's key and every authority's root key the log records (the latest of
        each, as the scenario named it). The server holds no authority's key: members' keys
        are enrolled by statements their root key signed (``GET
        /v1/authorities/{id}/members``, and the log's ``member.*`` entries)."""
        with self.uow() as uow:
            recorded = uow.audit.recorded_keys()
        roots = {
            name: key_view(name, public)
            for (role, name), public in sorted(recorded.items())
            if role == audit.ROOT_ROLE
        }
        return {"log": key_view(self.origin, self.public_key), "roots": roots}

    def pages(self) -> Iterator[list[StoredEntry]]:
        """Every integrated entry in index order, a page (one query) at a time."""
        start = 0
        while True:
            with self.uow() as uow:
                page = uow.audit.entries(start, PAGE)
            if page:
                yield page
            if len(page) < PAGE:
                return
            start = (page[-1].index or 0) + 1

    def all_disclosures(self, checkpoint: StoredCheckpoint) -> Iterator[dict[str, Any]]:
        """The stored disclosures of the commitments of the tree of ``checkpoint.size``
        entries, page by page (for an export)."""
        for page in self.pages():
            wanted: list[str] = []
            for e in page:
                if e.index is not None and e.index < checkpoint.size:
                    with contextlib.suppress(ValueError):
                        wanted += commitments(audit.parse_entry(e.data))
            if wanted:
                with self.uow() as uow:
                    found = uow.audit.disclosures(wanted)
                yield from (found[c] for c in dict.fromkeys(wanted) if c in found)

    # -- verification ------------------------------------------------------------------
    def verify(
        self, policy: Policy | None = None, scenarios: ScenarioVersions | None = None
    ) -> Verified:
        """Check the whole database against the log and its signed checkpoints (reads
        only; entries not integrated yet are checked for their own hash only). With a
        witness ``policy``, the latest checkpoint must also be signed by a log it names
        and cosigned by its quorum of witnesses (the first problem otherwise). Given the
        ``scenarios``, every automatic step is also evaluated again against the scenario
        version its entry records."""
        return _Verifier(self, policy, scenarios).run()


def key_view(name: str, public: bytes) -> dict[str, Any]:
    try:
        verifier: str | None = vkey(name, public)
    except NoteError:  # a name a note key cannot carry (a space, a '+')
        verifier = None
    return {"name": name, "vkey": verifier, "public_key": b64(public)}


class _Verifier:
    def __init__(
        self,
        log: AuditLog,
        policy: Policy | None = None,
        scenarios: ScenarioVersions | None = None,
    ) -> None:
        self.log = log
        self.policy = policy
        self.scenarios = scenarios
        self.versions: dict[str, Scenario | str] = {}  # version -> it, or why not
        self.revoked: dict[str, str] = {}  # grant id -> the entry revoking it, so far
        self.revoked_then: dict[str, frozenset[str]] = {}  # request -> at its last entry
        self.replays: dict[str, Replay] = {}  # request id -> its entries folded so far
        self.problems: list[str] = []
        self.disclosed: dict[str, dict[str, Any]] = {}  # of the page being checked
        self.requests = 0
        self.unreplayed = 0
        self.unsigned: dict[str, int] = {}

    def run(self) -> Verified:
        with self.log.uow() as uow:
            checkpoints = uow.audit.checkpoints()
            head = uow.audit.head()
        counts = {"size": head.size, "pending": 0, "checkpoints": len(checkpoints)}
        cosigned: tuple[str, ...] = ()
        if self.policy is not None:
            if not checkpoints:
                self.problems.append("no checkpoint to check against the witness policy")
            else:
                try:
                    quorum = check_quorum(self.policy, checkpoints[-1].note)
                    cosigned = tuple(sorted(quorum.cosigned))
                except QuorumError as e:
                    self.problems.append(f"witness policy: {e}")
        try:
            decisions = self._check(checkpoints, head.size, counts)
        except audit.AuditError as e:
            first = (*self.problems, str(e))
            return Verified(first, counts["size"], counts["pending"], len(checkpoints), 0)
        return Verified(
            tuple(self.problems),
            head.size,
            counts["pending"],
            len(checkpoints),
            decisions,
            self.requests,
            self.unreplayed,
            cosigned,
            dict(self.unsigned),
        )

    def _check(
        self, checkpoints: list[StoredCheckpoint], head_size: int, counts: dict[str, int]
    ) -> int:
        log = self.log
        # 1. every checkpoint is signed by the instance key, and its body matches its row
        for c in checkpoints:
            try:
                origin = read_checkpoint(note_body(c.note)).origin
                body = open_checkpoint(c.note, origin, log.public_key)
            except ProofError as e:
                raise audit.AuditError(f"checkpoint of size {c.size}: {e}") from None
            if (body.size, body.root) != (c.size, c.root):
                raise audit.AuditError(
                    f"checkpoint of size {c.size}: its row does not match its signed note"
                )
        latest = checkpoints[-1] if checkpoints else None
        if latest is not None and latest.size != head_size:
            raise audit.AuditError(
                f"the tree head (size {head_size}) is not the latest signed checkpoint "
                f"(size {latest.size})"
            )
        sizes = {c.size: c for c in checkpoints}
        # 2. every entry: its data hashes to its leaf hash, which is the tree's leaf; the
        #    tree of the entries has every checkpoint's root; decisions verify
        frontier = Frontier()
        keys = audit.KeyRing()
        self.unsigned = keys.unsigned  # counted as the log is read
        decided: dict[tuple[str, str], tuple[dict[str, Any], bytes | None]] = {}
        logged_events: set[tuple[str, int, str]] = set()
        decisions = 0
        for page in log.pages():
            first = frontier.size
            stop = min(first + len(page), head_size)
            with log.uow() as uow:
                tree = uow.audit.tree_leaves(first, stop) if stop > first else []
            self._fetch_disclosures(page)
            for offset, stored in enumerate(page):
                index = first + offset
                if stored.index != index:
                    raise audit.AuditError(
                        f"log index {index}: missing (the next stored entry is log index "
                        f"{stored.index}, seq {stored.seq})"
                    )
                entry = self._entry(stored, f"log index {index} (seq {stored.seq})")
                named = f"{audit.describe(index, entry)} (seq {stored.seq})"
                if index >= head_size:
                    raise audit.AuditError(f"{named}: beyond the tree head (size {head_size})")
                if tree[offset] != stored.leaf_hash:
                    raise audit.AuditError(
                        f"{named}: not the entry the tree holds at this index "
                        "(changed, moved or swapped)"
                    )
                decisions += self._learn(entry, keys, decided, logged_events, named)
                frontier.append(stored.leaf_hash)
                if frontier.size in sizes and frontier.root() != sizes[frontier.size].root:
                    raise audit.AuditError(
                        f"the first {frontier.size} entries do not have the root of their "
                        f"signed checkpoint: an entry before log index {frontier.size} was "
                        "changed"
                    )
        if frontier.size != head_size:
            raise audit.AuditError(
                f"log index {frontier.size}: missing (the tree holds {head_size} entries)"
            )
        # 3. pending entries: consistent, and part of the cross-checks below
        after = 0
        while True:
            with log.uow() as uow:
                page = uow.audit.pending(after, PAGE)
            self._fetch_disclosures(page)
            for stored in page:
                entry = self._entry(stored, f"pending entry seq {stored.seq}")
                named = f"pending entry seq {stored.seq} ({entry['kind']})"
                decisions += self._learn(entry, keys, decided, logged_events, named)
                counts["pending"] += 1
            if len(page) < PAGE:
                break
            after = page[-1].seq
        recorded = keys.keys.get((audit.LOG_ROLE, log.origin))
        if recorded is not None and recorded != log.public_key:
            raise audit.AuditError(
                f"the log records another key for {log.origin} than the instance key"
            )
        # 4. every stored request is what the replayed log says it must be, and every
        #    decision a person made on it is the one its authority signed
        self._read_versions()
        seen: set[str] = set()
        with log.uow() as uow, contextlib.closing(uow.audit.request_records()) as rows:
            for row in rows:
                seen.add(row.id)
                self.problems += self._check_request(row, decided)
        for request_id in sorted(self.replays.keys() - seen):
            self.problems.append(
                f"request {request_id}: in the audit log but not in the database (deleted)"
            )
        # 5. every stored request event is in the log
        with log.uow() as uow:
            events = uow.audit.request_events()
        for request_id, version, kind in events:
            if (request_id, version, kind) not in logged_events:
                self.problems.append(
                    f"request {request_id}: its event {kind} (version {version}) is not in "
                    "the audit log"
                )
        return decisions

    def _check_request(
        self,
        row: StoredRequest,
        decided: dict[tuple[str, str], tuple[dict[str, Any], bytes | None]],
    ) -> list[str]:
        self.requests += 1
        replay = self.replays.get(row.id)
        if replay is None:
            return [f"request {row.id}: not in the audit log"]
        if not replay.approvals_logged:
            self.unreplayed += 1
        if row.record is None:
            return [f"request {row.id}: its row cannot be read: {row.problem}"]
        try:
            stored = audit.request_head(row.record)
        except ValueError:  # not JSON the log could have recorded
            stored = audit.request_head(replace(row.record, document={}))
            stored["document_digest"] = "(not canonical JSON)"
        found = disagreements(replay, stored) + self._check_automatic(replay, row.record)
        for approval in row.record.approvals:
            if decided_by_person(approval):
                found += self._check_approval(row.id, approval, decided)
        return found

    def _read_versions(self) -> None:
        """Every scenario version the replayed log names, read once, before the requests
        are streamed."""
        if self.scenarios is None:
            return
        named = {str(r.head.get("scenario_version") or "") for r in self.replays.values()}
        with self.log.uow() as uow:
            for version in sorted(named - {""}):
                try:
                    self.versions[version] = self.scenarios.get(uow, version)
                except ClearanceError as e:
                    self.versions[version] = str(e)

    def _check_automatic(self, replay: Replay, record: RequestRecord) -> list[str]:
        """The automatic steps the log records, held to the evaluation of the stored
        document against the scenario version the log records (whose digest the
        replay already held to the log's)."""
        version = str(replay.head.get("scenario_version") or "")
        if self.scenarios is None or not version or not replay.approvals_logged:
            return []
        found = still_covered(replay, self.revoked)
        scenario = self.versions.get(version)
        where = f"request {record.id}: scenario version {version[:12]}"
        if not isinstance(scenario, Scenario):
            return [*found, f"{where} cannot be read to check its automatic steps: {scenario}"]
        scenario = scenario.with_revoked(self.revoked_then.get(record.id, frozenset()))
        # the document the log commits to, as disclosed (and checked against its
        # commitment and digest); the stored one, held to the log's digest, otherwise
        logged = replay.head.get("document")
        document = logged if isinstance(logged, dict) and not is_sealed(logged) else record.document
        try:
            evaluated = evaluate(parse_request(document, scenario), scenario)
        except ClearanceError as e:
            return [*found, f"{where} no longer reads its document: {e}"]
        return found + automatic_disagreements(replay, evaluated.approvals)

    @staticmethod
    def _entry(e: StoredEntry, where: str) -> dict[str, Any]:
        if leaf_hash(e.data) != e.leaf_hash:
            raise audit.AuditError(f"{where}: the stored data does not hash to its leaf hash")
        try:
            entry = audit.parse_entry(e.data)
        except ValueError as err:
            raise audit.AuditError(f"{where}: the entry {err}") from None
        if entry["kind"] != e.kind or audit.request_of(entry) != e.request_id:
            raise audit.AuditError(f"{where}: its kind or request id column was changed")
        return entry

    def _fetch_disclosures(self, page: list[StoredEntry]) -> None:
        """The stored disclosures of every commitment the page's entries make."""
        wanted: list[str] = []
        for stored in page:
            with contextlib.suppress(ValueError):
                wanted += commitments(audit.parse_entry(stored.data))
        with self.log.uow() as uow:
            self.disclosed = uow.audit.disclosures(wanted) if wanted else {}

    def _learn(
        self,
        entry: dict[str, Any],
        keys: audit.KeyRing,
        decided: dict[tuple[str, str], tuple[dict[str, Any], bytes | None]],
        logged_events: set[tuple[str, int, str]],
        named: str,
    ) -> int:
        kind = entry["kind"]
        entry, problems = audit.open_request_entry(entry, self.disclosed, named)
        self.problems += problems
        try:
            if kind == audit.KEY:
                keys.learn(entry)
            if kind.startswith("request."):
                rid = entry["request_id"]
                logged_events.add((rid, entry["version"], kind[len("request.") :]))
                self.replays.setdefault(rid, Replay(rid)).apply(entry)
                # the grants revoked when this change was made: what it evaluated with
                self.revoked_then[rid] = frozenset(self.revoked)
            if kind == audit.GRANT_REVOKED:
                self.revoked.setdefault(str(entry["grant"]), named)
            if kind in members.KINDS:
                keys.learn_member(entry)
            if kind == audit.DECIDED:
                key = keys.check_decision(entry)
                decided[(entry["request_id"], entry["detail"]["authority"])] = (entry, key)
                return 1
        except ReplayError as e:
            raise audit.AuditError(f"{named}: {e}") from None
        except (ValueError, KeyError, TypeError) as e:
            raise audit.AuditError(f"{named}: {e}") from None
        return 0

    @staticmethod
    def _check_approval(
        request_id: str,
        approval: Approval,
        decided: dict[tuple[str, str], tuple[dict[str, Any], bytes | None]],
    ) -> list[str]:
        """A person's decision as stored: the one its authority signed, as logged."""
        where = f"request {request_id}: {approval.authority}'s decision"
        found = decided.get((request_id, approval.authority))
        if found is None:
            return [f"{where} is not in the audit log"]
        entry, key = found
        detail = entry["detail"]
        if approval.signature != (detail.get("signature") or ""):
            return [f"{where}: its signature is not the one the log recorded"]
        if key is None:
            return []  # recorded unsigned (no root key): the replay holds it to the log
        try:
            statement = decision_statement(
                request_id, entry["version"], detail["document_digest"], approval
            )
            verify_statement(key, statement, approval.signature)
        except (DecisionSignatureError, ValueError) as e:
            return [f"{where}: {e} (the stored decision differs from the signed one)"]
        return []


def checkpoint_view(c: StoredCheckpoint) -> dict[str, Any]:
    body = read_checkpoint(note_body(c.note))
    return {"origin": body.origin, "size": c.size, "root": b64(c.root), "note": c.note}


def entry_view(e: EntryProof) -> dict[str, Any]:
    """An entry with its inclusion proof in the tree of ``checkpoint``'s size."""
    return {
        "index": e.index,
        "data": b64(e.data),
        "entry": _parsed(e.data),
        "leaf_hash": b64(e.leaf_hash),
        "tree_size": e.size,
        "root": b64(e.root),
        "inclusion_proof": [b64(h) for h in e.proof],
        "checkpoint": checkpoint_view(e.checkpoint),
    }


def _parsed(data: bytes) -> dict[str, Any] | None:
    try:
        return audit.parse_entry(data)
    except ValueError:  # a damaged entry is still served, for its proof to fail
        return None


def consistency_view(c: ConsistencyProof) -> dict[str, Any]:
    return {
        "from": c.size1,
        "to": c.size2,
        "proof": [b64(h) for h in c.proof],
        "checkpoint": checkpoint_view(c.checkpoint),
    }


def note_body(note: str) -> str:
    """The body of a signed note (the text before its blank line), unverified."""
    split = note.rfind("\n\n")
    if split < 0:
        raise NoteError("a signed note needs a blank line before its signatures")
    return note[: split + 1]


__all__ = [
    "AuditLog",
    "ConsistencyProof",
    "EntryProof",
    "Verified",
    "checkpoint_view",
    "consistency_view",
    "entry_view",
    "key_view",
    "record_keys",
]
