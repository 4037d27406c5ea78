"""Use cases of the persisted workflow: submit, decide, withdraw, amend, revoke, read.

Every change runs in one unit of work: load, let the domain apply the rule, save with
the version it was loaded at, commit. A concurrent change in between makes the save
fail with ``ConflictError`` (409), so two members deciding the same approval at once cannot
both win. Who may see and who may act are the pure rules of ``domain.clearance.access``,
asked here before the record is changed; a request ``who`` may not see does not exist
for them (404).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, Protocol, TypeVar

from clearance.domain.airspace.volumes import parse_volume
from clearance.domain.clearance import access
from clearance.domain.clearance.evaluation import evaluate, with_violations
from clearance.domain.clearance.model import Conditions, Evaluation, Principal, Request, Violation
from clearance.domain.clearance.overview import Overview, overview
from clearance.domain.clearance.requests import parse_request
from clearance.domain.clearance.scenario import Scenario
from clearance.domain.clearance.workflow import Decision, Event, RequestRecord, RequestState
from clearance.domain.documents import Fields, instant
from clearance.domain.errors import (
    ConflictError,
    ForbiddenError,
    NotFoundError,
    RequestError,
    UnauthorizedError,
)
from clearance.domain.ledger.merkle import canonical_json
from clearance.domain.ledger.signatures import document_digest
from clearance.service.airspace import Airspace
from clearance.service.audit import decision_signer
from clearance.service.conflicts import SeenConflict, seen_conflicts
from clearance.service.ports import Clock, PrincipalRecord, Signer, UnitOfWork
from clearance.service.scenarios import OneScenario, ScenarioVersions

OVERVIEW_LIMIT = 5_000


@dataclass(frozen=True)
class Submitted:
    record: RequestRecord
    created: bool  # False when an Idempotency-Key replayed an earlier submission


@dataclass(frozen=True)
class Amended:
    record: RequestRecord
    kept: list[str]
    reset: list[str]


@dataclass(frozen=True)
class EvaluationResult:
    """What submitting a document would give now; nothing is stored."""

    document: dict[str, Any]  # as it would be stored (YAML read into plain JSON data)
    evaluation: Evaluation
    overrides: dict[str, list[str]]  # lower-priority requests it would flag, and why


@dataclass(frozen=True)
class QueueItem:
    record: RequestRecord
    waiting_since: datetime


def token_digest(token: str) -> str:
    """Tokens are 256-bit random strings, so one SHA-256 is enough to store them safely."""
    return hashlib.sha256(token.encode()).hexdigest()


REQUEST_ID = re.compile(r"req-[0-9a-f]{1,64}")


def new_request_id() -> str:
    """Unique, and sorting in creation order (nanoseconds first, then randomness)."""
    return f"req-{time.time_ns():016x}{secrets.token_hex(4)}"


def new_token() -> str:
    return secrets.token_urlsafe(32)


class Workflow:
    """The use cases, wired to a unit-of-work factory, the scenario versions and a clock.

    Given one ``Scenario`` rather than ``ScenarioVersions``, every unit of work evaluates
    against that scenario, stored or not (unit tests, offline checks)."""

    def __init__(
        self,
        uow: Callable[[], UnitOfWork],
        scenarios: ScenarioVersions | Scenario,
        clock: Clock,
        signer: Signer | None = None,
    ) -> None:
        self.uow = uow
        self.scenarios = (
            scenarios if isinstance(scenarios, ScenarioVersions) else OneScenario(scenarios)
        )
        self.clock = clock
        self.signer = signer  # authorities' keys; None: decisions go unsigned (tests)
        self.airspace = Airspace()

    # -- scenario versions -----------------------------------------------------------
    def current_scenario(self) -> Scenario:
        """The version the database names current now (one indexed read)."""
        with self.uow() as uow:
            return self.scenarios.current(uow)

    def _read_first(
        self, read: Callable[[object, Scenario], Read], document: object
    ) -> tuple[Scenario, Read]:
        """Read a document before its unit of work begins, against the current version as
        this process last read it (no query): ``_evaluate`` checks that guess against the
        database inside the unit of work and reads the document again if it changed. A
        document the guess refuses is read against the database's current version."""
        guess = self.scenarios.last_current()
        if guess is not None:
            try:
                return guess, read(document, guess)
            except RequestError:
                current = self.current_scenario()  # one read, whichever way it goes
                if current.version == guess.version:
                    raise  # the guess was current: its refusal stands
                return current, read(document, current)
        scenario = self.current_scenario()
        return scenario, read(document, scenario)

    def scenario_of(self, record: RequestRecord) -> Scenario:
        """The version ``record`` was last evaluated against: what it is read, shown,
        deconflicted and checked for conformance against."""
        cached = self.scenarios.cached(record.scenario_version)
        if cached is not None:
            return cached
        with self.uow() as uow:
            return self.scenarios.get(uow, record.scenario_version)

    # -- principals ----------------------------------------------------------------
    def add_principal(
        self, name: str, *, operator: str | None = None, authority: str | None = None
    ) -> str:
        """Create a principal; returns its token (only its digest is stored)."""
        principal = self._principal(name, operator, authority)
        token = new_token()
        with self.uow() as uow:
            uow.principals.add(principal, token_digest(token), self.clock.now())
            uow.commit()
        return token

    def issue_token(
        self, name: str, *, operator: str | None = None, authority: str | None = None
    ) -> str:
        """A fresh token for ``name``, creating the principal if needed (for demos); the
        principal's earlier token stops working."""
        principal = self._principal(name, operator, authority)
        token = new_token()
        with self.uow() as uow:
            existing = uow.principals.record(name)
            if existing is None:
                uow.principals.add(principal, token_digest(token), self.clock.now())
            elif existing.revoked_at is not None:
                raise ConflictError(_revoked(existing))
            elif existing.principal != principal:
                raise ConflictError(f"principal {name!r} exists with another role")
            else:
                uow.principals.set_token(name, token_digest(token))
            uow.commit()
        return token

    def _principal(self, name: str, operator: str | None, authority: str | None) -> Principal:
        if not name.strip() or len(name) > 200 or "\x00" in name:
            raise RequestError("must be a name of 1 to 200 characters", field="name")
        if operator is None and authority is None:
            # Both at once is allowed: an officer who plans for an operator and also sits
            # on an authority; separation of duties then stops them approving their own.
            raise RequestError("give --operator, --authority or both", field="role")
        scenario = self.current_scenario()
        if operator is not None and operator not in scenario.operators:
            raise RequestError(f"unknown operator {operator!r}", field="operator")
        if authority is not None and authority not in scenario.authorities:
            raise RequestError(f"unknown authority {authority!r}", field="authority")
        return Principal(name, operator, authority)

    def authenticate(self, token: str | None) -> Principal:
        """The principal a token names, read from the database on every call (one indexed
        query), so a token replaced or revoked by any process is refused at once."""
        if not token:
            raise UnauthorizedError("send Authorization: Bearer <token>")
        with self.uow() as uow:
            principal = uow.principals.by_token(token_digest(token))
        if principal is None:
            raise UnauthorizedError("unknown or revoked token")
        return principal

    def principal(self, name: str) -> Principal:
        """The principal named ``name``, to act as it (the local CLI's ``--as``)."""
        with self.uow() as uow:
            found = uow.principals.record(name)
        if found is None:
            raise NotFoundError(f"no principal named {name!r}")
        if found.revoked_at is not None:
            raise ForbiddenError(_revoked(found))
        return found.principal

    def principals(self) -> list[PrincipalRecord]:
        """Every principal, revoked or not, by name (the database operator's view)."""
        with self.uow() as uow:
            return uow.principals.records()

    def revoke_principal(self, name: str) -> PrincipalRecord:
        """Revoke a principal: its token is refused by every process from the commit on
        (``authenticate`` reads the database each time), and the audit log records it.
        The name stays taken, so the log and the requests keep naming one person."""
        with self.uow() as uow:
            uow.principals.revoke(name, self.clock.now())
            uow.commit()
            revoked = uow.principals.record(name)
        assert revoked is not None  # just revoked in this unit of work
        return revoked

    # -- submit and amend ----------------------------------------------------------
    def submit(
        self, who: Principal, document: object, idempotency_key: str | None = None
    ) -> Submitted:
        scenario, (doc, request) = self._read_first(self._read, document)
        if idempotency_key is not None and not 0 < len(idempotency_key) <= 255:
            raise RequestError("must be 1 to 255 characters", field="Idempotency-Key")
        access.must_submit_for(who, request.operator)
        # only with a key: a document's digest is its RFC 8785 form, which costs
        digest = document_digest(doc) if idempotency_key else ""
        with self.airspace.lock, self.uow() as uow:
            if idempotency_key:
                earlier = uow.idempotency.find(who.name, idempotency_key)
                if earlier is not None:
                    if earlier[1] != digest:
                        raise RequestError(
                            "was already used with a different request body",
                            field="Idempotency-Key",
                        )
                    record = uow.requests.get(earlier[0])
                    if record is None:  # pragma: no cover - the same transaction wrote both
                        raise NotFoundError(f"request {earlier[0]} is gone")
                    return Submitted(record, created=False)
            self._not_over(request)
            now = self.clock.now()
            request_id = new_request_id()
            request, evaluation, flagged = self._evaluate(uow, doc, request, scenario, request_id)
            record = RequestRecord.open(request_id, doc, request, evaluation, who.name, now)
            uow.requests.add(record)
            if idempotency_key:
                uow.idempotency.remember(who.name, idempotency_key, digest, record.id)
            self._flag(uow, flagged, record.id, now)
            uow.commit()
        return Submitted(record, created=True)

    def amend(
        self, who: Principal, request_id: str, document: object, expected_version: int
    ) -> Amended:
        scenario, (doc, request) = self._read_first(self._parse, document)
        with self.airspace.lock, self.uow() as uow:
            record = self._visible(uow, who, request_id)
            access.must_amend(who, record)
            if record.version != expected_version:
                raise ConflictError(
                    f"request {request_id} is at version {record.version}, not {expected_version}"
                )
            now = self.clock.now()
            request, evaluation, flagged = self._evaluate(uow, doc, request, scenario, request_id)
            kept, reset = record.amend(doc, request, evaluation, who.name, now)
            uow.requests.save(record, expected_version)
            self._flag(uow, flagged, record.id, now)
            uow.commit()
        return Amended(record, kept, reset)

    def evaluate(self, who: Principal, document: object) -> EvaluationResult:
        """Evaluate and deconflict ``document`` as a submission would, storing nothing:
        what the page shows while an operator composes a request."""
        scenario, (doc, request) = self._read_first(self._parse, document)
        access.must_submit_for(who, request.operator)
        with self.uow() as uow:
            _, evaluation, flagged = self._evaluate(uow, doc, request, scenario, None)
        return EvaluationResult(doc, evaluation, flagged)

    def _evaluate(
        self,
        uow: UnitOfWork,
        doc: dict[str, Any],
        request: Request,
        read_with: Scenario,
        request_id: str | None,
    ) -> tuple[Request, Evaluation, dict[str, list[str]]]:
        """Evaluate against the current version with the grants as this unit of work reads
        them, then deconflict against every pending and cleared request. ``request`` was
        read before the unit of work began; if a new version became current meanwhile,
        the document is read again against it."""
        scenario = self._scenario_in(uow)
        if scenario.version != read_with.version:
            request = self._parse(doc, scenario)[1]
        # a submission or amendment (with an id) locks its cells until it commits
        found = self.airspace.check(
            uow, request, scenario.priorities, own_id=request_id, lock=request_id is not None
        )
        evaluation = evaluate(request, scenario)
        return request, with_violations(evaluation, found.violations), found.flagged

    def _flag(
        self, uow: UnitOfWork, flagged: dict[str, list[str]], by_request: str, now: datetime
    ) -> None:
        for other_id, reasons in flagged.items():
            other = uow.requests.get(other_id)
            if other is not None:
                loaded = other.version
                other.flag(reasons, by_request, now)
                uow.requests.save(other, loaded)

    def _parse(self, document: object, scenario: Scenario) -> tuple[dict[str, Any], Request]:
        doc, request = self._read(document, scenario)
        self._not_over(request)
        return doc, request

    def _read(self, document: object, scenario: Scenario) -> tuple[dict[str, Any], Request]:
        """Validate, and keep the document as plain JSON data (YAML may hand us datetimes),
        so what is stored, digested and re-read is exactly what was evaluated."""
        if isinstance(document, dict):
            document = json.loads(json.dumps(document, default=_json_default))
        request = parse_request(document, scenario, limits=scenario.limits, now=self.clock.now())
        assert isinstance(document, dict)  # parse_request accepted it as a mapping
        _loggable(document, "")
        return document, request

    def _not_over(self, request: Request) -> None:
        now = self.clock.now()
        if all(v.time_end <= now for v in request.volumes):
            raise RequestError(
                f"every volume has already ended (now is {instant(now)})", field="volumes"
            )

    # -- decide, withdraw ----------------------------------------------------------
    def decide(
        self,
        who: Principal,
        request_id: str,
        authority: str,
        decision: Decision,
        comment: str = "",
        conditions: object = None,
    ) -> RequestRecord:
        access.must_be_member(who, authority)
        with self.uow() as uow:
            record = self._visible(uow, who, request_id)
            loaded = record.version
            now = self.clock.now()
            if record.expire_if_due(now):
                uow.requests.save(record, loaded)
                uow.commit()
                raise ConflictError(f"request {request_id} expired at {instant(record.time_start)}")
            access.must_decide(who, record, authority, decision)
            parsed = _conditions(conditions, record) if conditions is not None else None
            sign = decision_signer(uow, self.signer, authority) if self.signer else None
            record.decide(authority, decision, who.name, now, comment, parsed, sign)
            uow.requests.save(record, loaded)
            uow.commit()
        return record

    def withdraw(self, who: Principal, request_id: str) -> RequestRecord:
        with self.uow() as uow:
            record = self._visible(uow, who, request_id)
            access.must_withdraw(who, record)
            loaded = record.version
            record.withdraw(who.name, self.clock.now())
            uow.requests.save(record, loaded)
            uow.commit()
        return record

    def expire_due(self) -> list[str]:
        """Expire every request still pending at its first time_start."""
        now = self.clock.now()
        with self.uow() as uow:
            expired = []
            for record in uow.requests.due_for_expiry(now):
                loaded = record.version
                if record.expire_if_due(now):
                    uow.requests.save(record, loaded)
                    expired.append(record)
            uow.commit()
        return [r.id for r in expired]

    # -- grants --------------------------------------------------------------------
    def revoke_grant(self, who: Principal, grant_id: str) -> list[str]:
        """Revoke a grant (a member of its grantor only); returns the requests that went
        back to review because of it."""
        grant = self.current_scenario().grants.get(grant_id)
        if grant is None:
            raise NotFoundError(f"no grant {grant_id!r}")
        access.must_revoke(who, grant)
        now = self.clock.now()
        # The lock keeps this process's submissions from relying on the grant between
        # the scan below and the commit.
        with self.airspace.lock, self.uow() as uow:
            uow.grants.revoke(grant_id, who.name, now)
            revoked = uow.grants.revoked()  # with the revocation just written
            affected = []
            for record in uow.requests.open_for_operator(grant.grantee):
                loaded = record.version
                # each request against its own version, with today's revocations
                scenario = self.scenarios.get(uow, record.scenario_version).with_revoked(revoked)
                request = parse_request(record.document, scenario)
                if record.reconsider_grant(grant_id, evaluate(request, scenario), now):
                    uow.requests.save(record, loaded)
                    affected.append(record.id)
            uow.commit()
        return affected

    def _scenario_in(self, uow: UnitOfWork) -> Scenario:
        """The current version with the revocations this unit of work reads: both are rows,
        so a load or a revocation by any process counts at once."""
        return self.scenarios.current(uow).with_revoked(uow.grants.revoked())

    # -- reads ---------------------------------------------------------------------
    # Reads never write: a request due to expire is shown expired (with its event) at
    # once, and the expiry is stored by the next change to it or by ``expire_due``,
    # which the server runs periodically.
    def get(self, who: Principal, request_id: str) -> tuple[RequestRecord, list[Event]]:
        with self.uow() as uow:
            record = self._visible(uow, who, request_id)
            events = uow.requests.events(request_id)
        return self._as_of_now(record, events)

    def conflicts(self, who: Principal, violations: Sequence[Violation]) -> list[SeenConflict]:
        """The other side of each conflict among ``violations``, as much as ``who`` may see
        of it (``service.conflicts``)."""
        if not any(v.code == "conflict" for v in violations):
            return []
        with self.uow() as uow:
            return seen_conflicts(violations, uow.requests.get, partial(access.may_see, who))

    def _as_of_now(
        self, record: RequestRecord, events: list[Event] | None = None
    ) -> tuple[RequestRecord, list[Event]]:
        record.expire_if_due(self.clock.now())
        shown = [*(events or []), *record.events]
        record.events = []
        return record, shown

    def list_requests(
        self, who: Principal, state: RequestState | None = None, limit: int = 100
    ) -> list[RequestRecord]:
        """What ``who`` may see, newest first: its operator's requests and those in the
        chain of its authority."""
        with self.uow() as uow:
            found = _newest_visible(who, partial(uow.requests.search, state=state, limit=limit))
        return [self._as_of_now(r)[0] for r in found[:limit]]

    def overview(self, who: Principal, limit: int = OVERVIEW_LIMIT) -> Overview:
        """Requests by state and each authority's waiting times, over the ``limit``
        newest requests ``who`` may see."""
        with self.uow() as uow:
            found = _newest_visible(who, partial(uow.requests.chain_times, limit=limit))
        return overview(found[:limit], self.clock.now())

    def queue(self, who: Principal, authority: str) -> list[QueueItem]:
        """Requests waiting for ``authority`` now (earlier stages done), oldest first."""
        access.must_be_member(who, authority)
        with self.uow() as uow:
            found = uow.requests.needing_review(authority)
        current = [self._as_of_now(r)[0] for r in found]
        waiting = [r for r in current if authority in r.awaiting()]
        return [QueueItem(r, r.waiting_since(authority)) for r in waiting]

    # -- the database operator's view (local CLI; never reachable over the API) --------
    def inspect(self, request_id: str) -> tuple[RequestRecord, list[Event]]:
        with self.uow() as uow:
            record = uow.requests.get(request_id) if REQUEST_ID.fullmatch(request_id) else None
            if record is None:
                raise NotFoundError(f"no request {request_id!r}")
            events = uow.requests.events(request_id)
        return self._as_of_now(record, events)

    def inspect_all(
        self, state: RequestState | None = None, limit: int = 100
    ) -> list[RequestRecord]:
        with self.uow() as uow:
            found = uow.requests.search(state=state, limit=limit)
        return [self._as_of_now(r)[0] for r in found]

    def _visible(self, uow: UnitOfWork, who: Principal, request_id: str) -> RequestRecord:
        record = uow.requests.get(request_id) if REQUEST_ID.fullmatch(request_id) else None
        if record is None or not access.may_see(who, record):
            raise NotFoundError(f"no request {request_id!r}")
        return record


