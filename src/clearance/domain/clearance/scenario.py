"""The scenario: every party, authority, site, grant, territory and policy, in memory.

A ``Scenario`` is one immutable *version*: built once from its files (by
``adapters.scenario_loader``, named by their digest) or by a test, then only read. Loading
new files makes a new version current; a request keeps the version it was evaluated
against. Grant revocations are not part of a version: they are rows, applied per unit of
work by ``with_revoked``. Territories are prepared shapely geometries tested exactly (never by bounding
box) with one vectorised predicate call: for the tens of territories a scenario holds,
that measured 5x faster than an STRtree query (3 us against 14 us per volume).
"""

from __future__ import annotations

import copy
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from datetime import datetime

import numpy as np
import shapely

from clearance.domain.airspace.deconfliction import Priorities
from clearance.domain.clearance.limits import Limits
from clearance.domain.clearance.model import (
    Aircraft,
    Area,
    Authority,
    Grant,
    Member,
    Operator,
    Party,
    Site,
    Territory,
)
from clearance.domain.clearance.policy import PolicyEngine


@dataclass(frozen=True)
class ScenarioClock:
    """A scenario's ``clock:``: its time starts at ``start`` and runs forward ``rate``
    seconds per real second (1: real speed; 0 holds it still), so a historical scenario
    replays from its date and waits grow as they would have."""

    start: datetime
    rate: float = 1.0


@dataclass
class Scenario:
    name: str
    parties: dict[str, Party]
    authorities: dict[str, Authority]
    operators: dict[str, Operator]
    aircraft: dict[str, Aircraft]
    sites: dict[str, Site]
    purposes: dict[str, str]
    territories: dict[str, Territory]
    areas: dict[str, Area]
    grants: dict[str, Grant]
    policy: PolicyEngine
    members: dict[str, Member] = field(default_factory=dict)
    clock: ScenarioClock | None = None
    priorities: Priorities = field(default_factory=Priorities)
    limits: Limits = field(default_factory=Limits)  # what a filed request may ask for
    # the digest of the files it was read from (domain.ledger.audit.scenario_version);
    # "" for one built in memory by a test
    version: str = ""

    def __post_init__(self) -> None:
        self._revoked_in_files = {g.id for g in self.grants.values() if g.revoked}
        self._territory_ids = list(self.territories)
        geoms = [self.territories[t].geometry for t in self._territory_ids]
        for g in geoms:
            shapely.prepare(g)
        for a in self.areas.values():
            shapely.prepare(a.geometry)
        self._territory_geoms = np.array(geoms, dtype=object)
        self._known = shapely.union_all(geoms) if geoms else shapely.Polygon()
        shapely.prepare(self._known)

    def territories_touched(self, footprint: shapely.Geometry) -> list[str]:
        """Parties whose territory the footprint intersects (exactly), in a stable order."""
        hits = np.flatnonzero(shapely.intersects(self._territory_geoms, footprint))
        return sorted(self._territory_ids[i] for i in hits.tolist())

    def over_known_territory(self, footprint: shapely.Geometry) -> bool:
        return bool(self._known.covers(footprint))

    def area_geometry(self, area: str) -> shapely.Geometry:
        """A named area, or a party's territory when ``area`` is a party id."""
        if area in self.areas:
            return self.areas[area].geometry
        return self.territories[area].geometry

    def grants_from(self, authority: str) -> list[Grant]:
        return [g for g in self.grants.values() if g.grantor == authority]

    def with_revoked(self, grant_ids: Collection[str]) -> Scenario:
        """This scenario with exactly these grants (and those revoked in its files)
        revoked. ``self`` is never changed: each unit of work evaluates against its own
        view of the revocations it read, so one cannot undo another's (a submission once
        un-revoked a grant while the revocation was being applied)."""
        grants = {}
        for gid, grant in self.grants.items():
            revoked = gid in grant_ids or gid in self._revoked_in_files
            grants[gid] = grant if grant.revoked == revoked else replace(grant, revoked=revoked)
        view = copy.copy(self)  # shares the prepared geometries and the policy engine
        view.grants = grants
        return view
