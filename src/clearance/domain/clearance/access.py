"""Who may see and who may do what: pure rules over a principal and a request.

- a request is visible to its operator's principals and to the members of the
  authorities in its chain; to anyone else it does not exist (the use cases answer 404);
- an operator's principals submit, amend and withdraw its requests, and record what was
  flown for them;
- a member decides for their own authority only, and never approves a request they
  submitted themselves (separation of duties), even when they are also its operator's;
- a member of a grant's grantor revokes the grant; a member reads their authority's queue.

Each ``must_*`` raises ``ForbiddenError`` naming who and why, or returns nothing.
"""

from __future__ import annotations

from clearance.domain.clearance.model import Grant, Principal
from clearance.domain.clearance.workflow import Decision, RequestRecord
from clearance.domain.errors import ForbiddenError


def may_see(who: Principal, record: RequestRecord) -> bool:
    if who.operator is not None and who.operator == record.operator:
        return True
    return who.authority is not None and any(a.authority == who.authority for a in record.approvals)


def must_submit_for(who: Principal, operator: str) -> None:
    if who.operator != operator:
        raise ForbiddenError(f"{who.name} does not submit for operator {operator}")


def must_amend(who: Principal, record: RequestRecord) -> None:
    if who.operator != record.operator:
        raise ForbiddenError(f"{who.name} does not act for operator {record.operator}")


def must_withdraw(who: Principal, record: RequestRecord) -> None:
    if who.operator != record.operator:
        raise ForbiddenError(f"only {record.operator}'s principals may withdraw it")


def must_record_telemetry(who: Principal, record: RequestRecord) -> None:
    if who.operator != record.operator:
        raise ForbiddenError(
            f"{who.name} does not fly for operator {record.operator}; only the request's "
            "operator records telemetry for it"
        )


def must_be_member(who: Principal, authority: str) -> None:
    if who.authority != authority:
        raise ForbiddenError(f"{who.name} is not a member of {authority}")


def must_decide(who: Principal, record: RequestRecord, authority: str, decision: Decision) -> None:
    must_be_member(who, authority)
    if decision is Decision.APPROVE and record.submitted_by == who.name:
        raise ForbiddenError(
            f"{who.name} submitted request {record.id} and may not approve it "
            "(separation of duties)"
        )


def must_revoke(who: Principal, grant: Grant) -> None:
    if who.authority != grant.grantor:
        raise ForbiddenError(f"only members of {grant.grantor} may revoke grant {grant.id}")
