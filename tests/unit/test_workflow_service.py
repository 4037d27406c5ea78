"""The persisted workflow's use cases, on in-memory fakes (no database)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import pytest

from clearance.domain.clearance.model import ApprovalStatus, Principal
from clearance.domain.clearance.workflow import Decision, RequestState
from clearance.domain.errors import (
    ConflictError,
    ForbiddenError,
    NotFoundError,
    RequestError,
    UnauthorizedError,
)
from clearance.service.memory import MemoryRequests, MemoryStore, MemoryUnitOfWork
from clearance.service.ports import PinnedClock
from clearance.service.workflow import Workflow
from tests.unit.fakes import circle, make_scenario, request_doc

APPROVE, DENY = Decision.APPROVE, Decision.DENY
OPS = Principal("planner", operator="A.Ops")
CMD = Principal("cmd-officer", authority="A.Command")
FOREIGN = Principal("foreign-desk", authority="A.Foreign")
AIR = Principal("host-air", authority="H.Air")
CHIEF = Principal("host-chief", authority="H.Chief")


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def flow(store: MemoryStore) -> Workflow:
    return Workflow(
        lambda: MemoryUnitOfWork(store),
        make_scenario(),
        PinnedClock(datetime(2020, 5, 1, tzinfo=UTC)),
    )


def armed(**changes: Any) -> dict[str, Any]:
    doc = request_doc(circle(5, 5), payload="armed", purpose="overwatch")
    doc.update(changes)
    return doc


def submit_armed(flow: Workflow) -> str:
    return flow.submit(OPS, armed()).record.id


def test_submitting_records_the_evaluation_as_pending_with_the_chain(flow: Workflow) -> None:
    record = flow.submit(OPS, armed()).record
    assert record.state is RequestState.PENDING
    assert record.version == 1
    assert record.awaiting() == ["A.Command"]
    assert [a.authority for a in record.approvals] == ["A.Command", "A.Foreign", "H.Air", "H.Chief"]


def test_cleared_and_infeasible_requests_are_stored_as_such(flow: Workflow) -> None:
    assert flow.submit(OPS, request_doc(circle(5, 5))).record.state is RequestState.CLEARED
    infeasible = flow.submit(OPS, request_doc(circle(6.2, 6.0), site="new")).record
    assert infeasible.state is RequestState.INFEASIBLE


def test_stages_are_decided_in_order_then_the_request_is_cleared(flow: Workflow) -> None:
    rid = submit_armed(flow)
    with pytest.raises(ConflictError, match="earlier stages"):
        flow.decide(AIR, rid, "H.Air", APPROVE)
    flow.decide(CMD, rid, "A.Command", APPROVE, "fine")
    flow.decide(FOREIGN, rid, "A.Foreign", APPROVE)
    flow.decide(AIR, rid, "H.Air", APPROVE)
    record = flow.decide(CHIEF, rid, "H.Chief", APPROVE)
    assert record.state is RequestState.CLEARED
    cmd = record.approval("A.Command")
    assert (cmd.status, cmd.by, cmd.comment) == (ApprovalStatus.APPROVED, "cmd-officer", "fine")
    assert cmd.at == datetime(2020, 5, 1, tzinfo=UTC)


def test_any_denial_ends_the_request(flow: Workflow) -> None:
    rid = submit_armed(flow)
    record = flow.decide(CMD, rid, "A.Command", DENY, "no")
    assert record.state is RequestState.DENIED
    with pytest.raises(ConflictError):
        flow.decide(FOREIGN, rid, "A.Foreign", APPROVE)


def test_a_step_cannot_be_decided_twice(flow: Workflow) -> None:
    rid = submit_armed(flow)
    flow.decide(CMD, rid, "A.Command", APPROVE)
    with pytest.raises(ConflictError, match="approved, not needs_review"):
        flow.decide(CMD, rid, "A.Command", DENY)


def test_only_members_of_the_authority_decide_for_it(flow: Workflow) -> None:
    rid = submit_armed(flow)
    with pytest.raises(ForbiddenError):
        flow.decide(AIR, rid, "A.Command", APPROVE)
    with pytest.raises(ForbiddenError):
        flow.decide(OPS, rid, "A.Command", APPROVE)


def test_the_submitter_never_approves_their_own_request_even_as_a_member(flow: Workflow) -> None:
    both = Principal("dual-hat", operator="A.Ops", authority="A.Command")
    rid = flow.submit(both, armed()).record.id
    with pytest.raises(ForbiddenError, match="separation of duties"):
        flow.decide(both, rid, "A.Command", APPROVE)
    assert flow.decide(both, rid, "A.Command", DENY).state is RequestState.DENIED


def test_operators_submit_only_for_themselves(flow: Workflow) -> None:
    with pytest.raises(ForbiddenError):
        flow.submit(Principal("other", operator="H.Ops"), armed())
    with pytest.raises(ForbiddenError):
        flow.submit(CMD, armed())


def test_requests_are_visible_to_their_operator_and_chain_only(flow: Workflow) -> None:
    rid = submit_armed(flow)
    assert flow.get(CHIEF, rid)[0].id == rid
    with pytest.raises(NotFoundError):
        flow.get(Principal("n", authority="N.Air"), rid)
    with pytest.raises(NotFoundError):
        flow.get(Principal("h", operator="H.Ops"), rid)


def test_withdrawal_by_the_operator_ends_the_request(flow: Workflow) -> None:
    rid = submit_armed(flow)
    with pytest.raises(ForbiddenError):
        flow.withdraw(CMD, rid)
    assert flow.withdraw(OPS, rid).state is RequestState.WITHDRAWN
    with pytest.raises(ConflictError):
        flow.withdraw(OPS, rid)
    with pytest.raises(ConflictError):
        flow.decide(CMD, rid, "A.Command", APPROVE)


def test_a_request_still_pending_at_its_first_start_expires(flow: Workflow) -> None:
    rid = submit_armed(flow)
    assert isinstance(flow.clock, PinnedClock)
    flow.clock.at = datetime(2020, 6, 1, 6, 0, tzinfo=UTC)
    record, events = flow.get(OPS, rid)
    assert record.state is RequestState.EXPIRED
    assert [e.kind for e in events] == ["submitted", "expired"]
    with pytest.raises(ConflictError):
        flow.decide(CMD, rid, "A.Command", APPROVE)


def test_a_request_whose_volumes_have_all_ended_is_rejected(flow: Workflow) -> None:
    old = request_doc(circle(5, 5, start="2019-01-01T00:00:00Z", end="2019-01-01T01:00:00Z"))
    with pytest.raises(RequestError) as raised:
        flow.submit(OPS, old)
    assert raised.value.field == "volumes"


def test_amending_keeps_decisions_whose_inputs_did_not_change(flow: Workflow) -> None:
    rid = submit_armed(flow)
    flow.decide(CMD, rid, "A.Command", APPROVE)
    amended = flow.amend(OPS, rid, armed(justification="clearer words"), expected_version=2)
    assert (amended.kept, amended.reset) == (["A.Command"], [])
    assert amended.record.approval("A.Command").status is ApprovalStatus.APPROVED


def test_amending_a_volume_resets_the_decisions_that_depended_on_it(flow: Workflow) -> None:
    rid = submit_armed(flow)
    flow.decide(CMD, rid, "A.Command", APPROVE)
    moved = armed(volumes=[circle(5.5, 5.5)])
    amended = flow.amend(OPS, rid, moved, expected_version=2)
    assert (amended.kept, amended.reset) == ([], ["A.Command"])
    assert amended.record.approval("A.Command").status is ApprovalStatus.NEEDS_REVIEW
    assert amended.record.version == 3


def test_amending_a_stale_version_conflicts(flow: Workflow) -> None:
    rid = submit_armed(flow)
    flow.decide(CMD, rid, "A.Command", APPROVE)
    with pytest.raises(ConflictError, match="version 2, not 1"):
        flow.amend(OPS, rid, armed(), expected_version=1)


def test_idempotency_key_replays_instead_of_creating_twice(
    flow: Workflow, store: MemoryStore
) -> None:
    first = flow.submit(OPS, armed(), idempotency_key="k1")
    again = flow.submit(OPS, armed(), idempotency_key="k1")
    assert (first.created, again.created) == (True, False)
    assert again.record.id == first.record.id
    assert len(store.requests) == 1
    with pytest.raises(RequestError, match="different request body"):
        flow.submit(OPS, armed(justification="other"), idempotency_key="k1")


def test_the_queue_holds_only_requests_whose_earlier_stages_are_done(flow: Workflow) -> None:
    first = submit_armed(flow)
    later = circle(5, 5, start="2020-06-02T06:00:00Z", end="2020-06-02T12:00:00Z")
    second = flow.submit(OPS, armed(volumes=[later])).record.id
    assert [i.record.id for i in flow.queue(CMD, "A.Command")] == [first, second]
    assert flow.queue(AIR, "H.Air") == []
    flow.decide(CMD, second, "A.Command", APPROVE)
    flow.decide(FOREIGN, second, "A.Foreign", APPROVE)
    assert [i.record.id for i in flow.queue(AIR, "H.Air")] == [second]
    with pytest.raises(ForbiddenError):
        flow.queue(AIR, "A.Command")


def test_revoking_a_grant_returns_requests_that_relied_on_it_to_review(flow: Workflow) -> None:
    cleared = flow.submit(OPS, request_doc(circle(5, 5))).record
    assert cleared.approval("H.Air").grant == "h-isr"
    with pytest.raises(ForbiddenError):
        flow.revoke_grant(CMD, "h-isr")
    affected = flow.revoke_grant(AIR, "h-isr")
    assert affected == [cleared.id]
    record, events = flow.get(OPS, cleared.id)
    assert record.state is RequestState.PENDING
    assert record.approval("H.Air").status is ApprovalStatus.NEEDS_REVIEW
    assert "revoked" in record.approval("H.Air").reasons[0]
    assert events[-1].kind == "grant_revoked"
    # New submissions no longer rely on it either, and it cannot be revoked twice.
    elsewhere = circle(5, 3)
    assert flow.submit(OPS, request_doc(elsewhere)).record.state is RequestState.PENDING
    with pytest.raises(ConflictError):
        flow.revoke_grant(AIR, "h-isr")
    with pytest.raises(NotFoundError):
        flow.revoke_grant(AIR, "no-such-grant")


def test_a_submission_during_a_revocation_neither_undoes_it_nor_relies_on_the_grant(
    flow: Workflow, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A submission used to refresh the shared scenario's grants from the database while a
    revocation was being applied: the revocation then reported no affected request and
    left one covered by the revoked grant."""
    cleared = flow.submit(OPS, request_doc(circle(5, 5))).record
    assert cleared.approval("H.Air").grant == "h-isr"
    during: list[str] = []
    scan = MemoryRequests.open_for_operator

    def scan_while_another_submits(self: MemoryRequests, operator: str) -> list[Any]:
        worker = threading.Thread(
            target=lambda: during.append(flow.submit(OPS, request_doc(circle(5, 3))).record.id)
        )
        worker.start()
        worker.join(timeout=0.5)  # blocks on the airspace lock now; ran to the end before
        found = scan(self, operator)
        threads.append(worker)
        return found

    threads: list[threading.Thread] = []
    monkeypatch.setattr(MemoryRequests, "open_for_operator", scan_while_another_submits)
    affected = flow.revoke_grant(AIR, "h-isr")
    monkeypatch.undo()
    threads[0].join(timeout=10)
    assert affected == [cleared.id]
    (other,) = during
    record, _ = flow.get(OPS, other)
    assert record.approval("H.Air").status is ApprovalStatus.NEEDS_REVIEW
    assert record.approval("H.Air").grant is None