class _Dated(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def created_at(self) -> datetime: ...


Found = TypeVar("Found", bound=_Dated)
Read = TypeVar("Read")


def _newest_visible(who: Principal, fetch: Callable[..., list[Found]]) -> list[Found]:
    """What ``fetch(operator=...)`` and ``fetch(authority=...)`` find for ``who``'s roles,
    each once, newest first."""
    found: dict[str, Found] = {}
    if who.operator is not None:
        found.update((f.id, f) for f in fetch(operator=who.operator))
    if who.authority is not None:
        found.update((f.id, f) for f in fetch(authority=who.authority))
    return sorted(found.values(), key=lambda f: (f.created_at, f.id), reverse=True)


def _revoked(record: PrincipalRecord) -> str:
    at = instant(record.revoked_at) if record.revoked_at else "an unknown time"
    return f"principal {record.principal.name!r} was revoked at {at}"


def _json_default(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise RequestError(f"holds a value JSON cannot carry ({type(value).__name__})")


def _loggable(value: object, field: str) -> None:
    """The audit log holds RFC 8785 canonical JSON, which has no integers beyond 2**53."""
    try:
        canonical_json(value)
    except ValueError as e:
        raise RequestError(f"holds a number JSON cannot carry exactly: {e}", field=field) from None


def _conditions(raw: object, record: RequestRecord) -> Conditions:
    """Conditions attached to an approval; a narrower window must lie within the request's."""
    f = Fields(raw, path="conditions", error=RequestError)
    f.only("text", "time_start", "time_end", "volume")
    text = f.text("text")
    start = f.instant("time_start") if f.has("time_start") else None
    end = f.instant("time_end") if f.has("time_end") else None
    lo, hi = start or record.time_start, end or record.time_end
    if lo >= hi:
        raise f.fail("time_end must be after time_start", "time_end")
    if lo < record.time_start or hi > record.time_end:
        raise f.fail(
            f"the window must lie within the request's ({instant(record.time_start)} to "
            f"{instant(record.time_end)})"
        )
    volume = None
    if f.has("volume"):
        raw_volume = f.raw("volume")
        parse_volume(f.obj("volume"))
        assert isinstance(raw_volume, dict)
        _loggable(raw_volume, "conditions.volume")
        volume = raw_volume
    return Conditions(text, start, end, volume)
