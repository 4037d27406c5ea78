"""The use cases (handlers and queries), on in-memory fakes (no database)."""

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
from clearance.service import handlers, queries
from clearance.service.context import Context
from clearance.service.memory import MemoryRequests, MemoryStore, MemoryUnitOfWork
from clearance.service.ports import PinnedClock
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
def flow(store: MemoryStore) -> Context:
    return Context(
        lambda: MemoryUnitOfWork(store),
        make_scenario(),
        PinnedClock(datetime(2020, 5, 1, tzinfo=UTC)),
    )


def armed(**changes: Any) -> dict[str, Any]:
    doc = request_doc(circle(5, 5), payload="armed", purpose="overwatch")
    doc.update(changes)
    return doc


def submit_armed(flow: Context) -> str:
    return handlers.submit(flow, OPS, armed()).record.id


def test_submitting_records_the_evaluation_as_pending_with_the_chain(flow: Context) -> None:
    record = handlers.submit(flow, OPS, armed()).record
    assert record.state is RequestState.PENDING
    assert record.version == 1
    assert record.awaiting() == ["A.Command"]
    assert [a.authority for a in record.approvals] == ["A.Command", "A.Foreign", "H.Air", "H.Chief"]


def test_cleared_and_infeasible_requests_are_stored_as_such(flow: Context) -> None:
    assert (
        handlers.submit(flow, OPS, request_doc(circle(5, 5))).record.state is RequestState.CLEARED
    )
    infeasible = handlers.submit(flow, OPS, request_doc(circle(6.2, 6.0), site="new")).record
    assert infeasible.state is RequestState.INFEASIBLE


def test_stages_are_decided_in_order_then_the_request_is_cleared(flow: Context) -> None:
    rid = submit_armed(flow)
    with pytest.raises(ConflictError, match="earlier stages"):
        handlers.decide(flow, AIR, rid, "H.Air", APPROVE)
    handlers.decide(flow, CMD, rid, "A.Command", APPROVE, "fine")
    handlers.decide(flow, FOREIGN, rid, "A.Foreign", APPROVE)
    handlers.decide(flow, AIR, rid, "H.Air", APPROVE)
    record = handlers.decide(flow, CHIEF, rid, "H.Chief", APPROVE)
    assert record.state is RequestState.CLEARED
    cmd = record.approval("A.Command")
    assert (cmd.status, cmd.by, cmd.comment) == (ApprovalStatus.APPROVED, "cmd-officer", "fine")
    assert cmd.at == datetime(2020, 5, 1, tzinfo=UTC)


def test_any_denial_ends_the_request(flow: Context) -> None:
    rid = submit_armed(flow)
    record = handlers.decide(flow, CMD, rid, "A.Command", DENY, "no")
    assert record.state is RequestState.DENIED
    with pytest.raises(ConflictError):
        handlers.decide(flow, FOREIGN, rid, "A.Foreign", APPROVE)


def test_a_step_cannot_be_decided_twice(flow: Context) -> None:
    rid = submit_armed(flow)
    handlers.decide(flow, CMD, rid, "A.Command", APPROVE)
    with pytest.raises(ConflictError, match="approved, not needs_review"):
        handlers.decide(flow, CMD, rid, "A.Command", DENY)


def test_a_decision_made_on_an_older_version_is_refused_and_changes_nothing(
    flow: Context,
) -> None:
    rid = submit_armed(flow)
    handlers.decide(flow, CMD, rid, "A.Command", APPROVE, expected_version=1)
    with pytest.raises(ConflictError, match="at version 2, not 1"):
        handlers.decide(flow, FOREIGN, rid, "A.Foreign", DENY, expected_version=1)
    record, _ = queries.get(flow, OPS, rid)
    assert (record.version, record.state) == (2, RequestState.PENDING)
    assert record.approval("A.Foreign").status is ApprovalStatus.NEEDS_REVIEW
    decided = handlers.decide(flow, FOREIGN, rid, "A.Foreign", APPROVE, expected_version=2)
    assert decided.version == 3


def test_only_members_of_the_authority_decide_for_it(flow: Context) -> None:
    rid = submit_armed(flow)
    with pytest.raises(ForbiddenError):
        handlers.decide(flow, AIR, rid, "A.Command", APPROVE)
    with pytest.raises(ForbiddenError):
        handlers.decide(flow, OPS, rid, "A.Command", APPROVE)


def test_the_submitter_never_approves_their_own_request_even_as_a_member(flow: Context) -> None:
    both = Principal("dual-hat", operator="A.Ops", authority="A.Command")
    rid = handlers.submit(flow, both, armed()).record.id
    with pytest.raises(ForbiddenError, match="separation of duties"):
        handlers.decide(flow, both, rid, "A.Command", APPROVE)
    assert handlers.decide(flow, both, rid, "A.Command", DENY).state is RequestState.DENIED