def test_conditions_must_lie_within_the_request(flow: Workflow) -> None:
    rid = submit_armed(flow)
    with pytest.raises(RequestError, match="within the request"):
        flow.decide(
            CMD,
            rid,
            "A.Command",
            APPROVE,
            conditions={"text": "t", "time_end": "2021-01-01T00:00:00Z"},
        )
    record = flow.decide(
        CMD, rid, "A.Command", APPROVE,
        conditions={"text": "morning only", "time_end": "2020-06-01T09:00:00Z"},
    )  # fmt: skip
    conditions = record.approval("A.Command").conditions
    assert conditions is not None
    assert (conditions.text, conditions.time_end) == (
        "morning only",
        datetime(2020, 6, 1, 9, tzinfo=UTC),
    )


def test_tokens_identify_principals_and_are_stored_hashed(
    flow: Workflow, store: MemoryStore
) -> None:
    token = flow.add_principal("planner", operator="A.Ops")
    assert flow.authenticate(token) == OPS
    assert token not in str(store.principals)
    with pytest.raises(UnauthorizedError):
        flow.authenticate("wrong")
    with pytest.raises(UnauthorizedError):
        flow.authenticate(None)
    with pytest.raises(ConflictError):
        flow.add_principal("planner", authority="A.Command")
    with pytest.raises(RequestError):
        flow.add_principal("nobody")
    with pytest.raises(RequestError):
        flow.add_principal("ghost", authority="X.None")


