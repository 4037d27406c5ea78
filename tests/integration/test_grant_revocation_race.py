"""A submission relying on a grant and that grant's revocation, made at once by two
processes on one database (two Contexts: each has its own in-process lock), on SQLite and
PostgreSQL. Whichever commits first, the request must not end up covered by the revoked
grant: either the submission saw the revocation, or the revocation found the request and
sent it back to review. Before the grants lock, the revocation committed while the
submission was between reading the revocations and committing, found nothing to send
back, and the request stayed cleared by a revoked grant."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from clearance.adapters.scenario_loader import load_scenario
from clearance.adapters.sql import make_engine, uow_factory, upgrade
from clearance.domain.clearance.model import Principal
from clearance.service import handlers, queries
from clearance.service.context import Context
from clearance.service.ports import PinnedClock

NIGER = Path(__file__).parents[2] / "examples" / "niger"
GRANT = "ne-fr-isr-armed"
NOW = datetime(2017, 11, 20, tzinfo=UTC)


def document(prefix: str) -> dict[str, Any]:
    (path,) = (NIGER / "requests").glob(f"{prefix}-*.yaml")
    data: dict[str, Any] = yaml.safe_load(path.read_text())
    return data


@pytest.fixture
def two_processes(db_url: str) -> Iterator[tuple[Context, Context]]:
    engines = [make_engine(db_url), make_engine(db_url)]
    upgrade(engines[0])
    scenario = load_scenario(NIGER)
    try:
        yield tuple(  # type: ignore[misc]
            Context(uow_factory(e), scenario, PinnedClock(NOW)) for e in engines
        )
    finally:
        for e in engines:
            e.dispose()


def test_a_revocation_racing_a_submission_never_leaves_it_covered_by_the_revoked_grant(
    two_processes: tuple[Context, Context],
) -> None:
    submitting, revoking = two_processes
    handlers.add_principal(submitting, "fr-planner", operator="FR.Barkhane")
    planner = queries.principal(submitting, "fr-planner")
    inside, go = threading.Event(), threading.Event()
    check = submitting.airspace.check

    def paused_check(*args: Any, **kwargs: Any) -> Any:
        found = check(*args, **kwargs)  # the submission has read the revocations by now
        inside.set()
        assert go.wait(60), "the test never let the submission go on"
        return found

    submitting.airspace.check = paused_check  # type: ignore[method-assign]
    submitted: list[str] = []
    sent_back: list[str] = []
    failures: list[BaseException] = []

    def submit() -> None:
        try:
            submitted.append(handlers.submit(submitting, planner, document("06")).record.id)
        except BaseException as e:  # reported below
            failures.append(e)

    def revoke() -> None:
        try:
            member = Principal("NE.Defense-member", authority="NE.Defense")
            sent_back.extend(handlers.revoke_grant(revoking, member, GRANT))
        except BaseException as e:  # reported below
            failures.append(e)

    a = threading.Thread(target=submit)
    a.start()
    assert inside.wait(60), "the submission never reached its airspace check"
    b = threading.Thread(target=revoke)
    b.start()
    b.join(1.0)  # the revocation runs now, if nothing holds it back
    go.set()
    a.join(60)
    b.join(60)
    assert failures == []
    (rid,) = submitted
    record, _ = queries.get(submitting, planner, rid)
    relied_on = {a.grant for a in record.approvals if a.grant}
    assert GRANT not in relied_on, (
        f"{rid} is still covered by the revoked grant; sent back: {sent_back}"
    )
