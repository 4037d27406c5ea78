"""Strategic deconfliction (ASTM F3548-21): a request against the volumes of every
pending and cleared request.

Two volumes conflict when ``geotemporal.volumes_conflict`` says so (time, altitude and
outline all overlap). Each purpose may carry a priority (scenario ``deconfliction:``).
When the scenario allows overriding and the new request's priority is higher than the
other's, the new one is not held back and the other is flagged; otherwise (equal
priorities always, a lower one, or no override) each conflict is a violation with code
``conflict`` naming the other request and both volume indexes (nothing else of it: the
other may be another operator's), which makes the new request infeasible.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from clearance.domain.airspace.index import VolumeIndex
from clearance.domain.clearance.model import Request, Violation


@dataclass(frozen=True, slots=True)
class Priorities:
    """Priority per purpose (absent: 0), and whether a higher one may override."""

    by_purpose: Mapping[str, int] = field(default_factory=dict)
    override: bool = False

    def of(self, purpose: str) -> int:
        return self.by_purpose.get(purpose, 0)


@dataclass(frozen=True, slots=True)
class Deconfliction:
    violations: tuple[Violation, ...]
    flagged: dict[str, list[str]]  # other request id -> what to record on it


def deconflict(
    request: Request,
    index: VolumeIndex,
    purpose_of: Callable[[str], str],
    priorities: Priorities,
    own_id: str | None = None,
) -> Deconfliction:
    """``purpose_of(request_id)`` gives an indexed request's purpose."""
    mine = priorities.of(request.purpose)
    violations: list[Violation] = []
    flagged: dict[str, list[str]] = {}
    for i, volume in enumerate(request.volumes):
        for other, j in sorted(index.conflicts(volume, exclude_request=own_id)):
            theirs = priorities.of(purpose_of(other))
            if priorities.override and mine > theirs:
                flagged.setdefault(other, []).append(
                    f"volume {j} is overridden by a higher-priority request's volume {i}"
                )
                continue
            violations.append(
                Violation(
                    "conflict",
                    f"volume {i} conflicts with request {other} volume {j} "
                    # the other's priority is not named: it would tell another operator's
                    # purpose to whoever reads this request
                    f"(same airspace and time; a priority of {mine} does not override it)",
                )
            )
    return Deconfliction(tuple(violations), flagged)


_CONFLICT = re.compile(r"volume (\d+) conflicts with request (req-[0-9a-f]+) volume (\d+) ")


@dataclass(frozen=True, slots=True)
class ConflictRef:
    """What a stored ``conflict`` violation names: this request's volume, the other
    request and its volume (read back from the message ``deconflict`` writes)."""

    volume: int
    request: str
    other_volume: int


def conflict_ref(violation: Violation) -> ConflictRef | None:
    found = _CONFLICT.match(violation.message) if violation.code == "conflict" else None
    if found is None:
        return None
    return ConflictRef(int(found[1]), found[2], int(found[3]))
