"""Tracks for conformance: read from files or bodies, and simulated for demos.

Checking a track and recording the result is the ``record_telemetry`` handler.
"""

from __future__ import annotations

from pathlib import Path

from clearance.domain.airspace.telemetry import TrackReader
from clearance.domain.airspace.tracks import Track, simulate_track, track_to_csv
from clearance.domain.airspace.volumes import LatLng
from clearance.domain.clearance.requests import stored_airspace
from clearance.domain.errors import InputError
from clearance.service import queries
from clearance.service.context import Context

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


def simulated_track_csv(ctx: Context, request_id: str, drift_to: LatLng | None) -> str:
    record, _ = queries.inspect(ctx, request_id)
    _, volumes = stored_airspace(record.document)
    # from the launch site when the request's scenario version has it
    site = ctx.scenario_of(record).sites.get(str(record.document.get("launch_site")))
    location = site.location if site is not None else None
    return track_to_csv(simulate_track(list(volumes), location, drift_to=drift_to))