def test_a_revoked_principal_is_refused_everywhere_and_its_name_stays_taken(
    flow: Workflow, store: MemoryStore
) -> None:
    token = flow.add_principal("planner", operator="A.Ops")
    other = flow.add_principal("commander", authority="A.Command")
    revoked = flow.revoke_principal("planner")
    assert revoked.revoked_at == flow.clock.now()
    with pytest.raises(UnauthorizedError):
        flow.authenticate(token)
    assert flow.authenticate(other).name == "commander"
    with pytest.raises(ForbiddenError, match="revoked"):
        flow.principal("planner")
    with pytest.raises(ConflictError, match="already revoked"):
        flow.revoke_principal("planner")
    with pytest.raises(NotFoundError):
        flow.revoke_principal("nobody")
    with pytest.raises(ConflictError):
        flow.add_principal("planner", operator="A.Ops")
    with pytest.raises(ConflictError, match="revoked"):
        flow.issue_token("planner", operator="A.Ops")
    listed = {p.principal.name: p for p in flow.principals()}
    assert listed["planner"].revoked_at is not None
    assert listed["commander"].revoked_at is None
    assert [e.kind for e in store.audit][-1] == "principal.revoked"


def test_every_change_appends_one_event_and_bumps_the_version(flow: Workflow) -> None:
    rid = submit_armed(flow)
    flow.decide(CMD, rid, "A.Command", APPROVE)
    flow.withdraw(OPS, rid)
    record, events = flow.get(OPS, rid)
    assert [(e.kind, e.version) for e in events] == [
        ("submitted", 1),
        ("decided", 2),
        ("withdrawn", 3),
    ]
    assert record.version == 3


