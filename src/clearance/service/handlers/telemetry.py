"""Record what was flown: a track checked against the request's volumes and territories.

A point over a party whose consent no approval carries is an excursion naming that
party. The result is recorded on the request (an event in its timeline, and so in the
audit log) whatever it says. Only the request's operator records telemetry for it: the
members of its chain may read the result, not record one.
"""

from __future__ import annotations

from dataclasses import replace

from clearance.domain.airspace.conformance import ConformanceResult, check_conformance
from clearance.domain.airspace.tracks import Track, sampled_path
from clearance.domain.clearance import access
from clearance.domain.clearance.model import Principal
from clearance.domain.clearance.requests import stored_airspace
from clearance.domain.clearance.workflow import RequestState
from clearance.domain.errors import NotFoundError
from clearance.service import queries
from clearance.service.context import Context
from clearance.service.notify import record_changed


def may_record(ctx: Context, request_id: str, who: Principal | None) -> None:
    """Raise unless ``who`` may record telemetry for the request: ``NotFoundError`` when
    they cannot see it, ``ForbiddenError`` when they are not its operator. ``None`` is
    the database's own operator (the CLI)."""
    if who is None:
        queries.inspect(ctx, request_id)
        return
    seen, _ = queries.get(ctx, who, request_id)
    access.must_record_telemetry(who, seen)


def record_telemetry(
    ctx: Context, request_id: str, track: Track, who: Principal | None = None
) -> ConformanceResult:
    """Check ``track`` and record the result; ``who`` is None for the database's own
    operator (the CLI)."""
    may_record(ctx, request_id, who)
    with ctx.uow() as uow:
        record = uow.requests.get(request_id)
        if record is None:  # pragma: no cover - it was there a moment ago
            raise NotFoundError(f"no request {request_id!r}")
        loaded = record.version
        _, volumes = stored_airspace(record.document)
        territories = {p: t.geometry for p, t in ctx.scenario_of(record).territories.items()}
        result = check_conformance(
            track,
            volumes,
            territories=territories,
            covered_parties=frozenset(a.party for a in record.approvals),
        )
        if record.state is not RequestState.CLEARED:
            reason = f"request {record.id} is {record.state.value}, not cleared"
            result = replace(result, conforming=False, reasons=[*result.reasons, reason])
        # the result, and where the aircraft went, drawn on the request's page
        recorded = result.to_dict() | {"path": sampled_path(track)}
        record.record_conformance(recorded, who.name if who else None, ctx.clock.now())
        record_changed(uow, record)
        uow.requests.save(record, loaded)
        uow.commit()
    return result
