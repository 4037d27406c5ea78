"""Does a standing grant already give an authority's consent?

A grant covers a request for its grantor when it is not revoked, names the request's
operator, purpose and payload, is valid for every volume's whole time window, and its
area contains every volume the grantor decides on. When no grant covers, the reasons
say why each of the grantor's grants to this operator falls short.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from clearance.domain.clearance.model import Grant, Request
from clearance.domain.clearance.scenario import Scenario
from clearance.domain.documents import instant


@dataclass(frozen=True, slots=True)
class Coverage:
    grant: Grant | None
    shortfalls: tuple[str, ...] = ()


def coverage(
    request: Request, authority: str, volumes: Sequence[int], scenario: Scenario
) -> Coverage:
    shortfalls = []
    for grant in scenario.grants_from(authority):
        if grant.grantee != request.operator:
            continue
        gaps = _gaps(grant, request, volumes, scenario)
        if not gaps:
            return Coverage(grant)
        shortfalls.append(f"grant {grant.id} does not cover this: {'; '.join(gaps)}")
    return Coverage(None, tuple(shortfalls))


def _gaps(grant: Grant, request: Request, volumes: Sequence[int], scenario: Scenario) -> list[str]:
    gaps = []
    if grant.revoked:
        gaps.append("it was revoked")
    if request.purpose not in grant.purposes:
        gaps.append(f"purpose {request.purpose} is not among {', '.join(sorted(grant.purposes))}")
    if request.payload not in grant.payloads:
        gaps.append(f"payload {request.payload} is not among {', '.join(sorted(grant.payloads))}")
    chosen = [request.volumes[i] for i in volumes]
    start = min(v.time_start for v in chosen)
    end = max(v.time_end for v in chosen)
    if start < grant.valid_from:
        gaps.append(f"it is valid only from {instant(grant.valid_from)}")
    if grant.valid_until is not None and end > grant.valid_until:
        gaps.append(f"it is valid only until {instant(grant.valid_until)}")
    area = scenario.area_geometry(grant.area)
    outside = [i for i in volumes if not area.covers(request.volumes[i].footprint)]
    if outside:
        listed = ", ".join(str(i) for i in outside)
        gaps.append(f"volume {listed} leaves its area {grant.area}")
    return gaps
