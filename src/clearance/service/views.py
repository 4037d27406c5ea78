"""Plain-data views of domain results and persisted requests, shared by the CLI's --json
and the API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from clearance.domain.clearance.deadlines import review_deadlines
from clearance.domain.clearance.model import Approval, Evaluation, Violation
from clearance.domain.clearance.overview import Overview
from clearance.domain.clearance.scenario import Scenario
from clearance.domain.clearance.titles import request_title
from clearance.domain.clearance.workflow import Event, RequestRecord
from clearance.domain.documents import instant
from clearance.domain.ledger.members import key_text
from clearance.domain.ledger.signatures import conditions_json
from clearance.service.conflicts import SeenConflict
from clearance.service.outbox import Delivery, Subscription
from clearance.service.ports import MemberKey, PrincipalRecord
from clearance.service.queries import EvaluationResult, QueueItem


def approval_view(a: Approval) -> dict[str, Any]:
    return {
        "authority": a.authority,
        "party": a.party,
        "stage": a.stage,
        "status": a.status.value,
        "reasons": list(a.reasons),
        "policies": list(a.policies),
        "grant": a.grant,
    }


def violation_view(v: Violation) -> dict[str, str]:
    return {"code": v.code, "message": v.message}


def evaluation_view(e: Evaluation) -> dict[str, Any]:
    return {
        "outcome": e.outcome.value,
        "approvals": [approval_view(a) for a in e.approvals],
        "violations": [violation_view(v) for v in e.violations],
    }


def _maybe_instant(at: datetime | None) -> str | None:
    return instant(at) if at is not None else None


def decided_approval_view(a: Approval) -> dict[str, Any]:
    """An evaluation's approval view plus who decided, when, and what they attached."""
    return approval_view(a) | {
        "volumes": list(a.volumes),
        "by": a.by,
        "at": _maybe_instant(a.at),
        "comment": a.comment,
        "conditions": conditions_json(a.conditions),
        # the authority's Ed25519 signature of the decision (domain.signatures), base64
        "signature": a.signature or None,
    }


def summary_view(r: RequestRecord, scenario: Scenario) -> dict[str, Any]:
    """What a list or queue shows of a request: no document, no approval details."""
    return {
        "id": r.id,
        "title": request_title(r.document, r.time_start, scenario),
        "version": r.version,
        "state": r.state.value,
        "operator": r.operator,
        "submitted_by": r.submitted_by,
        "created_at": instant(r.created_at),
        "updated_at": instant(r.updated_at),
        "time_start": instant(r.time_start),
        "time_end": instant(r.time_end),
        "awaiting": r.awaiting(),
        # when each authority that holds the request could first decide
        "waiting_since": {a: instant(r.waiting_since(a)) for a in r.awaiting()},
    }


def last_evaluation_view(r: RequestRecord) -> dict[str, Any]:
    """A stored request's last evaluation (at its submission or latest amendment): what
    the rules said then. The request's live ``state`` can differ (decisions since)."""
    return {
        "outcome": r.outcome.value,
        "violations": [violation_view(v) for v in r.violations],
        "evaluated_at": instant(r.evaluated_at),
        "scenario_version": r.scenario_version,
    }


def record_view(r: RequestRecord, scenario: Scenario) -> dict[str, Any]:
    """The request resource: one live ``state``, the last evaluation nested, and the
    review deadlines of the authorities it waits for."""
    rules = {a: x.review_deadline for a, x in scenario.authorities.items()}
    return summary_view(r, scenario) | {
        "evaluation": last_evaluation_view(r),
        "approvals": [decided_approval_view(a) for a in r.approvals],
        "review_deadlines": [
            {"authority": a, "at": instant(at)} for a, at in review_deadlines(r, rules).items()
        ],
        "document": r.document,
    }


