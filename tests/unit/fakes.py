"""A small scenario built in code, for unit tests of the domain (no files, no database).

Geography (lng, lat degrees): host party H owns the square 0..10 x 0..10; neighbour N
owns the square -10..0 x 0..10; party T owns a right triangle whose bounding box
overlaps H's corner region (to test exact intersection). Operator A.Ops belongs to A,
which has no territory here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import shapely

from clearance.domain.airspace.volumes import LatLng
from clearance.domain.clearance.model import (
    Aircraft,
    Area,
    Authority,
    Condition,
    Grant,
    Operator,
    Party,
    Payload,
    Requirement,
    Site,
    SiteStatus,
    StatusChange,
    Territory,
)
from clearance.domain.clearance.policy import PolicyEngine, PolicyText
from clearance.domain.clearance.scenario import Scenario

T0 = datetime(2000, 1, 1, tzinfo=UTC)
OPEN_2030 = datetime(2030, 1, 1, tzinfo=UTC)

POLICIES = {
    "A.Command": """
        @id("cmd-unarmed") @reason("A.Command clears unarmed flights")
        permit (principal in Party::"A", action == Action::"approve", resource == Authority::"A.Command")
        when { context.payload == "unarmed" };
        @id("cmd-review") @reason("A.Command reviews armed flights")
        permit (principal in Party::"A", action == Action::"refer", resource == Authority::"A.Command");
        @id("cmd-storage") @reason("A.Command forbids armed launches without storage")
        forbid (principal, action, resource == Authority::"A.Command")
        when { context.payload == "armed" && !context.launch_site_munitions_storage };
    """,
    "A.Foreign": """
        @id("foreign-review") @reason("A.Foreign reviews armed flights abroad")
        permit (principal, action == Action::"refer", resource == Authority::"A.Foreign");
    """,
    "H.Air": """
        @id("h-review") @reason("H.Air reviews what no grant covers")
        permit (principal, action == Action::"refer", resource == Authority::"H.Air");
    """,
    "H.Chief": """
        @id("h-chief-grant") @reason("H.Chief follows H.Air's grants")
        permit (principal, action == Action::"approve", resource == Authority::"H.Chief")
        when { context.covering_grants.contains("H.Air") };
        @id("h-chief-review") @reason("H.Chief reviews armed flights")
        permit (principal, action == Action::"refer", resource == Authority::"H.Chief");
    """,
    "N.Air": "// no policy: Cedar denies by default\n",
    "T.Air": """
        @id("t-review") @reason("T.Air reviews everything")
        permit (principal, action == Action::"refer", resource == Authority::"T.Air");
    """,
}


def box(x0: float, y0: float, x1: float, y1: float) -> shapely.Polygon:
    return shapely.box(x0, y0, x1, y1)


def make_scenario(*, grants: list[Grant] | None = None, cache_size: int = 1024) -> Scenario:
    parties = {
        "A": Party(
            "A",
            "Alpha",
            chain=(
                Requirement("A.Command"),
                Requirement(
                    "A.Foreign",
                    Condition(payloads=frozenset({"armed"}), foreign_territory=True),
                ),
            ),
        ),
        "H": Party(
            "H",
            "Host",
            airspace=(
                Requirement("H.Air"),
                Requirement("H.Chief", Condition(payloads=frozenset({"armed"}))),
            ),
        ),
        "N": Party("N", "Neighbour", airspace=(Requirement("N.Air"),)),
        "T": Party("T", "Triangle", airspace=(Requirement("T.Air"),)),
    }
    authorities = {a: Authority(a, a.split(".")[0], a) for a in POLICIES}
    operators = {
        "A.Ops": Operator("A.Ops", "A", "Alpha operations"),
        "H.Ops": Operator("H.Ops", "H", "Host ops"),
    }
    aircraft = {
        "drone-1": Aircraft("drone-1", "D1", "A.Ops", True, 800_000.0),
        "drone-2": Aircraft("drone-2", "D2", "A.Ops", False, 800_000.0),
        "host-1": Aircraft("host-1", "D1", "H.Ops", True, 800_000.0),
    }
    sites = {
        "base": Site(
            "base", "Base", LatLng(5.0, 5.0),
            (StatusChange(T0, SiteStatus.OPERATIONAL),), frozenset({"A"}),
        ),
        "bare": Site(
            "bare", "Bare", LatLng(5.0, 6.0),
            (StatusChange(T0, SiteStatus.OPERATIONAL),), frozenset(),
        ),
        "new": Site(
            "new", "New", LatLng(6.0, 6.0),
            (StatusChange(T0, SiteStatus.UNDER_CONSTRUCTION), StatusChange(OPEN_2030, SiteStatus.OPERATIONAL)),
            frozenset({"A"}),
        ),
    }  # fmt: skip
    territories = {
        "H": Territory("H", "Host", box(0, 0, 10, 10)),
        "N": Territory("N", "Neighbour", box(-10, 0, 0, 10)),
        # The triangle's bounding box is 10..20 x 0..10; its inside is below the diagonal.
        "T": Territory("T", "Triangle", shapely.Polygon([(10, 0), (20, 0), (20, 10)])),
    }
    if grants is None:
        grants = [
            Grant(
                "h-isr", "H.Air", "A.Ops", frozenset({"isr"}), frozenset({"unarmed"}), "H",
                T0, None, ("daylight only",),
            )
        ]  # fmt: skip
    texts = [PolicyText(a, f"policies/{a}.cedar", t) for a, t in POLICIES.items()]
    entities: list[dict[str, Any]] = [
        {"uid": {"type": "Party", "id": p}, "attrs": {}, "parents": []} for p in parties
    ]
    entities += [
        {
            "uid": {"type": "Operator", "id": o.id},
            "attrs": {},
            "parents": [{"type": "Party", "id": o.party}],
        }
        for o in operators.values()
    ]
    entities += [
        {
            "uid": {"type": "Authority", "id": a.id},
            "attrs": {},
            "parents": [{"type": "Party", "id": a.party}],
        }
        for a in authorities.values()
    ]
    return Scenario(
        name="fake",
        parties=parties,
        authorities=authorities,
        operators=operators,
        aircraft=aircraft,
        sites=sites,
        purposes={"isr": "reconnaissance", "overwatch": "overwatch"},
        territories=territories,
        areas={"east-half": Area("east-half", "East half", box(5, 0, 10, 10))},
        grants={g.id: g for g in grants},
        policy=PolicyEngine(texts, entities, cache_size=cache_size),
    )


def circle(
    lat: float,
    lng: float,
    radius_m: float = 10_000,
    start: str = "2020-06-01T06:00:00Z",
    end: str = "2020-06-01T12:00:00Z",
    lower: float = 100,
    upper: float = 3000,
) -> dict[str, Any]:
    return {
        "volume": {
            "outline_circle": {"center": {"lat": lat, "lng": lng}, "radius": {"value": radius_m, "units": "M"}},
            "altitude_lower": {"value": lower, "reference": "W84", "units": "M"},
            "altitude_upper": {"value": upper, "reference": "W84", "units": "M"},
        },
        "time_start": {"value": start, "format": "RFC3339"},
        "time_end": {"value": end, "format": "RFC3339"},
    }  # fmt: skip


def polygon(
    vertices: list[tuple[float, float]],
    start: str = "2020-06-01T06:00:00Z",
    end: str = "2020-06-01T12:00:00Z",
) -> dict[str, Any]:
    """``vertices`` as (lat, lng) pairs."""
    return {
        "volume": {
            "outline_polygon": {"vertices": [{"lat": la, "lng": ln} for la, ln in vertices]},
            "altitude_lower": {"value": 100, "reference": "W84", "units": "M"},
            "altitude_upper": {"value": 3000, "reference": "W84", "units": "M"},
        },
        "time_start": {"value": start, "format": "RFC3339"},
        "time_end": {"value": end, "format": "RFC3339"},
    }  # fmt: skip


def request_doc(
    *volumes: dict[str, Any],
    payload: str = Payload.UNARMED,
    purpose: str = "isr",
    aircraft: str = "drone-1",
    site: str = "base",
    operator: str = "A.Ops",
) -> dict[str, Any]:
    return {
        "operator": operator, "aircraft": aircraft, "payload": str(payload), "purpose": purpose,
        "launch_site": site, "justification": "test", "volumes": list(volumes) or [circle(5, 5)],
    }  # fmt: skip
