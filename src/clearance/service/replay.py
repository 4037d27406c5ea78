"""Replay a timeline (``domain.clearance.timeline``) through the real handlers.

The context's clock is a ``ScriptClock``: before each step it is set to the step's time,
so every record, decision and wait is dated as the script says. The principals the
script names are made as it first needs them: an operator's planner, an authority's
member. An authority that keeps a root key (``Authority.root_key``) has its members
sign their decisions: ``PartyKeys`` (the parties' own machines, a folder beside the
database) holds its root key and makes each member's key, which its root key enrolls
before the member's first decision; the service only ever sees public keys and
signatures. What the replay leaves behind is read back as time to clearance per request
and, per authority, the waits the overview counts (``domain.clearance.overview``).
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from clearance.domain.clearance.model import Principal
from clearance.domain.clearance.overview import AuthorityWaits, ChainTimes, overview
from clearance.domain.clearance.timeline import Step, Timeline, moved
from clearance.domain.clearance.workflow import Decision, RequestRecord, RequestState
from clearance.domain.documents import instant
from clearance.domain.errors import ClearanceError, InputError, NotFoundError, TimelineError
from clearance.domain.ledger.checkpoint import raw_public
from clearance.domain.ledger.members import ENROLLED, MemberStatement
from clearance.domain.ledger.signatures import document_digest, sign_statement, statement_for
from clearance.service import handlers, queries
from clearance.service.context import Context
from clearance.service.handlers.decide import Signed, read_conditions
from clearance.service.ports import Clock


class ScriptClock(Clock):
    """The time a script says: set before each step, never back."""

    rate = 0.0

    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at

    def set(self, at: datetime) -> None:
        if at < self.at:
            raise ValueError(f"a script clock does not go back ({at} < {self.at})")
        self.at = at


class PartyKeys(Protocol):
    """The parties' own key files, outside the service."""

    def root(self, authority: str) -> Ed25519PrivateKey:
        """``authority``'s root private key (``InputError`` naming the file if none)."""

    def member(self, authority: str, member: str) -> Ed25519PrivateKey:
        """The member's private key, made on first use."""


@dataclass(frozen=True)
class RequestTimes:
    ref: str
    request_id: str
    state: str
    submitted_at: datetime
    cleared_at: datetime | None  # when the last approval it needed was given

    @property
    def seconds_to_clearance(self) -> float | None:
        if self.cleared_at is None:
            return None
        return (self.cleared_at - self.submitted_at).total_seconds()


@dataclass(frozen=True)
class Replayed:
    start: datetime
    end: datetime
    steps: int
    requests: list[RequestTimes]
    authorities: list[AuthorityWaits]

    @property
    def median_seconds_to_clearance(self) -> float | None:
        done = [t for r in self.requests if (t := r.seconds_to_clearance) is not None]
        return statistics.median(done) if done else None


def replay(
    ctx: Context,
    clock: ScriptClock,
    timeline: Timeline,
    documents: Mapping[str, Mapping[str, Any]],
    keys: PartyKeys,
) -> Replayed:
    """Run every step of ``timeline`` through the handlers in ``ctx`` (whose clock is
    ``clock``); ``documents`` are the example requests it names. A step the service
    refuses raises its error, its message prefixed with the step (``steps[3].decide``)
    and the file as its source."""
    ids: dict[str, str] = {}
    planners: dict[str, str] = {}  # ref -> who submitted it
    made: set[str] = set()
    enrolled: set[tuple[str, str]] = set()
    for step in timeline.steps:
        clock.set(step.at)
        try:
            _run(ctx, timeline, step, documents, keys, ids, planners, made, enrolled)
        except ClearanceError as e:
            raise _located(e, timeline.source, step) from None
    clock.set(timeline.end)
    return _times(ctx, ids, timeline)


def _run(
    ctx: Context,
    timeline: Timeline,
    step: Step,
    documents: Mapping[str, Mapping[str, Any]],
    keys: PartyKeys,
    ids: dict[str, str],
    planners: dict[str, str],
    made: set[str],
    enrolled: set[tuple[str, str]],
) -> None:
    if step.action in ("submit", "amend"):
        assert step.request is not None  # parse_timeline requires it
        document: Mapping[str, Any] = documents[step.request]
        if step.start is not None:
            document = moved(document, step.start)
        operator = str(document.get("operator"))
        name = step.by or (planners.get(step.ref))
        name = name or timeline.planner(operator)
        who = _principal(ctx, made, name, operator=operator)
        if step.action == "submit":
            ids[step.ref] = handlers.submit(ctx, who, dict(document)).record.id
            planners[step.ref] = name
        else:
            seen, _ = queries.get(ctx, who, ids[step.ref])
            handlers.amend(ctx, who, ids[step.ref], dict(document), seen.version)
    elif step.action == "withdraw":
        who = _principal(ctx, made, step.by or planners[step.ref])
        handlers.withdraw(ctx, who, ids[step.ref])
    else:
        assert step.authority is not None
        assert step.by is not None
        assert step.decision is not None
        who = _principal(ctx, made, step.by, authority=step.authority)
        _decide(ctx, keys, enrolled, who, ids[step.ref], step)


