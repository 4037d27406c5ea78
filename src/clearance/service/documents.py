"""How the use cases read a request document and evaluate it in their unit of work.

A document is read (validated, kept as plain JSON data) before its unit of work begins,
against the version this process last saw current; inside the unit of work that guess is
checked against the database and the document read again if a load came between.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from clearance.domain.clearance.evaluation import evaluate, with_violations
from clearance.domain.clearance.model import Evaluation, Request
from clearance.domain.clearance.requests import parse_request
from clearance.domain.clearance.scenario import Scenario
from clearance.domain.documents import instant
from clearance.domain.errors import RequestError
from clearance.domain.ledger.merkle import canonical_json
from clearance.service.context import Context
from clearance.service.notify import record_changed
from clearance.service.ports import UnitOfWork

Read = TypeVar("Read")
Parsed = tuple[dict[str, Any], Request]


def read(ctx: Context, document: object, scenario: Scenario) -> Parsed:
    """Validate, and keep the document as plain JSON data (YAML may hand us datetimes),
    so what is stored, digested and re-read is exactly what was evaluated."""
    if isinstance(document, dict):
        document = json.loads(json.dumps(document, default=_json_default))
    request = parse_request(document, scenario, limits=scenario.limits, now=ctx.clock.now())
    assert isinstance(document, dict)  # parse_request accepted it as a mapping
    loggable(document, "")
    return document, request


def read_live(ctx: Context, document: object, scenario: Scenario) -> Parsed:
    """``read``, refusing a document whose every volume has already ended."""
    doc, request = read(ctx, document, scenario)
    not_over(ctx, request)
    return doc, request


def read_first(
    ctx: Context, reader: Callable[[Context, object, Scenario], Read], document: object
) -> tuple[Scenario, Read]:
    """Read a document before its unit of work begins, against the current version as
    this process last read it (no query): ``evaluate_in`` checks that guess against the
    database inside the unit of work. A document the guess refuses is read against the
    database's current version."""
    guess = ctx.scenarios.last_current()
    if guess is not None:
        try:
            return guess, reader(ctx, document, guess)
        except RequestError:
            current = ctx.current_scenario()  # one read, whichever way it goes
            if current.version == guess.version:
                raise  # the guess was current: its refusal stands
            return current, reader(ctx, document, current)
    scenario = ctx.current_scenario()
    return scenario, reader(ctx, document, scenario)


def not_over(ctx: Context, request: Request) -> None:
    now = ctx.clock.now()
    if all(v.time_end <= now for v in request.volumes):
        raise RequestError(
            f"every volume has already ended (now is {instant(now)})", field="volumes"
        )


def evaluate_in(
    ctx: Context,
    uow: UnitOfWork,
    doc: dict[str, Any],
    request: Request,
    read_with: Scenario,
    request_id: str | None,
) -> tuple[Request, Evaluation, dict[str, list[str]]]:
    """Evaluate against the current version with the grants as ``uow`` reads them, then
    deconflict against every pending and cleared request. ``request`` was read with
    ``read_with``; if another version became current meanwhile, the document is read
    again against it. Returns the request, its evaluation and the lower-priority requests
    it would flag (and why)."""
    if request_id is not None:  # a change, not a look: no revocation may slip past it
        uow.grants.hold()
    scenario = ctx.scenario_in(uow)
    if scenario.version != read_with.version:
        request = read_live(ctx, doc, scenario)[1]
    # a submission or amendment (with an id) locks its cells until it commits
    found = ctx.airspace.check(
        uow, request, scenario.priorities, own_id=request_id, lock=request_id is not None
    )
    evaluation = evaluate(request, scenario)
    return request, with_violations(evaluation, found.violations), found.flagged


def flag(uow: UnitOfWork, flagged: dict[str, list[str]], by_request: str, now: datetime) -> None:
    """Flag the lower-priority requests a new or amended one overrides."""
    for other_id, reasons in flagged.items():
        other = uow.requests.get(other_id)
        if other is not None:
            loaded = other.version
            other.flag(reasons, by_request, now)
            record_changed(uow, other)
            uow.requests.save(other, loaded)


def loggable(value: object, field: str) -> None:
    """The audit log holds RFC 8785 canonical JSON, which has no integers beyond 2**53."""
    try:
        canonical_json(value)
    except ValueError as e:
        raise RequestError(f"holds a number JSON cannot carry exactly: {e}", field=field) from None


def _json_default(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise RequestError(f"holds a value JSON cannot carry ({type(value).__name__})")
