"""The life of a persisted request: decisions stage by stage, withdrawal, expiry,
amendment and grant revocation.

A ``RequestRecord`` is a ``Request`` as stored: id, version, state and the approvals with
the people's decisions. Its methods enforce the rules and append an ``Event`` for every
change; they never touch storage. ``state`` follows the same precedence as an
evaluation's outcome (infeasible, denied, pending, cleared) until the operator withdraws
or the request expires, which end it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from clearance.domain.clearance.model import (
    Approval,
    ApprovalStatus,
    Conditions,
    Evaluation,
    Outcome,
    Request,
    Violation,
    outcome_of,
)
from clearance.domain.errors import ConflictError
from clearance.domain.ledger.merkle import canonical_json
from clearance.domain.ledger.signatures import decision_statement, document_digest, instant


class RequestState(StrEnum):
    PENDING = "pending"
    CLEARED = "cleared"
    DENIED = "denied"
    INFEASIBLE = "infeasible"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"


class Decision(StrEnum):
    APPROVE = "approve"
    DENY = "deny"


GIVEN = frozenset(
    {ApprovalStatus.AUTO_APPROVED, ApprovalStatus.COVERED_BY_GRANT, ApprovalStatus.APPROVED}
)


def decided_by_person(approval: Approval) -> bool:
    """A member's decision (signed, with who and when), as opposed to an approval a policy
    denied when the request was evaluated: ``denied`` with no one. Only a member ever
    approves (a policy auto-approves), so an ``approved`` approval counts whoever it names."""
    if approval.status is ApprovalStatus.APPROVED:
        return True
    return approval.status is ApprovalStatus.DENIED and approval.by is not None


OPEN_STATES = frozenset({RequestState.PENDING, RequestState.CLEARED})
ENDED_STATES = frozenset({RequestState.WITHDRAWN, RequestState.EXPIRED})


class ApprovalTiming(Protocol):
    """What the chain's timing rules read of an approval (an ``Approval`` has all of it,
    so has the overview's ``ApprovalTimes``)."""

    @property
    def authority(self) -> str: ...
    @property
    def stage(self) -> int: ...
    @property
    def status(self) -> ApprovalStatus: ...
    @property
    def at(self) -> datetime | None: ...


def due_to_expire(state: RequestState, time_start: datetime, now: datetime) -> bool:
    """A request still pending at its first time_start expires."""
    return state is RequestState.PENDING and now >= time_start


def awaiting(state: RequestState, approvals: Sequence[ApprovalTiming]) -> list[str]:
    """Authorities that may decide now: needs_review, and every earlier stage given."""
    if state is not RequestState.PENDING:
        return []
    return [
        s.authority
        for s in approvals
        if s.status is ApprovalStatus.NEEDS_REVIEW
        and all(e.status in GIVEN for e in approvals if e.stage < s.stage)
    ]


def waiting_since(
    approvals: Sequence[ApprovalTiming], created_at: datetime, stage: int
) -> datetime:
    """When an approval of ``stage`` could first be decided: when the earlier stages were all
    done, or the request was submitted."""
    times = [s.at for s in approvals if s.stage < stage and s.at is not None]
    return max([created_at, *times])


@dataclass(frozen=True, slots=True)
class Event:
    """One change to one request, for its timeline (and, later, the audit log)."""

    request_id: str
    version: int
    kind: str
    at: datetime
    by: str | None
    detail: dict[str, Any]