def _principal(
    ctx: Context,
    made: set[str],
    name: str,
    *,
    operator: str | None = None,
    authority: str | None = None,
) -> Principal:
    """The principal ``name``, made with this role when there is none (no token is kept:
    the replay acts through the handlers, not the API)."""
    if name not in made and (operator is not None or authority is not None):
        try:
            queries.principal(ctx, name)
        except NotFoundError:
            handlers.add_principal(ctx, name, operator=operator, authority=authority)
        made.add(name)
    return queries.principal(ctx, name)


def _decide(
    ctx: Context,
    keys: PartyKeys,
    enrolled: set[tuple[str, str]],
    who: Principal,
    request_id: str,
    step: Step,
) -> None:
    assert step.authority is not None
    assert step.decision is not None
    decision = Decision.APPROVE if step.decision == "approve" else Decision.DENY
    conditions = dict(step.conditions) if step.conditions is not None else None
    keeper = ctx.current_scenario().authorities.get(step.authority)
    if keeper is None or keeper.root_key is None:  # recorded unsigned
        handlers.decide(ctx, who, request_id, step.authority, decision, step.comment, conditions)
        return
    private = keys.member(step.authority, who.name)
    if (step.authority, who.name) not in enrolled:
        _enroll(ctx, keys.root(step.authority), step.authority, who.name, private)
        enrolled.add((step.authority, who.name))
    seen, _ = queries.get(ctx, who, request_id)
    parsed = read_conditions(conditions, seen) if conditions is not None else None
    at = ctx.clock.now()
    statement = statement_for(
        seen.id,
        seen.version + 1,
        document_digest(seen.document),
        step.authority,
        decision.value,
        step.comment,
        parsed,
        who.name,
        at,
    )
    handlers.decide(
        ctx, who, request_id, step.authority, decision, step.comment, conditions,
        expected_version=seen.version, signed=Signed(at, sign_statement(private, statement)),
    )  # fmt: skip


def _enroll(
    ctx: Context, root: Ed25519PrivateKey, authority: str, member: str, key: Ed25519PrivateKey
) -> None:
    """Enroll ``key`` for ``member`` with the authority's root key, as ``clearance member
    enroll`` does on the officer's machine; a key enrolled already is left as it is."""
    public = raw_public(key)
    if any(
        k.authority == authority and k.member == member and k.public_key == public
        for k in queries.member_keys(ctx)
        if k.revoked_at is None
    ):
        return
    unsigned = MemberStatement(ENROLLED, authority, member, public, ctx.clock.now(), "")
    statement = replace(unsigned, signature=sign_statement(root, unsigned.fields()))
    handlers.apply_member_statement(ctx, statement)


def _times(ctx: Context, ids: Mapping[str, str], timeline: Timeline) -> Replayed:
    now = ctx.clock.now()
    chains: list[ChainTimes] = []
    rows: list[RequestTimes] = []
    for ref, request_id in ids.items():
        record, _ = queries.inspect(ctx, request_id)
        chain = ChainTimes.of(record)
        chains.append(chain)
        state = chain.state_at(now)
        rows.append(
            RequestTimes(
                ref, request_id, state.value, record.created_at, _cleared_at(record, state)
            )
        )
    waits = overview(chains, now).authorities
    return Replayed(timeline.start, timeline.end, len(timeline.steps), rows, waits)


def _cleared_at(record: RequestRecord, state: RequestState) -> datetime | None:
    """When ``record`` was cleared: its last person's approval, or its submission (or
    latest amendment) when nobody had to decide. None unless it is cleared now."""
    if state is not RequestState.CLEARED:
        return None
    decided = [a.at for a in record.approvals if a.at is not None]
    return max(decided) if decided else record.updated_at


def _located(error: ClearanceError, source: str, step: Step) -> TimelineError:
    """A step the service refused, as the timeline's error: its source the file, its
    field under the step (a refusal of any kind means the script is wrong)."""
    if isinstance(error, InputError):
        where = f"{step.field}.{error.field}" if error.field else step.field
        rule = f"{error.source}: {error.rule}" if error.source else error.rule
        return TimelineError(rule, source=source, field=where)
    return TimelineError(f"refused at {instant(step.at)}: {error}", source=source, field=step.field)


def replayed_view(r: Replayed) -> dict[str, Any]:
    """The replay's figures as ``--json`` prints them."""

    def maybe(at: datetime | None) -> str | None:
        return instant(at) if at is not None else None

    return {
        "start": instant(r.start),
        "end": instant(r.end),
        "steps": r.steps,
        "median_seconds_to_clearance": r.median_seconds_to_clearance,
        "requests": [
            {
                "ref": q.ref,
                "request_id": q.request_id,
                "state": q.state,
                "submitted_at": instant(q.submitted_at),
                "cleared_at": maybe(q.cleared_at),
                "seconds_to_clearance": q.seconds_to_clearance,
            }
            for q in r.requests
        ],
        "authorities": [
            {
                "authority": a.authority,
                "decisions": a.decisions,
                "median_wait_seconds": a.median_wait_seconds,
                "p90_wait_seconds": a.p90_wait_seconds,
                "waiting_now": a.waiting_now,
            }
            for a in r.authorities
        ],
    }


__all__ = [
    "PartyKeys",
    "Replayed",
    "RequestTimes",
    "ScriptClock",
    "replay",
    "replayed_view",
]