def test_a_second_operation_in_the_same_airspace_and_time_is_infeasible_naming_the_first(
    flow: Workflow,
) -> None:
    first = submit_armed(flow)
    second = flow.submit(OPS, armed()).record
    assert second.state is RequestState.INFEASIBLE
    (violation,) = second.violations
    assert violation.code == "conflict"
    assert first in violation.message
    assert "volume 0" in violation.message


@pytest.mark.parametrize(
    "separated",
    [
        circle(5, 5, lower=3500, upper=5000),  # above the first (100..3000 m)
        circle(5, 5, start="2020-06-01T12:00:00Z", end="2020-06-01T15:00:00Z"),  # right after
        circle(5, 7),  # beside it
    ],
)
def test_an_altitude_time_or_space_separated_operation_is_not_held_back(
    flow: Workflow, separated: dict[str, Any]
) -> None:
    submit_armed(flow)
    assert flow.submit(OPS, armed(volumes=[separated])).record.state is RequestState.PENDING


def test_a_request_that_leaves_the_airspace_frees_it(flow: Workflow) -> None:
    first = submit_armed(flow)
    flow.withdraw(OPS, first)
    assert flow.submit(OPS, armed()).record.state is RequestState.PENDING


def test_amending_does_not_conflict_with_itself(flow: Workflow) -> None:
    rid = submit_armed(flow)
    assert (
        flow.amend(OPS, rid, armed(justification="again"), 1).record.state is RequestState.PENDING
    )


def test_a_higher_priority_overrides_when_the_scenario_allows_and_flags_the_lower(
    store: MemoryStore,
) -> None:
    from clearance.domain.airspace.deconfliction import Priorities

    scenario = make_scenario()
    scenario.priorities = Priorities({"overwatch": 2, "isr": 1}, override=True)
    flow = Workflow(
        lambda: MemoryUnitOfWork(store), scenario, PinnedClock(datetime(2020, 5, 1, tzinfo=UTC))
    )
    low = flow.submit(OPS, request_doc(circle(5, 5))).record.id  # isr, cleared
    high = flow.submit(OPS, armed()).record
    assert high.state is RequestState.PENDING
    assert high.violations == []
    _, events = flow.get(OPS, low)
    assert events[-1].kind == "flagged"
    assert events[-1].detail["by_request"] == high.id
    # ... and the lower one arriving second is held back by the higher.
    again = flow.submit(OPS, request_doc(circle(5, 5)))
    assert again.record.state is RequestState.INFEASIBLE


def test_a_reissued_token_replaces_the_old_one_at_once(flow: Workflow) -> None:
    old = flow.issue_token("planner", operator="A.Ops")
    assert flow.authenticate(old) == OPS  # now remembered
    new = flow.issue_token("planner", operator="A.Ops")
    assert flow.authenticate(new) == OPS
    with pytest.raises(UnauthorizedError):
        flow.authenticate(old)


def test_a_stored_request_stays_readable_after_a_scenario_retires_its_aircraft(
    store: MemoryStore,
) -> None:
    """Stored requests were re-read against the current scenario: once an aircraft was
    retired, every unrelated submission failed with "aircraft: unknown id"."""
    clock = PinnedClock(datetime(2020, 5, 1, tzinfo=UTC))
    before = Workflow(lambda: MemoryUnitOfWork(store), make_scenario(), clock)
    stored = before.submit(OPS, request_doc(circle(5, 5), aircraft="drone-2")).record.id
    retired = make_scenario()
    del retired.aircraft["drone-2"]
    after = Workflow(lambda: MemoryUnitOfWork(store), retired, clock)  # a restarted server
    submitted = after.submit(OPS, request_doc(circle(5, 3))).record
    assert submitted.state is RequestState.CLEARED
    # and the stored one still takes part in deconfliction
    clash = after.submit(OPS, request_doc(circle(5, 5))).record
    assert clash.state is RequestState.INFEASIBLE
    assert stored in str([v.message for v in clash.violations])
