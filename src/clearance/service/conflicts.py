"""The other side of a request's conflicts, as much of it as the viewer may see.

A ``conflict`` violation names the other request and both volume indexes. A viewer who
may see the other request (its operator's principals, members of its chain) gets that
request's volume as stored; anyone else only its extent (bounding box and altitude band)
and time window: enough to see where and when the airspace is taken, nothing of whose
operation it is or why."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from clearance.domain.airspace.deconfliction import ConflictRef, conflict_ref
from clearance.domain.clearance.model import Violation
from clearance.domain.clearance.requests import stored_airspace
from clearance.domain.clearance.workflow import RequestRecord


@dataclass(frozen=True)
class SeenConflict:
    ref: ConflictRef
    visible: bool  # whether the viewer may see the other request (then ``volume`` is set)
    bounds: tuple[float, float, float, float]  # west, south, east, north (degrees)
    altitude_lower_m: float
    altitude_upper_m: float
    time_start: datetime
    time_end: datetime
    volume: dict[str, Any] | None  # the other request's Volume4D as stored, when visible


def seen_conflicts(
    violations: Sequence[Violation],
    get: Callable[[str], RequestRecord | None],
    may_see: Callable[[RequestRecord], bool],
) -> list[SeenConflict]:
    """``get`` reads a request by id (no visibility check); ``may_see`` is the viewer's."""
    seen: list[SeenConflict] = []
    for violation in violations:
        ref = conflict_ref(violation)
        other = get(ref.request) if ref is not None else None
        if ref is None or other is None:
            continue
        _, volumes = stored_airspace(other.document)  # as stored, whatever today's scenario
        if not 0 <= ref.other_volume < len(volumes):
            continue
        v = volumes[ref.other_volume]
        visible = may_see(other)
        west, south, east, north = v.footprint.bounds
        seen.append(
            SeenConflict(
                ref=ref,
                visible=visible,
                bounds=(west, south, east, north),
                altitude_lower_m=v.altitude_lower_m,
                altitude_upper_m=v.altitude_upper_m,
                time_start=v.time_start,
                time_end=v.time_end,
                volume=other.document["volumes"][ref.other_volume] if visible else None,
            )
        )
    return seen