def event_view(e: Event) -> dict[str, Any]:
    return {
        "version": e.version,
        "kind": e.kind,
        "at": instant(e.at),
        "by": e.by,
        "detail": e.detail,
    }


def principal_view(p: PrincipalRecord) -> dict[str, Any]:
    """A principal as ``clearance principal list --json`` shows it (never a token)."""
    return {
        "name": p.principal.name,
        "operator": p.principal.operator,
        "authority": p.principal.authority,
        "created_at": _maybe_instant(p.created_at),
        "revoked_at": _maybe_instant(p.revoked_at),
    }


def member_key_view(k: MemberKey) -> dict[str, Any]:
    return {
        "authority": k.authority,
        "member": k.member,
        "public_key": key_text(k.public_key),
        "enrolled_at": instant(k.enrolled_at),
        "revoked_at": _maybe_instant(k.revoked_at),
    }


def queue_item_view(item: QueueItem, now: datetime, scenario: Scenario) -> dict[str, Any]:
    return summary_view(item.record, scenario) | {
        "waiting_since": instant(item.waiting_since),
        "age_seconds": max(0.0, (now - item.waiting_since).total_seconds()),
        "review_deadline": _maybe_instant(item.review_deadline),
        "overdue": item.review_deadline is not None and now > item.review_deadline,
    }


def conflict_view(c: SeenConflict) -> dict[str, Any]:
    """One conflict: this request's volume, the other request and its volume; that
    volume in full when the viewer may see the other request, else only its extent
    (bounding box and altitude band) and time window."""
    west, south, east, north = c.bounds
    return {
        "volume": c.ref.volume,
        "request": c.ref.request,
        "other_volume": c.ref.other_volume,
        "visible": c.visible,
        "extent": {
            "west": west,
            "south": south,
            "east": east,
            "north": north,
            "altitude_lower_m": c.altitude_lower_m,
            "altitude_upper_m": c.altitude_upper_m,
        },
        "time_start": instant(c.time_start),
        "time_end": instant(c.time_end),
        "other": c.volume,
    }


def evaluation_result_view(p: EvaluationResult, conflicts: list[SeenConflict]) -> dict[str, Any]:
    """``POST /v1/evaluations``: the evaluation a submission would get now."""
    return evaluation_view(p.evaluation) | {
        "overrides": [{"request": rid, "reasons": list(rs)} for rid, rs in p.overrides.items()],
        "conflicts": [conflict_view(c) for c in conflicts],
        "document": p.document,
    }


def overview_view(o: Overview) -> dict[str, Any]:
    return {
        "requests": o.requests,
        "by_state": o.by_state,
        "bottleneck": o.bottleneck,
        "authorities": [
            {
                "authority": a.authority,
                "decisions": a.decisions,
                "median_wait_seconds": a.median_wait_seconds,
                "p90_wait_seconds": a.p90_wait_seconds,
                "waiting_now": a.waiting_now,
                "oldest_waiting_seconds": a.oldest_waiting_seconds,
            }
            for a in o.authorities
        ],
    }


def subscription_view(s: Subscription) -> dict[str, Any]:
    """A subscription as the API and the CLI show it: never its secret."""
    return {
        "id": s.id,
        "subscriber": {"kind": s.subscriber_kind, "name": s.subscriber},
        "url": s.url,
        "events": list(s.events),
        "created_by": s.created_by,
        "created_at": instant(s.created_at),
        "active": s.active,
    }


def delivery_view(d: Delivery) -> dict[str, Any]:
    return {
        "id": d.id,
        "event": d.event,
        "subscription_id": d.subscription_id,
        "request_id": d.request_id,
        "status": d.status,
        "attempts": d.attempts,
        "created_at": instant(d.created_at),
        "next_attempt_at": instant(d.next_attempt_at) if d.status == "pending" else None,
        "delivered_at": instant(d.delivered_at) if d.delivered_at else None,
        "last_error": d.last_error,
        "payload": d.payload,
    }
