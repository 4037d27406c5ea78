"""Use case: what would clear it. Suggestions for a stored request the principal may see
(404 otherwise), or for a document being composed, evaluated as a submission would be
now, nothing stored.

Every argument is explicit (a unit-of-work factory, the scenario version, the clock, the
``Airspace``, the principal), so any entry point can call it. ``scenario`` should be the
current version: an amendment or a new submission, which is how a suggestion is taken,
is evaluated against it (with the grant revocations the unit of work reads, applied
here). Deconfliction is the ``Airspace``'s, as for a submission; of another operation
only its window is stated ("the airspace is held from T1 to T2")."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from clearance.domain.airspace.cells import volume_cells
from clearance.domain.airspace.index import VolumeIndex
from clearance.domain.clearance import access
from clearance.domain.clearance.alternatives import (
    LIMIT,
    Alternatives,
    Deconflict,
    Hold,
    no_conflicts,
)
from clearance.domain.clearance.alternatives import alternatives as suggest
from clearance.domain.clearance.model import Principal, Request
from clearance.domain.clearance.requests import parse_request
from clearance.domain.clearance.scenario import Scenario
from clearance.domain.documents import instant
from clearance.domain.errors import ConflictError, NotFoundError, RequestError
from clearance.service.airspace import Airspace
from clearance.service.ports import Clock, UnitOfWork
from clearance.service.queries import REQUEST_ID
from clearance.service.views import approval_view, evaluation_view


@dataclass(frozen=True)
class Suggested:
    request: str | None  # the stored request's id; None for a document being composed
    alternatives: Alternatives


def airspace_holds(
    airspace: Airspace, uow: UnitOfWork, scenario: Scenario, own_id: str | None
) -> Deconflict:
    """The holds a request meets in the airspace as ``uow`` reads it (the database's
    cells, as a submission would be deconflicted, without taking their locks): a volume
    held by another pending or cleared request blocks unless the scenario lets this
    request's higher priority override it (then it is a hold that does not block).
    Candidates with the same footprint (another payload or aircraft) share one read."""
    priorities = scenario.priorities
    read: dict[tuple[object, ...], tuple[VolumeIndex, dict[str, str]]] = {}

    def holds(request: Request) -> Sequence[Hold]:
        mine = priorities.of(request.purpose)
        out = []
        for i, volume in enumerate(request.volumes):
            cells = tuple(sorted(volume_cells(volume)))
            key = (*cells, volume.time_start, volume.time_end)
            if key not in read:
                read[key] = airspace.within(uow, cells, volume.time_start, volume.time_end, own_id)
            index, purposes = read[key]
            for (other, _), theirs in index.conflicting(volume, own_id):
                overrides = priorities.override and mine > priorities.of(purposes[other])
                out.append(
                    Hold(
                        i,
                        theirs.time_start,
                        theirs.time_end,
                        theirs.altitude_lower_m,
                        theirs.altitude_upper_m,
                        blocking=not overrides,
                    )
                )
        return out

    return holds


def for_request(
    uow: Callable[[], UnitOfWork],
    scenario: Scenario,
    clock: Clock,
    airspace: Airspace,
    who: Principal,
    request_id: str,
    limit: int = LIMIT,
) -> Suggested:
    """Suggestions for stored request ``request_id`` (deconflicted against every other
    pending and cleared request, not itself)."""
    with uow() as u:
        record = u.requests.get(request_id) if REQUEST_ID.fullmatch(request_id) else None
        if record is None or not access.may_see(who, record):
            raise NotFoundError(f"no request {request_id!r}")
        current = scenario.with_revoked(u.grants.revoked())
        try:
            found = suggest(
                record.document,
                current,
                airspace_holds(airspace, u, current, record.id),
                clock.now(),
                limit,
            )
        except RequestError as e:
            raise ConflictError(
                f"request {record.id} no longer reads against scenario version "
                f"{current.version or '(in memory)'}, so no change to it can be evaluated: {e}"
            ) from None
    return Suggested(record.id, found)


def for_document(
    uow: Callable[[], UnitOfWork],
    scenario: Scenario,
    clock: Clock,
    airspace: Airspace,
    who: Principal,
    document: object,
    limit: int = LIMIT,
) -> Suggested:
    """Suggestions for a document being composed by ``who`` (who must submit for its
    operator); a bad document raises ``RequestError`` naming the field."""
    doc = plain(document)
    now = clock.now()
    with uow() as u:
        current = scenario.with_revoked(u.grants.revoked())
        request = parse_request(doc, current, limits=current.limits, now=now)
        access.must_submit_for(who, request.operator)
        if all(v.time_end <= now for v in request.volumes):
            raise RequestError(
                f"every volume has already ended (now is {instant(now)})", field="volumes"
            )
        found = suggest(doc, current, airspace_holds(airspace, u, current, None), now, limit)
    return Suggested(None, found)


def offline(document: object, scenario: Scenario, now: datetime, limit: int = LIMIT) -> Suggested:
    """Suggestions for a document against a scenario alone, with no database: nothing is
    stored, so nothing holds the airspace (``clearance evaluate --suggest``)."""
    return Suggested(None, suggest(plain(document), scenario, no_conflicts, now, limit))


def plain(document: object) -> dict[str, Any]:
    """The document as plain JSON data, as a submission stores it (YAML may hand us
    datetimes); anything but a mapping is refused."""
    if not isinstance(document, dict):
        raise RequestError("must be a mapping (a request document)")
    out = json.loads(json.dumps(document, default=_json_default))
    assert isinstance(out, dict)
    return out


def _json_default(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise RequestError(f"holds a value JSON cannot carry ({type(value).__name__})")


def alternatives_view(s: Suggested) -> dict[str, Any]:
    """The document's own evaluation (conflicts as holds), what holds its airspace, and
    the suggestions, best first: each with its changes (RFC 6902), the document they
    make, the outcome and the approvals it would get."""
    a = s.alternatives
    return {
        "request": s.request,
        **evaluation_view(a.evaluation),
        "held": [
            {
                "volume": h.volume,
                "time_start": instant(h.time_start),
                "time_end": instant(h.time_end),
                "message": h.message,
            }
            for h in a.held
        ],
        "suggestions": [
            {
                "description": x.description,
                "outcome": x.evaluation.outcome.value,
                "reviews": x.reviews,
                "approvals": [approval_view(p) for p in x.evaluation.approvals],
                "changes": [c.as_json() for c in x.changes],
                "document": x.document,
            }
            for x in a.suggestions
        ],
    }
