"""Which authorities must decide on a request, and in which stage.

Stages run in order: first the operator's own party's ``chain`` (one stage per entry
whose condition holds), then, as one stage, the ``airspace`` authorities of every party
whose territory a volume touches. An authority appears once, at its earliest stage.
"""

from __future__ import annotations

from dataclasses import dataclass

from clearance.domain.clearance.model import Request
from clearance.domain.clearance.scenario import Scenario


@dataclass(frozen=True, slots=True)
class RoutedApproval:
    """An approval a request needs, as routing finds it (nothing evaluated yet): the
    authority that must decide, its stage and the volumes it decides on."""

    authority: str
    stage: int
    volumes: tuple[int, ...]


def route(request: Request, scenario: Scenario, touched: list[list[str]]) -> list[RoutedApproval]:
    """``touched[i]`` lists the parties whose territory volume ``i`` touches."""
    party = scenario.operators[request.operator].party
    all_touched = sorted({p for ps in touched for p in ps})
    foreign = any(p != party for p in all_touched)
    everything = tuple(range(len(request.volumes)))
    needed: dict[str, RoutedApproval] = {}
    stage = 0
    for need in scenario.parties[party].chain:
        if need.when.holds(request.payload, request.purpose, foreign):
            stage += 1
            needed.setdefault(need.authority, RoutedApproval(need.authority, stage, everything))
    host_stage = stage + 1
    for host in all_touched:
        over = tuple(i for i, ps in enumerate(touched) if host in ps)
        for need in scenario.parties[host].airspace:
            if need.when.holds(request.payload, request.purpose, foreign):
                needed.setdefault(need.authority, RoutedApproval(need.authority, host_stage, over))
    return sorted(needed.values(), key=lambda s: (s.stage, s.authority))