@dataclass
class RequestRecord:
    id: str
    version: int
    operator: str
    submitted_by: str
    document: dict[str, Any]
    state: RequestState
    outcome: Outcome
    # when ``outcome`` and ``violations`` were evaluated (the last submission or amendment)
    evaluated_at: datetime
    approvals: list[Approval]
    violations: list[Violation]
    time_start: datetime
    time_end: datetime
    created_at: datetime
    updated_at: datetime
    # the digest of the scenario version it was last evaluated against ("" before 0004)
    scenario_version: str = ""
    events: list[Event] = field(default_factory=list)

    # -- creation ------------------------------------------------------------------
    @classmethod
    def open(
        cls,
        request_id: str,
        document: dict[str, Any],
        request: Request,
        evaluation: Evaluation,
        submitted_by: str,
        now: datetime,
    ) -> RequestRecord:
        approvals = [_with_inputs(a, document) for a in evaluation.approvals]
        record = cls(
            id=request_id,
            version=1,
            operator=request.operator,
            submitted_by=submitted_by,
            document=document,
            state=_state(approvals, list(evaluation.violations)),
            outcome=evaluation.outcome,
            evaluated_at=now,
            approvals=approvals,
            violations=list(evaluation.violations),
            time_start=request.time_start,
            time_end=max(v.time_end for v in request.volumes),
            created_at=now,
            updated_at=now,
            scenario_version=evaluation.scenario_version,
        )
        detail = {
            "outcome": evaluation.outcome.value,
            "scenario_version": evaluation.scenario_version,
        }
        record._event("submitted", now, submitted_by, detail)
        return record

    # -- queries -------------------------------------------------------------------
    def approval(self, authority: str) -> Approval:
        for a in self.approvals:
            if a.authority == authority:
                return a
        raise ConflictError(f"request {self.id} needs no decision from {authority}")

    def waiting_since(self, authority: str) -> datetime:
        """When ``authority``'s approval could first be decided: when the earlier stages were
        all done (or the request was submitted)."""
        return waiting_since(self.approvals, self.created_at, self.approval(authority).stage)

    def awaiting(self) -> list[str]:
        """Authorities that may decide now: needs_review, and every earlier stage given."""
        return awaiting(self.state, self.approvals)

    # -- changes -------------------------------------------------------------------
    def decide(
        self,
        authority: str,
        decision: Decision,
        by: str,
        now: datetime,
        comment: str = "",
        conditions: Conditions | None = None,
        sign: Callable[[bytes], str] | None = None,
        key: str | None = None,
    ) -> None:
        """A member's decision; the caller has checked membership and separation of duties.
        ``key``: the member's enrolled public key (base64) when ``sign`` checks the
        member's own signature rather than making the authority's.

        With ``sign`` (canonical JSON bytes -> base64 signature: the check of the member's
        own signature), the decision carries that signature of its statement (see
        ``domain.signatures``), on the approval and, with the statement's other fields, in
        the event's detail; without it, the decision is recorded unsigned."""
        self._require(RequestState.PENDING, f"decide for {authority}")
        current = self.approval(authority)
        if current.status is not ApprovalStatus.NEEDS_REVIEW:
            raise ConflictError(
                f"{authority}'s approval on request {self.id} is {current.status.value}, not needs_review"
            )
        if authority not in self.awaiting():
            waiting = sorted(
                a.authority
                for a in self.approvals
                if a.stage < current.stage and a.status not in GIVEN
            )
            raise ConflictError(
                f"{authority} decides at stage {current.stage}; earlier stages are not done "
                f"(waiting for {', '.join(waiting)})"
            )
        status = ApprovalStatus.APPROVED if decision is Decision.APPROVE else ApprovalStatus.DENIED
        decided = replace(
            current, status=status, by=by, at=now, comment=comment, conditions=conditions
        )
        detail: dict[str, Any] = {
            "authority": authority,
            "decision": decision.value,
            "comment": comment,
        }
        if sign is not None:
            digest = document_digest(self.document)
            statement = decision_statement(self.id, self.version + 1, digest, decided)
            decided = replace(decided, signature=sign(canonical_json(statement)))
            detail |= {
                "conditions": statement["conditions"],
                "document_digest": digest,
                "signature": decided.signature,
            }
            if key is not None:
                detail["key"] = key
        self.approvals = [decided if a.authority == authority else a for a in self.approvals]
        self.state = _state(self.approvals, self.violations)
        self._event("decided", now, by, detail)

    def withdraw(self, by: str, now: datetime) -> None:
        if self.state not in OPEN_STATES:
            raise ConflictError(
                f"request {self.id} is {self.state.value}; only pending or cleared requests can be withdrawn"
            )
        self.state = RequestState.WITHDRAWN
        self._event("withdrawn", now, by, {})

    def record_conformance(self, result: dict[str, Any], by: str | None, now: datetime) -> None:
        """Keep a conformance result (what was flown against what was cleared)."""
        self._event("conformance", now, by, result)

    def flag(self, reasons: list[str], by_request: str, now: datetime) -> None:
        """Record that a higher-priority request overrides some of this one's volumes."""
        self._event("flagged", now, None, {"by_request": by_request, "reasons": reasons})

    def expire_if_due(self, now: datetime) -> bool:
        """A request still pending at its first time_start expires."""
        if due_to_expire(self.state, self.time_start, now):
            self.state = RequestState.EXPIRED
            self._event("expired", now, None, {"time_start": instant(self.time_start)})
            return True
        return False

    def amend(
        self,
        document: dict[str, Any],
        request: Request,
        evaluation: Evaluation,
        by: str,
        now: datetime,
    ) -> tuple[list[str], list[str]]:
        """A new version: keep each person's decision whose inputs did not change, reset the
        others. Returns (kept, reset) authority ids."""
        if self.state in ENDED_STATES:
            raise ConflictError(f"request {self.id} is {self.state.value} and cannot be amended")
        if request.operator != self.operator:
            raise ConflictError("an amendment cannot change the operator")
        old = {a.authority: a for a in self.approvals}
        kept, reset, approvals = [], [], []
        for fresh in (_with_inputs(a, document) for a in evaluation.approvals):
            before = old.get(fresh.authority)
            if before is not None and decided_by_person(before):
                if before.inputs == fresh.inputs:
                    kept.append(fresh.authority)
                    approvals.append(before)
                    continue
                reset.append(fresh.authority)
            approvals.append(fresh)
        reset += [
            a for a, b in old.items() if decided_by_person(b) and a not in kept and a not in reset
        ]
        self.document = document
        self.approvals = approvals
        self.violations = list(evaluation.violations)
        self.outcome = evaluation.outcome
        self.evaluated_at = now
        self.time_start = request.time_start
        self.time_end = max(v.time_end for v in request.volumes)
        self.state = _state(self.approvals, self.violations)
        detail: dict[str, Any] = {
            "kept": kept,
            "reset": reset,
            "outcome": evaluation.outcome.value,
            "scenario_version": evaluation.scenario_version,
        }
        if evaluation.scenario_version != self.scenario_version:
            # evaluated against the current version, not the one it was filed under
            detail["previous_scenario_version"] = self.scenario_version
        self.scenario_version = evaluation.scenario_version
        self._event("amended", now, by, detail)
        return kept, reset

    def reconsider_grant(self, grant: str, evaluation: Evaluation, now: datetime) -> list[str]:
        """After ``grant`` was revoked: every approval given automatically whose fresh evaluation
        differs takes the fresh answer (usually needs_review). Returns those authorities."""
        if self.state not in OPEN_STATES:
            return []
        fresh = {a.authority: _with_inputs(a, self.document) for a in evaluation.approvals}
        changed = []
        approvals = []
        for a in self.approvals:
            new = fresh.get(a.authority)
            automatic = a.status in (ApprovalStatus.AUTO_APPROVED, ApprovalStatus.COVERED_BY_GRANT)
            if new is not None and automatic and (new.status, new.grant) != (a.status, a.grant):
                reason = f"grant {grant} was revoked on {instant(now)}"
                approvals.append(replace(new, reasons=(reason, *new.reasons)))
                changed.append(a.authority)
            else:
                approvals.append(a)
        if changed:
            self.approvals = approvals
            self.state = _state(self.approvals, self.violations)
            self._event("grant_revoked", now, None, {"grant": grant, "authorities": changed})
        return changed

    # -- helpers -------------------------------------------------------------------
    def _require(self, state: RequestState, action: str) -> None:
        if self.state is not state:
            raise ConflictError(f"cannot {action}: request {self.id} is {self.state.value}")

    def _event(self, kind: str, now: datetime, by: str | None, detail: dict[str, Any]) -> None:
        if self.events or kind != "submitted":
            self.version += 1
        self.updated_at = now
        self.events.append(Event(self.id, self.version, kind, now, by, detail))


def _state(approvals: list[Approval], violations: list[Violation]) -> RequestState:
    return RequestState(outcome_of(tuple(approvals), tuple(violations)).value)


def _with_inputs(approval: Approval, document: dict[str, Any]) -> Approval:
    return replace(approval, inputs=inputs_digest(approval, document))


def inputs_digest(approval: Approval, document: dict[str, Any]) -> str:
    """What an authority decided on: who flies what, how and from where, the volumes it
    decides on, and what the rules said. The justification is deliberately left out."""
    volumes = document.get("volumes", [])
    basis = {
        "who": [
            document.get(k) for k in ("operator", "aircraft", "payload", "purpose", "launch_site")
        ],
        "volumes": [volumes[i] for i in approval.volumes if i < len(volumes)],
        "evaluated": [approval.status.value, approval.grant, list(approval.policies)],
    }
    text = json.dumps(basis, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()
