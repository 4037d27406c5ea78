"""The reads: who a token names, a request and its timeline, lists, queues, the overview,
and what a document would give if submitted now. None of them writes.

A request due to expire is shown expired (with its event) at once, and the expiry is
stored by the next change to it or by the ``expire_due`` handler, which the server runs
periodically. A request ``who`` may not see does not exist for them (404).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, Protocol, TypeVar

from clearance.domain.clearance import access
from clearance.domain.clearance.deadlines import review_deadlines
from clearance.domain.clearance.model import Evaluation, Principal, Violation
from clearance.domain.clearance.overview import ChainTimes, Overview
from clearance.domain.clearance.overview import overview as summarise
from clearance.domain.clearance.workflow import Event, RequestRecord, RequestState
from clearance.domain.documents import instant
from clearance.domain.errors import ForbiddenError, NotFoundError, UnauthorizedError
from clearance.service.conflicts import SeenConflict, seen_conflicts
from clearance.service.context import Context
from clearance.service.documents import evaluate_in, read_first, read_live
from clearance.service.ports import MemberKey, PrincipalRecord, UnitOfWork
from clearance.service.tokens import token_digest

OVERVIEW_LIMIT = 5_000
REQUEST_ID = re.compile(r"req-[0-9a-f]{1,64}")


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
    review_deadline: datetime | None = None  # the authority's (domain.clearance.deadlines)


# -- principals ------------------------------------------------------------------------
def authenticate(ctx: Context, token: str | None) -> Principal:
    """The principal a token names, read from the database on every call (one indexed
    query), so a token replaced or revoked by any process is refused at once."""
    if not token:
        raise UnauthorizedError("send Authorization: Bearer <token>")
    with ctx.uow() as uow:
        principal = uow.principals.by_token(token_digest(token))
    if principal is None:
        raise UnauthorizedError("unknown or revoked token")
    return principal


def principal(ctx: Context, name: str) -> Principal:
    """The principal named ``name``, to act as it (the local CLI's ``--as``)."""
    with ctx.uow() as uow:
        found = uow.principals.record(name)
    if found is None:
        raise NotFoundError(f"no principal named {name!r}")
    if found.revoked_at is not None:
        raise ForbiddenError(revoked_message(found))
    return found.principal


def principals(ctx: Context) -> list[PrincipalRecord]:
    """Every principal, revoked or not, by name (the database operator's view)."""
    with ctx.uow() as uow:
        return uow.principals.records()


def member_keys(ctx: Context) -> list[MemberKey]:
    """Every enrolled member key, revoked or not (public keys only: no other kind is held)."""
    with ctx.uow() as uow:
        return uow.member_keys.records()


def revoked_message(record: PrincipalRecord) -> str:
    at = instant(record.revoked_at) if record.revoked_at else "an unknown time"
    return f"principal {record.principal.name!r} was revoked at {at}"


# -- requests ----------------------------------------------------------------------------
def evaluate(ctx: Context, who: Principal, document: object) -> EvaluationResult:
    """Evaluate and deconflict ``document`` as a submission would, storing nothing:
    what the page shows while an operator composes a request."""
    scenario, (doc, request) = read_first(ctx, read_live, document)
    access.must_submit_for(who, request.operator)
    with ctx.uow() as uow:
        _, evaluation, flagged = evaluate_in(ctx, uow, doc, request, scenario, None)
    return EvaluationResult(doc, evaluation, flagged)


def get(ctx: Context, who: Principal, request_id: str) -> tuple[RequestRecord, list[Event]]:
    with ctx.uow() as uow:
        record = visible(uow, who, request_id)
        events = uow.requests.events(request_id)
    return as_of_now(ctx, record, events)


def conflicts(ctx: Context, who: Principal, violations: Sequence[Violation]) -> list[SeenConflict]:
    """The other side of each conflict among ``violations``, as much as ``who`` may see
    of it (``service.conflicts``)."""
    if not any(v.code == "conflict" for v in violations):
        return []
    with ctx.uow() as uow:
        return seen_conflicts(violations, uow.requests.get, partial(access.may_see, who))


def list_requests(
    ctx: Context, who: Principal, state: RequestState | None = None, limit: int = 100
) -> list[RequestRecord]:
    """What ``who`` may see, newest first: its operator's requests and those in the
    chain of its authority."""
    with ctx.uow() as uow:
        found = _newest_visible(who, partial(uow.requests.search, state=state, limit=limit))
    return [as_of_now(ctx, r)[0] for r in found[:limit]]


def overview(ctx: Context, who: Principal, limit: int = OVERVIEW_LIMIT) -> Overview:
    """Requests by state and each authority's waiting times, over the ``limit`` newest
    requests ``who`` may see."""
    with ctx.uow() as uow:
        found = visible_chains(uow, who, limit)
    return summarise(found, ctx.clock.now())


def visible_chains(uow: UnitOfWork, who: Principal, limit: int) -> list[ChainTimes]:
    """The timing of the ``limit`` newest requests ``who`` may see, newest first."""
    return _newest_visible(who, partial(uow.requests.chain_times, limit=limit))[:limit]


def queue(ctx: Context, who: Principal, authority: str) -> list[QueueItem]:
    """Requests waiting for ``authority`` now (earlier stages done), oldest first."""
    access.must_be_member(who, authority)
    with ctx.uow() as uow:
        found = uow.requests.needing_review(authority)
    current = [as_of_now(ctx, r)[0] for r in found]
    waiting = [r for r in current if authority in r.awaiting()]
    return [
        QueueItem(r, r.waiting_since(authority), deadlines_of(ctx, r).get(authority))
        for r in waiting
    ]


def deadlines_of(ctx: Context, record: RequestRecord) -> dict[str, datetime]:
    """The review deadlines of the authorities ``record`` waits for, by the scenario
    version it was evaluated against."""
    scenario = ctx.scenario_of(record)
    rules = {a: x.review_deadline for a, x in scenario.authorities.items()}
    return review_deadlines(record, rules)


# -- the database operator's view (local CLI; never reachable over the API) --------------
def inspect(ctx: Context, request_id: str) -> tuple[RequestRecord, list[Event]]:
    with ctx.uow() as uow:
        record = uow.requests.get(request_id) if REQUEST_ID.fullmatch(request_id) else None
        if record is None:
            raise NotFoundError(f"no request {request_id!r}")
        events = uow.requests.events(request_id)
    return as_of_now(ctx, record, events)


def inspect_all(
    ctx: Context, state: RequestState | None = None, limit: int = 100
) -> list[RequestRecord]:
    with ctx.uow() as uow:
        found = uow.requests.search(state=state, limit=limit)
    return [as_of_now(ctx, r)[0] for r in found]


# -- shared with the handlers --------------------------------------------------------------
def visible(uow: UnitOfWork, who: Principal, request_id: str) -> RequestRecord:
    """The request, if ``who`` may see it; else ``NotFoundError``, as if it did not exist."""
    record = uow.requests.get(request_id) if REQUEST_ID.fullmatch(request_id) else None
    if record is None or not access.may_see(who, record):
        raise NotFoundError(f"no request {request_id!r}")
    return record


def as_of_now(
    ctx: Context, record: RequestRecord, events: list[Event] | None = None
) -> tuple[RequestRecord, list[Event]]:
    """The record as it stands now (expired if due), with its stored and new events."""
    record.expire_if_due(ctx.clock.now())
    shown = [*(events or []), *record.events]
    record.events = []
    return record, shown


class _Dated(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def created_at(self) -> datetime: ...


Found = TypeVar("Found", bound=_Dated)


def _newest_visible(who: Principal, fetch: Callable[..., list[Found]]) -> list[Found]:
    """What ``fetch(operator=...)`` and ``fetch(authority=...)`` find for ``who``'s roles,
    each once, newest first."""
    found: dict[str, Found] = {}
    if who.operator is not None:
        found.update((f.id, f) for f in fetch(operator=who.operator))
    if who.authority is not None:
        found.update((f.id, f) for f in fetch(authority=who.authority))
    return sorted(found.values(), key=lambda f: (f.created_at, f.id), reverse=True)
