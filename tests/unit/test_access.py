"""The access rules on their own: pure functions over a principal and a record."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from clearance.domain.clearance import access
from clearance.domain.clearance.model import (
    Approval,
    ApprovalStatus,
    Grant,
    Outcome,
    Payload,
    Principal,
)
from clearance.domain.clearance.workflow import Decision, RequestRecord, RequestState
from clearance.domain.errors import ForbiddenError

AT = datetime(2026, 1, 1, tzinfo=UTC)
PLANNER = Principal("planner", operator="A.Ops")
OTHER_PLANNER = Principal("rival", operator="B.Ops")
MEMBER = Principal("officer", authority="H.Air")
OUTSIDER = Principal("stranger", authority="Z.Nobody")
BOTH = Principal("planner", operator="A.Ops", authority="H.Air")  # the submitter, as member


def record() -> RequestRecord:
    step = Approval("H.Air", "H", 1, ApprovalStatus.NEEDS_REVIEW, ("host",), ())
    return RequestRecord(
        id="req-1",
        version=1,
        operator="A.Ops",
        submitted_by="planner",
        document={},
        state=RequestState.PENDING,
        outcome=Outcome.PENDING,
        approvals=[step],
        violations=[],
        time_start=AT,
        time_end=AT,
        created_at=AT,
        updated_at=AT,
        evaluated_at=AT,
    )


def test_a_request_is_seen_by_its_operator_and_its_chain_only() -> None:
    r = record()
    assert access.may_see(PLANNER, r)
    assert access.may_see(MEMBER, r)
    assert not access.may_see(OTHER_PLANNER, r)
    assert not access.may_see(OUTSIDER, r)


def test_only_the_operators_principals_act_on_its_requests() -> None:
    r = record()
    for rule in (access.must_amend, access.must_withdraw, access.must_record_telemetry):
        rule(PLANNER, r)
        with pytest.raises(ForbiddenError, match=r"A\.Ops"):
            rule(OTHER_PLANNER, r)
        with pytest.raises(ForbiddenError):
            rule(MEMBER, r)
    access.must_submit_for(PLANNER, "A.Ops")
    with pytest.raises(ForbiddenError, match=r"does not submit for operator A\.Ops"):
        access.must_submit_for(OTHER_PLANNER, "A.Ops")


def test_a_member_decides_for_their_own_authority_and_never_approves_their_own() -> None:
    r = record()
    access.must_decide(MEMBER, r, "H.Air", Decision.APPROVE)
    with pytest.raises(ForbiddenError, match=r"not a member of H\.Air"):
        access.must_decide(OUTSIDER, r, "H.Air", Decision.APPROVE)
    with pytest.raises(ForbiddenError, match="separation of duties"):
        access.must_decide(BOTH, r, "H.Air", Decision.APPROVE)
    access.must_decide(BOTH, r, "H.Air", Decision.DENY)  # refusing one's own is allowed


def test_only_the_grantors_members_revoke_a_grant() -> None:
    grant = Grant(
        id="g-1",
        grantor="H.Air",
        grantee="A.Ops",
        purposes=frozenset({"isr"}),
        payloads=frozenset({Payload.UNARMED}),
        area="H",
        valid_from=AT,
    )
    access.must_revoke(MEMBER, grant)
    with pytest.raises(ForbiddenError, match=r"only members of H\.Air may revoke grant g-1"):
        access.must_revoke(OUTSIDER, grant)