def test_operators_submit_only_for_themselves(flow: Context) -> None:
    with pytest.raises(ForbiddenError):
        handlers.submit(flow, Principal("other", operator="H.Ops"), armed())
    with pytest.raises(ForbiddenError):
        handlers.submit(flow, CMD, armed())


def test_requests_are_visible_to_their_operator_and_chain_only(flow: Context) -> None:
    rid = submit_armed(flow)
    assert queries.get(flow, CHIEF, rid)[0].id == rid
    with pytest.raises(NotFoundError):
        queries.get(flow, Principal("n", authority="N.Air"), rid)
    with pytest.raises(NotFoundError):
        queries.get(flow, Principal("h", operator="H.Ops"), rid)


def test_withdrawal_by_the_operator_ends_the_request(flow: Context) -> None:
    rid = submit_armed(flow)
    with pytest.raises(ForbiddenError):
        handlers.withdraw(flow, CMD, rid)
    assert handlers.withdraw(flow, OPS, rid).state is RequestState.WITHDRAWN
    with pytest.raises(ConflictError):
        handlers.withdraw(flow, OPS, rid)
    with pytest.raises(ConflictError):
        handlers.decide(flow, CMD, rid, "A.Command", APPROVE)


def test_a_request_still_pending_at_its_first_start_expires(flow: Context) -> None:
    rid = submit_armed(flow)
    assert isinstance(flow.clock, PinnedClock)
    flow.clock.at = datetime(2020, 6, 1, 6, 0, tzinfo=UTC)
    record, events = queries.get(flow, OPS, rid)
    assert record.state is RequestState.EXPIRED
    assert [e.kind for e in events] == ["submitted", "expired"]
    with pytest.raises(ConflictError):
        handlers.decide(flow, CMD, rid, "A.Command", APPROVE)


def test_a_request_whose_volumes_have_all_ended_is_rejected(flow: Context) -> None:
    old = request_doc(circle(5, 5, start="2019-01-01T00:00:00Z", end="2019-01-01T01:00:00Z"))
    with pytest.raises(RequestError) as raised:
        handlers.submit(flow, OPS, old)
    assert raised.value.field == "volumes"


def test_amending_keeps_decisions_whose_inputs_did_not_change(flow: Context) -> None:
    rid = submit_armed(flow)
    handlers.decide(flow, CMD, rid, "A.Command", APPROVE)
    amended = handlers.amend(
        flow, OPS, rid, armed(justification="clearer words"), expected_version=2
    )
    assert (amended.kept, amended.reset) == (["A.Command"], [])
    assert amended.record.approval("A.Command").status is ApprovalStatus.APPROVED


def test_amending_a_volume_resets_the_decisions_that_depended_on_it(flow: Context) -> None:
    rid = submit_armed(flow)
    handlers.decide(flow, CMD, rid, "A.Command", APPROVE)
    moved = armed(volumes=[circle(5.5, 5.5)])
    amended = handlers.amend(flow, OPS, rid, moved, expected_version=2)
    assert (amended.kept, amended.reset) == ([], ["A.Command"])
    assert amended.record.approval("A.Command").status is ApprovalStatus.NEEDS_REVIEW
    assert amended.record.version == 3


def test_amending_a_stale_version_conflicts(flow: Context) -> None:
    rid = submit_armed(flow)
    handlers.decide(flow, CMD, rid, "A.Command", APPROVE)
    with pytest.raises(ConflictError, match="version 2, not 1"):
        handlers.amend(flow, OPS, rid, armed(), expected_version=1)


def test_idempotency_key_replays_instead_of_creating_twice(
    flow: Context, store: MemoryStore
) -> None:
    first = handlers.submit(flow, OPS, armed(), idempotency_key="k1")
    again = handlers.submit(flow, OPS, armed(), idempotency_key="k1")
    assert (first.created, again.created) == (True, False)
    assert again.record.id == first.record.id
    assert len(store.requests) == 1
    with pytest.raises(RequestError, match="different request body"):
        handlers.submit(flow, OPS, armed(justification="other"), idempotency_key="k1")


def test_the_queue_holds_only_requests_whose_earlier_stages_are_done(flow: Context) -> None:
    first = submit_armed(flow)
    later = circle(5, 5, start="2020-06-02T06:00:00Z", end="2020-06-02T12:00:00Z")
    second = handlers.submit(flow, OPS, armed(volumes=[later])).record.id
    assert [i.record.id for i in queries.queue(flow, CMD, "A.Command")] == [first, second]
    assert queries.queue(flow, AIR, "H.Air") == []
    handlers.decide(flow, CMD, second, "A.Command", APPROVE)
    handlers.decide(flow, FOREIGN, second, "A.Foreign", APPROVE)
    assert [i.record.id for i in queries.queue(flow, AIR, "H.Air")] == [second]
    with pytest.raises(ForbiddenError):
        queries.queue(flow, AIR, "A.Command")


