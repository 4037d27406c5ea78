"""Who is told: the events a change brings, added to the outbox in the change's own unit
of work (so a change that rolls back tells nobody, and a committed one is told however
the process ends). The worker in ``service.webhooks`` sends them.

A handler calls ``record_changed(uow, record)`` before ``uow.requests.save`` (which
empties ``record.events``): the webhook events are read off the request's new events.

    event                  told to
    waiting_for_you        the authorities that may now decide
    decided                the operator, the submitter, every authority of the chain
    cleared, denied        the same, when a change leaves the request cleared or denied
    conflict               the operator and submitter of a request another overrides
    conformance_excursion  the operator, the submitter and the chain's authorities
    expiring_soon          the operator, the submitter and the authorities still awaited
    deadline_passed        the authority whose review deadline passed (once)

A subscriber is ``("authority", "US.DoD")``, ``("operator", "US.AFRICOM")`` or
``("principal", name)``; a principal is told about the requests it submitted.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from clearance.domain.clearance.workflow import RequestRecord, RequestState
from clearance.domain.documents import instant
from clearance.service.outbox import Message, Subscription
from clearance.service.ports import UnitOfWork

Subscriber = tuple[str, str]


def new_message_id() -> str:
    """The webhook-id: unique, and sorting in creation order (as request ids)."""
    return f"msg_{time.time_ns():016x}{secrets.token_hex(6)}"


def parties(record: RequestRecord) -> list[Subscriber]:
    """Everyone a request's outcome concerns: its operator, its submitter, its chain."""
    return [
        ("operator", record.operator),
        ("principal", record.submitted_by),
        *(("authority", a.authority) for a in record.approvals),
    ]


def requester(record: RequestRecord) -> list[Subscriber]:
    return [("operator", record.operator), ("principal", record.submitted_by)]


def record_changed(uow: UnitOfWork, record: RequestRecord) -> int:
    """Add to the outbox what ``record``'s unsaved events tell; returns how many messages."""
    told: list[tuple[str, list[Subscriber], dict[str, Any], datetime]] = []
    for e in record.events:
        if e.kind in ("submitted", "amended", "grant_revoked"):
            awaited = record.awaiting()
            if awaited:
                told.append(("waiting_for_you", _authorities(awaited), {}, e.at))
        elif e.kind == "decided":
            authority = e.detail["authority"]
            detail = {"authority": authority, "decision": e.detail["decision"]}
            told.append(("decided", parties(record), detail, e.at))
            stage = record.approval(authority).stage
            newly = [a for a in record.awaiting() if record.approval(a).stage > stage]
            if newly:
                told.append(("waiting_for_you", _authorities(newly), {}, e.at))
        elif e.kind == "flagged":
            detail = {"by_request": e.detail["by_request"], "reasons": e.detail["reasons"]}
            told.append(("conflict", requester(record), detail, e.at))
        elif e.kind == "conformance" and not e.detail.get("conforming", True):
            detail = {"reasons": list(e.detail.get("reasons", []))}
            told.append(("conformance_excursion", parties(record), detail, e.at))
    ends = {"submitted", "amended", "decided"}
    last = next((e for e in reversed(record.events) if e.kind in ends), None)
    if last is not None and record.state in (RequestState.CLEARED, RequestState.DENIED):
        told.append((record.state.value, parties(record), {}, last.at))
    if not told:
        return 0
    # one read for every event of this change: a submission pays one indexed query
    found = uow.webhooks.subscriptions({s for _, to, _, _ in told for s in to})
    messages = [
        m
        for event, to, detail, at in told
        for m in messages_for(uow, event, to, record, detail, at, subscriptions=found)
    ]
    return uow.webhooks.enqueue(messages) if messages else 0


def messages_for(
    uow: UnitOfWork,
    event: str,
    to: Iterable[Subscriber],
    record: RequestRecord,
    detail: dict[str, Any],
    at: datetime,
    once_key: str | None = None,
    subscriptions: list[Subscription] | None = None,
) -> list[Message]:
    """One message per active subscription of ``to`` that wants ``event`` (among
    ``subscriptions`` when the caller read them already)."""
    wanted = set(to)
    if subscriptions is None:
        subscriptions = uow.webhooks.subscriptions(wanted)
    subscriptions = [
        s
        for s in subscriptions
        if event in s.events and (s.subscriber_kind, s.subscriber) in wanted
    ]
    if not subscriptions:
        return []
    payload = {
        "type": event,
        "timestamp": instant(at),
        "data": {
            "request_id": record.id,
            "version": record.version,
            "state": record.state.value,
            "operator": record.operator,
            "time_start": instant(record.time_start),
            **detail,
        },
    }
    return [
        Message(new_message_id(), event, s.id, payload, record.id, once_key) for s in subscriptions
    ]


def _authorities(names: Iterable[str]) -> list[Subscriber]:
    return [("authority", a) for a in names]
