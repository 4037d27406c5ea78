"""Use cases for what was flown: conformance of a track, and simulated tracks for demos.

A track is checked against the request's volumes (outline, altitude band, time window)
and against territories: a point over a party whose consent no approval carries is an
excursion naming that party. The result is recorded on the request (an event in its
timeline, and so in the audit log) whatever it says. Only the request's operator records
telemetry for it: the members of its chain may read the result, not record one.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from clearance.domain.airspace.conformance import (
    ConformanceResult,
    check_conformance,
)
from clearance.domain.airspace.telemetry import TrackReader
from clearance.domain.airspace.tracks import Track, sampled_path, simulate_track, track_to_csv
from clearance.domain.airspace.volumes import LatLng
from clearance.domain.clearance import access
from clearance.domain.clearance.model import Principal
from clearance.domain.clearance.requests import stored_airspace
from clearance.domain.clearance.workflow import RequestState
from clearance.domain.errors import InputError, NotFoundError
from clearance.service.workflow import Workflow

PIECE_BYTES = 1 << 20


def read_track(text: str, source: str, media: str) -> Track:
    """``media``: ``csv`` or ``jsonl`` (from a file suffix or a Content-Type)."""
    reader = TrackReader(source, media)
    reader.feed_text(text)
    return reader.close()


def read_track_file(path: Path, media: str) -> Track:
    """A telemetry file, read and parsed a megabyte at a time (bounded memory)."""
    reader = TrackReader(str(path), media)
    try:
        with path.open("rb") as stream:
            while piece := stream.read(PIECE_BYTES):
                reader.feed(piece)
    except OSError as e:
        raise InputError(f"cannot be read ({e.strerror or e})", source=str(path)) from None
    return reader.close()


def may_record(workflow: Workflow, request_id: str, who: Principal | None) -> None:
    """Raise unless ``who`` may record telemetry for the request: ``NotFoundError`` when
    they cannot see it, ``ForbiddenError`` when they are not its operator. ``None`` is
    the database's own operator (the CLI)."""
    if who is None:
        workflow.inspect(request_id)
        return
    seen, _ = workflow.get(who, request_id)
    access.must_record_telemetry(who, seen)


def check_track(
    workflow: Workflow, request_id: str, track: Track, who: Principal | None = None
) -> ConformanceResult:
    """Check and record; ``who`` is None for the database's own operator (the CLI)."""
    may_record(workflow, request_id, who)
    seen, _ = workflow.inspect(request_id)
    with workflow.uow() as uow:
        record = uow.requests.get(seen.id)
        if record is None:  # pragma: no cover - it was there a moment ago
            raise NotFoundError(f"no request {request_id!r}")
        loaded = record.version
        _, volumes = stored_airspace(record.document)
        territories = {p: t.geometry for p, t in workflow.scenario_of(record).territories.items()}
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
        record.record_conformance(recorded, who.name if who else None, workflow.clock.now())
        uow.requests.save(record, loaded)
        uow.commit()
    return result


def simulated_track_csv(workflow: Workflow, request_id: str, drift_to: LatLng | None) -> str:
    record, _ = workflow.inspect(request_id)
    _, volumes = stored_airspace(record.document)
    # from the launch site when today's scenario still has it
    site = workflow.scenario_of(record).sites.get(str(record.document.get("launch_site")))
    location = site.location if site is not None else None
    return track_to_csv(simulate_track(list(volumes), location, drift_to=drift_to))