def test_revoking_a_grant_returns_requests_that_relied_on_it_to_review(flow: Context) -> None:
    cleared = handlers.submit(flow, OPS, request_doc(circle(5, 5))).record
    assert cleared.approval("H.Air").grant == "h-isr"
    with pytest.raises(ForbiddenError):
        handlers.revoke_grant(flow, CMD, "h-isr")
    affected = handlers.revoke_grant(flow, AIR, "h-isr")
    assert affected == [cleared.id]
    record, events = queries.get(flow, OPS, cleared.id)
    assert record.state is RequestState.PENDING
    assert record.approval("H.Air").status is ApprovalStatus.NEEDS_REVIEW
    assert "revoked" in record.approval("H.Air").reasons[0]
    assert events[-1].kind == "grant_revoked"
    # New submissions no longer rely on it either, and it cannot be revoked twice.
    elsewhere = circle(5, 3)
    assert handlers.submit(flow, OPS, request_doc(elsewhere)).record.state is RequestState.PENDING
    with pytest.raises(ConflictError):
        handlers.revoke_grant(flow, AIR, "h-isr")
    with pytest.raises(NotFoundError):
        handlers.revoke_grant(flow, AIR, "no-such-grant")


def test_a_submission_during_a_revocation_neither_undoes_it_nor_relies_on_the_grant(
    flow: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A submission used to refresh the shared scenario's grants from the database while a
    revocation was being applied: the revocation then reported no affected request and
    left one covered by the revoked grant."""
    cleared = handlers.submit(flow, OPS, request_doc(circle(5, 5))).record
    assert cleared.approval("H.Air").grant == "h-isr"
    during: list[str] = []
    scan = MemoryRequests.open_for_operator

    def scan_while_another_submits(self: MemoryRequests, operator: str) -> list[Any]:
        worker = threading.Thread(
            target=lambda: during.append(
                handlers.submit(flow, OPS, request_doc(circle(5, 3))).record.id
            )
        )
        worker.start()
        worker.join(timeout=0.5)  # blocks on the airspace lock now; ran to the end before
        found = scan(self, operator)
        threads.append(worker)
        return found

    threads: list[threading.Thread] = []
    monkeypatch.setattr(MemoryRequests, "open_for_operator", scan_while_another_submits)
    affected = handlers.revoke_grant(flow, AIR, "h-isr")
    monkeypatch.undo()
    threads[0].join(timeout=10)
    assert affected == [cleared.id]
    (other,) = during
    record, _ = queries.get(flow, OPS, other)
    assert record.approval("H.Air").status is ApprovalStatus.NEEDS_REVIEW
    assert record.approval("H.Air").grant is None


def test_conditions_must_lie_within_the_request(flow: Context) -> None:
    rid = submit_armed(flow)
    with pytest.raises(RequestError, match="within the request"):
        handlers.decide(
            flow,
            CMD,
            rid,
            "A.Command",
            APPROVE,
            conditions={"text": "t", "time_end": "2021-01-01T00:00:00Z"},
        )
    record = handlers.decide(flow,
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
    flow: Context, store: MemoryStore
) -> None:
    token = handlers.add_principal(flow, "planner", operator="A.Ops")
    assert queries.authenticate(flow, token) == OPS
    assert token not in str(store.principals)
    with pytest.raises(UnauthorizedError):
        queries.authenticate(flow, "wrong")
    with pytest.raises(UnauthorizedError):
        queries.authenticate(flow, None)
    with pytest.raises(ConflictError):
        handlers.add_principal(flow, "planner", authority="A.Command")
    with pytest.raises(RequestError):
        handlers.add_principal(flow, "nobody")
    with pytest.raises(RequestError):
        handlers.add_principal(flow, "ghost", authority="X.None")


def test_a_revoked_principal_is_refused_everywhere_and_its_name_stays_taken(
    flow: Context, store: MemoryStore
) -> None:
    token = handlers.add_principal(flow, "planner", operator="A.Ops")
    other = handlers.add_principal(flow, "commander", authority="A.Command")
    revoked = handlers.revoke_principal(flow, "planner")
    assert revoked.revoked_at == flow.clock.now()
    with pytest.raises(UnauthorizedError):
        queries.authenticate(flow, token)
    assert queries.authenticate(flow, other).name == "commander"
    with pytest.raises(ForbiddenError, match="revoked"):
        queries.principal(flow, "planner")
    with pytest.raises(ConflictError, match="already revoked"):
        handlers.revoke_principal(flow, "planner")
    with pytest.raises(NotFoundError):
        handlers.revoke_principal(flow, "nobody")
    with pytest.raises(ConflictError):
        handlers.add_principal(flow, "planner", operator="A.Ops")
    with pytest.raises(ConflictError, match="revoked"):
        handlers.issue_token(flow, "planner", operator="A.Ops")
    listed = {p.principal.name: p for p in queries.principals(flow)}
    assert listed["planner"].revoked_at is not None
    assert listed["commander"].revoked_at is None
    assert [e.kind for e in store.audit][-1] == "principal.revoked"


def test_every_change_appends_one_event_and_bumps_the_version(flow: Context) -> None:
    rid = submit_armed(flow)
    handlers.decide(flow, CMD, rid, "A.Command", APPROVE)
    handlers.withdraw(flow, OPS, rid)
    record, events = queries.get(flow, OPS, rid)
    assert [(e.kind, e.version) for e in events] == [
        ("submitted", 1),
        ("decided", 2),
        ("withdrawn", 3),
    ]
    assert record.version == 3


def test_a_second_operation_in_the_same_airspace_and_time_is_infeasible_naming_the_first(
    flow: Context,
) -> None:
    first = submit_armed(flow)
    second = handlers.submit(flow, OPS, armed()).record
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
    flow: Context, separated: dict[str, Any]
) -> None:
    submit_armed(flow)
    assert (
        handlers.submit(flow, OPS, armed(volumes=[separated])).record.state is RequestState.PENDING
    )


def test_a_request_that_leaves_the_airspace_frees_it(flow: Context) -> None:
    first = submit_armed(flow)
    handlers.withdraw(flow, OPS, first)
    assert handlers.submit(flow, OPS, armed()).record.state is RequestState.PENDING


def test_amending_does_not_conflict_with_itself(flow: Context) -> None:
    rid = submit_armed(flow)
    assert (
        handlers.amend(flow, OPS, rid, armed(justification="again"), 1).record.state
        is RequestState.PENDING
    )


def test_a_higher_priority_overrides_when_the_scenario_allows_and_flags_the_lower(
    store: MemoryStore,
) -> None:
    from clearance.domain.airspace.deconfliction import Priorities

    scenario = make_scenario()
    scenario.priorities = Priorities({"overwatch": 2, "isr": 1}, override=True)
    flow = Context(
        lambda: MemoryUnitOfWork(store), scenario, PinnedClock(datetime(2020, 5, 1, tzinfo=UTC))
    )
    low = handlers.submit(flow, OPS, request_doc(circle(5, 5))).record.id  # isr, cleared
    high = handlers.submit(flow, OPS, armed()).record
    assert high.state is RequestState.PENDING
    assert high.violations == []
    _, events = queries.get(flow, OPS, low)
    assert events[-1].kind == "flagged"
    assert events[-1].detail["by_request"] == high.id
    # ... and the lower one arriving second is held back by the higher.
    again = handlers.submit(flow, OPS, request_doc(circle(5, 5)))
    assert again.record.state is RequestState.INFEASIBLE


def test_a_reissued_token_replaces_the_old_one_at_once(flow: Context) -> None:
    old = handlers.issue_token(flow, "planner", operator="A.Ops")
    assert queries.authenticate(flow, old) == OPS  # now remembered
    new = handlers.issue_token(flow, "planner", operator="A.Ops")
    assert queries.authenticate(flow, new) == OPS
    with pytest.raises(UnauthorizedError):
        queries.authenticate(flow, old)


def test_a_stored_request_stays_readable_after_a_scenario_retires_its_aircraft(
    store: MemoryStore,
) -> None:
    """Stored requests were re-read against the current scenario: once an aircraft was
    retired, every unrelated submission failed with "aircraft: unknown id"."""
    clock = PinnedClock(datetime(2020, 5, 1, tzinfo=UTC))
    before = Context(lambda: MemoryUnitOfWork(store), make_scenario(), clock)
    stored = handlers.submit(before, OPS, request_doc(circle(5, 5), aircraft="drone-2")).record.id
    retired = make_scenario()
    del retired.aircraft["drone-2"]
    after = Context(lambda: MemoryUnitOfWork(store), retired, clock)  # a restarted server
    submitted = handlers.submit(after, OPS, request_doc(circle(5, 3))).record
    assert submitted.state is RequestState.CLEARED
    # and the stored one still takes part in deconfliction
    clash = handlers.submit(after, OPS, request_doc(circle(5, 5))).record
    assert clash.state is RequestState.INFEASIBLE
    assert stored in str([v.message for v in clash.violations])
