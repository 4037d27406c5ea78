"""The words of DESIGN.md as plain, immutable Python objects."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import shapely

from clearance.domain.airspace.volumes import LatLng, Volume4D


class Payload(StrEnum):
    ARMED = "armed"
    UNARMED = "unarmed"


class ApprovalStatus(StrEnum):
    AUTO_APPROVED = "auto_approved"
    COVERED_BY_GRANT = "covered_by_grant"
    NEEDS_REVIEW = "needs_review"
    APPROVED = "approved"
    DENIED = "denied"


class Outcome(StrEnum):
    CLEARED = "cleared"
    PENDING = "pending"
    DENIED = "denied"
    INFEASIBLE = "infeasible"


class SiteStatus(StrEnum):
    OPERATIONAL = "operational"
    UNDER_CONSTRUCTION = "under_construction"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class Condition:
    """When a requirement applies; ``None`` means "any"."""

    payloads: frozenset[str] | None = None
    purposes: frozenset[str] | None = None
    foreign_territory: bool | None = None

    def holds(self, payload: str, purpose: str, foreign_territory: bool) -> bool:
        return (
            (self.payloads is None or payload in self.payloads)
            and (self.purposes is None or purpose in self.purposes)
            and (self.foreign_territory is None or self.foreign_territory == foreign_territory)
        )


@dataclass(frozen=True, slots=True)
class Requirement:
    """An authority that must decide, when its condition holds."""

    authority: str
    when: Condition = Condition()


@dataclass(frozen=True, slots=True)
class Party:
    """A government or organisation.

    ``chain``: who of this party decides on its own operators' operations, in order (each
    entry is one stage). ``airspace``: who decides on any foreign operation over its
    territory (one stage, after the operator's own chain).
    """

    id: str
    name: str
    chain: tuple[Requirement, ...] = ()
    airspace: tuple[Requirement, ...] = ()


@dataclass(frozen=True, slots=True)
class ReviewDeadline:
    """An authority's review deadline (``domain.clearance.deadlines``)."""

    within: timedelta | None = None
    share_of_lead_time: float | None = None

    def due(self, waiting_since: datetime, time_start: datetime) -> datetime:
        """When a review that could start at ``waiting_since`` is overdue."""
        found = []
        if self.within is not None:
            found.append(waiting_since + self.within)
        if self.share_of_lead_time is not None:
            found.append(waiting_since + (time_start - waiting_since) * self.share_of_lead_time)
        return min(found)


@dataclass(frozen=True, slots=True)
class Authority:
    id: str
    party: str
    name: str
    # The public half of the root key the authority keeps itself (raw Ed25519): it
    # enrolls its members' keys, and its decisions are then signed by the member who
    # makes them (``domain.ledger.members``). None: its decisions are recorded unsigned.
    root_key: bytes | None = None
    # How long its reviews may take (``domain.clearance.deadlines``); None: no deadline.
    review_deadline: ReviewDeadline | None = None


@dataclass(frozen=True, slots=True)
class Member:
    """A person who acts for an authority."""

    id: str
    authority: str
    name: str


@dataclass(frozen=True, slots=True)
class Principal:
    """An API identity: an operator's principal (submits), an authority's member (decides),
    or both."""

    name: str
    operator: str | None = None
    authority: str | None = None

    @property
    def roles(self) -> list[str]:
        return [r for r, v in (("operator", self.operator), ("member", self.authority)) if v]


@dataclass(frozen=True, slots=True)
class Operator:
    id: str
    party: str
    name: str


@dataclass(frozen=True, slots=True)
class Aircraft:
    id: str
    type: str
    operator: str
    can_carry_weapons: bool
    combat_radius_m: float


@dataclass(frozen=True, slots=True)
class StatusChange:
    since: datetime
    status: SiteStatus


@dataclass(frozen=True, slots=True)
class Site:
    """A base. ``statuses`` is ordered by ``since``; before the first, the site does not exist.

    ``munitions_storage`` names the parties whose munitions the site may store, which is
    only possible while the site is operational.
    """

    id: str
    name: str
    location: LatLng
    statuses: tuple[StatusChange, ...]
    munitions_storage: frozenset[str]

    def status_at(self, when: datetime) -> SiteStatus | None:
        current = None
        for change in self.statuses:
            if change.since <= when:
                current = change.status
        return current

    def operational_from(self) -> datetime | None:
        for change in self.statuses:
            if change.status is SiteStatus.OPERATIONAL:
                return change.since
        return None

    def stores_munitions_for(self, party: str, when: datetime) -> bool:
        return party in self.munitions_storage and self.status_at(when) is SiteStatus.OPERATIONAL


@dataclass(frozen=True, slots=True)
class Territory:
    """A party's area, in (lng, lat) degrees."""

    party: str
    name: str
    geometry: shapely.Geometry


@dataclass(frozen=True, slots=True)
class Area:
    """A named area a grant may refer to (a territory is also an area, by party id)."""

    id: str
    name: str
    geometry: shapely.Geometry


@dataclass(frozen=True, slots=True)
class Grant:
    """A standing authorisation from an authority to an operator."""

    id: str
    grantor: str
    grantee: str
    purposes: frozenset[str]
    payloads: frozenset[str]
    area: str
    valid_from: datetime
    valid_until: datetime | None = None
    conditions: tuple[str, ...] = ()
    revoked: bool = False


@dataclass(frozen=True)
class Request:
    """What an operator asks to fly."""

    operator: str
    aircraft: str
    payload: Payload
    purpose: str
    launch_site: str
    justification: str
    volumes: tuple[Volume4D, ...]

    @property
    def time_start(self) -> datetime:
        return min(v.time_start for v in self.volumes)


@dataclass(frozen=True, slots=True)
class Conditions:
    """What an approving member attaches: text, and optionally a narrower time window or
    volume (an F3548 Volume4D document, already validated) the operation must respect."""

    text: str
    time_start: datetime | None = None
    time_end: datetime | None = None
    volume: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Approval:
    """One authority's part in one request's chain: its stage, status and reasons."""

    authority: str
    party: str
    stage: int
    status: ApprovalStatus
    reasons: tuple[str, ...] = ()
    policies: tuple[str, ...] = ()
    grant: str | None = None
    volumes: tuple[int, ...] = ()  # indexes of the volumes this authority decides on
    # Set by the workflow: a digest of this authority's inputs, and a person's decision.
    inputs: str = ""
    by: str | None = None
    at: datetime | None = None
    comment: str = ""
    conditions: Conditions | None = None
    signature: str = ""  # the authority's Ed25519 signature of the decision (base64)


@dataclass(frozen=True, slots=True)
class Violation:
    """A feasibility rule the request breaks; ``code`` is stable, ``message`` is for people."""

    code: str
    message: str


@dataclass(frozen=True)
class Evaluation:
    outcome: Outcome
    approvals: tuple[Approval, ...]
    violations: tuple[Violation, ...] = field(default=())
    scenario_version: str = ""  # the digest of the scenario it was made against


def outcome_of(approvals: tuple[Approval, ...], violations: tuple[Violation, ...]) -> Outcome:
    """Infeasible beats denied beats pending beats cleared."""
    if violations:
        return Outcome.INFEASIBLE
    statuses = {a.status for a in approvals}
    if ApprovalStatus.DENIED in statuses:
        return Outcome.DENIED
    if ApprovalStatus.NEEDS_REVIEW in statuses:
        return Outcome.PENDING
    return Outcome.CLEARED
