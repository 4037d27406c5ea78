"""Load a scenario directory into a ``Scenario``, checking everything first.

Layout::

    scenario.yaml            parties, authorities, operators, aircraft, sites, grants, ...
    territories.geojson      one feature per party territory (properties.party)
    areas.geojson            optional named areas (feature id), for grants
    policies/<AUTH>.cedar    one Cedar policy file per authority

Every error is a ``ScenarioError`` that names the file and the path inside it.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import isodate
import shapely
import shapely.geometry

from clearance.adapters.files import read_document
from clearance.domain.airspace.deconfliction import Priorities
from clearance.domain.airspace.volumes import LatLng
from clearance.domain.clearance.limits import Limits
from clearance.domain.clearance.model import (
    Aircraft,
    Area,
    Authority,
    Condition,
    Grant,
    Member,
    Operator,
    Party,
    Payload,
    Requirement,
    ReviewDeadline,
    Site,
    SiteStatus,
    StatusChange,
    Territory,
)
from clearance.domain.clearance.policy import PolicyEngine, PolicyText
from clearance.domain.clearance.scenario import Scenario, ScenarioClock
from clearance.domain.documents import Fields
from clearance.domain.errors import RequestError, ScenarioError
from clearance.domain.ledger.audit import scenario_version
from clearance.domain.ledger.members import public_key

SECTIONS = (
    "name", "clock", "purposes", "parties", "authorities", "members", "operators",
    "aircraft", "sites", "grants", "territories", "areas", "deconfliction", "limits",
)  # fmt: skip


def load_scenario(directory: Path) -> Scenario:
    if not directory.is_dir():
        raise ScenarioError("scenario must be a directory", source=str(directory))
    main = directory / "scenario.yaml"
    f = Fields(read_document(main, ScenarioError), error=ScenarioError, source=str(main))
    f.only(*SECTIONS)
    purposes = _purposes(f)
    authorities = {
        k: Authority(
            k, v.text("party"), v.text("name", default=k), _root_key(v), _review_deadline(v)
        )
        for k, v in _named(f, "authorities")
    }
    parties = {k: _party(k, v, authorities) for k, v in _named(f, "parties")}
    for a in authorities.values():
        if a.party not in parties:
            raise f.fail(f"unknown party {a.party!r}", f"authorities.{a.id}.party")
    operators = {
        k: Operator(k, _ref(v, "party", parties), v.text("name", default=k))
        for k, v in _named(f, "operators")
    }
    members = {
        k: Member(k, _ref(v, "authority", authorities), v.text("name", default=k))
        for k, v in _named(f, "members", optional=True)
    }
    aircraft = {k: _aircraft(k, v, operators) for k, v in _named(f, "aircraft")}
    sites = {k: _site(k, v, parties) for k, v in _named(f, "sites")}
    territories = _territories(
        directory, f.text("territories", default="territories.geojson"), parties
    )
    areas = _areas(directory, f.text("areas", default="areas.geojson"))
    grants = {}
    for g in f.objects("grants", default_empty=True):
        inline = _inline_area(g, territories, areas)
        if inline is not None:
            areas[inline.id] = inline
        grant = _grant(g, authorities, operators, purposes, territories, areas)
        if grant.id in grants:
            raise g.fail(f"duplicate grant id {grant.id!r}", "id")
        grants[grant.id] = grant
    _check_territory_parties(f, territories, parties)
    policy = PolicyEngine(
        _policy_texts(directory, authorities), _entities(parties, operators, authorities)
    )
    clock = _clock(f)
    priorities = _priorities(f, purposes)
    return Scenario(
        version=scenario_version(scenario_files(directory)),
        name=f.text("name", default=directory.name),
        parties=parties,
        authorities=authorities,
        operators=operators,
        aircraft=aircraft,
        sites=sites,
        purposes=purposes,
        territories=territories,
        areas=areas,
        grants=grants,
        policy=policy,
        members=members,
        clock=clock,
        priorities=priorities,
        limits=_limits(f),
    )


MAX_CLOCK_RATE = 1_000_000  # a replay of days in seconds still fits; beyond, time is noise


def _clock(f: Fields) -> ScenarioClock | None:
    """``clock:``, an RFC 3339 instant (a replay at real speed) or ``{start, rate}``."""
    if not f.has("clock"):
        return None
    if not isinstance(f.raw("clock"), Mapping):
        return ScenarioClock(f.instant("clock"))
    section = f.obj("clock")
    section.only("start", "rate")
    start = section.instant("start")
    rate = section.number("rate") if section.has("rate") else 1.0
    if not 0 <= rate <= MAX_CLOCK_RATE:
        raise section.fail(
            f"must be within 0..{MAX_CLOCK_RATE} (seconds of the scenario per real second; "
            f"0 holds the clock still); got {rate:g}",
            "rate",
        )
    return ScenarioClock(start, rate)


def _limits(f: Fields) -> Limits:
    """``limits:``: every key optional (``domain.limits`` gives the defaults)."""
    if not f.has("limits"):
        return Limits()
    section = f.obj("limits")
    section.only(*Limits.names())
    given: dict[str, Any] = {}
    for key in Limits.names():
        if not section.has(key):
            continue
        value = section.number(key)
        if key == "max_volumes":
            if value != int(value) or value < 1:
                raise section.fail(f"must be a whole number of at least 1; got {value:g}", key)
            value = int(value)
        elif not key.endswith("altitude_m") and value <= 0:
            raise section.fail(f"must be greater than 0; got {value:g}", key)
        given[key] = value
    limits = Limits(**given)
    if limits.min_altitude_m >= limits.max_altitude_m:
        raise section.fail(
            f"must be below max_altitude_m ({limits.min_altitude_m:g} >= "
            f"{limits.max_altitude_m:g})",
            "min_altitude_m",
        )
    return limits


def _priorities(f: Fields, purposes: dict[str, str]) -> Priorities:
    if not f.has("deconfliction"):
        return Priorities()
    d = f.obj("deconfliction")
    d.only("priorities", "override")
    by_purpose: dict[str, int] = {}
    if d.has("priorities"):
        p = d.obj("priorities")
        for purpose in p.data:
            if purpose not in purposes:
                raise p.fail(f"unknown purpose {purpose!r}", str(purpose))
            value = p.number(str(purpose))
            if value != int(value):
                raise p.fail("must be a whole number", str(purpose))
            by_purpose[str(purpose)] = int(value)
    return Priorities(by_purpose, d.flag("override", default=False))


def _named(f: Fields, key: str, *, optional: bool = False) -> list[tuple[str, Fields]]:
    """A mapping of id -> fields, as ``(id, Fields)`` pairs."""
    if optional and not f.has(key):
        return []
    section = f.obj(key)
    return [(str(k), section.obj(str(k))) for k in section.data]


def _root_key(f: Fields) -> bytes | None:
    """``root_key``: the authority's root public key, base64 of the raw Ed25519 key."""
    if not f.has("root_key"):
        return None
    try:
        return public_key(f.raw("root_key"), "root_key")
    except RequestError as e:
        raise f.fail(e.rule, "root_key") from None


def _review_deadline(f: Fields) -> ReviewDeadline | None:
    """``review_deadline: {within: PT4H, share_of_lead_time: 0.5}`` (either, or both):
    an ISO 8601 duration of days, hours, minutes or seconds, and a share in (0, 1]."""
    if not f.has("review_deadline"):
        return None
    d = f.obj("review_deadline")
    d.only("within", "share_of_lead_time")
    within = None
    if d.has("within"):
        text = d.text("within")
        try:
            parsed = isodate.parse_duration(text)
        except (isodate.ISO8601Error, ValueError):
            raise d.fail(
                f"must be an ISO 8601 duration such as PT4H; got {text!r}", "within"
            ) from None
        if not isinstance(parsed, timedelta):
            raise d.fail(
                "must be in days, hours, minutes or seconds (no years or months)", "within"
            )
        if parsed <= timedelta(0):
            raise d.fail("must be longer than zero", "within")
        within = parsed
    share = None
    if d.has("share_of_lead_time"):
        share = d.number("share_of_lead_time")
        if not 0 < share <= 1:
            raise d.fail("must be more than 0 and at most 1", "share_of_lead_time")
    if within is None and share is None:
        raise f.fail("give within, share_of_lead_time or both", "review_deadline")
    return ReviewDeadline(within, share)


def _ref(f: Fields, key: str, known: dict[str, Any]) -> str:
    value = f.text(key)
    if value not in known:
        raise f.fail(f"unknown id {value!r} (known: {', '.join(sorted(known))})", key)
    return value


def _purposes(f: Fields) -> dict[str, str]:
    section = f.obj("purposes")
    return {str(k): section.text(str(k)) for k in section.data}


def _party(pid: str, f: Fields, authorities: dict[str, Authority]) -> Party:
    f.only("name", "chain", "airspace")

    def needs(key: str) -> tuple[Requirement, ...]:
        out = []
        for r in f.objects(key, default_empty=True):
            r.only("authority", "when")
            authority = _ref(r, "authority", authorities)
            when = Condition()
            if r.has("when"):
                w = r.obj("when")
                w.only("payloads", "purposes", "foreign_territory")
                when = Condition(
                    frozenset(w.texts("payloads")) if w.has("payloads") else None,
                    frozenset(w.texts("purposes")) if w.has("purposes") else None,
                    w.flag("foreign_territory", default=False)
                    if w.has("foreign_territory")
                    else None,
                )
            out.append(Requirement(authority, when))
        return tuple(out)

    return Party(pid, f.text("name", default=pid), needs("chain"), needs("airspace"))


def _aircraft(aid: str, f: Fields, operators: dict[str, Operator]) -> Aircraft:
    f.only("type", "operator", "can_carry_weapons", "combat_radius_km")
    radius = f.number("combat_radius_km")
    if radius <= 0:
        raise f.fail("must be greater than 0", "combat_radius_km")
    return Aircraft(
        aid, f.text("type"), _ref(f, "operator", operators),
        f.flag("can_carry_weapons", default=False), radius * 1000.0,
    )  # fmt: skip


def _site(sid: str, f: Fields, parties: dict[str, Party]) -> Site:
    f.only("name", "location", "status", "munitions_storage")
    loc = f.obj("location")
    loc.only("lat", "lng")
    lat, lng = loc.number("lat"), loc.number("lng")
    if not (-90 <= lat <= 90 and -180 <= lng <= 180):
        raise loc.fail("latitude must be within -90..90 and longitude within -180..180")
    changes = []
    for s in f.objects("status"):
        s.only("since", "status")
        status = SiteStatus(s.text("status", choices=[x.value for x in SiteStatus]))
        changes.append(StatusChange(s.instant("since"), status))
    if [c.since for c in changes] != sorted(c.since for c in changes):
        raise f.fail("entries must be in time order", "status")
    storage = f.texts("munitions_storage", default_empty=True)
    for i, p in enumerate(storage):
        if p not in parties:
            raise f.fail(f"unknown party {p!r}", f"munitions_storage[{i}]")
    return Site(
        sid, f.text("name", default=sid), LatLng(lat, lng), tuple(changes), frozenset(storage)
    )


def _grant(
    g: Fields,
    authorities: dict[str, Authority],
    operators: dict[str, Operator],
    purposes: dict[str, str],
    territories: dict[str, Territory],
    areas: dict[str, Area],
) -> Grant:
    g.only(
        "id", "grantor", "grantee", "purposes", "payloads", "area", "valid_from",
        "valid_until", "conditions", "revoked",
    )  # fmt: skip
    chosen = g.texts("purposes")
    for i, p in enumerate(chosen):
        if p not in purposes:
            raise g.fail(f"unknown purpose {p!r}", f"purposes[{i}]")
    payloads = g.texts("payloads")
    for i, p in enumerate(payloads):
        if p not in {x.value for x in Payload}:
            raise g.fail("must be armed or unarmed", f"payloads[{i}]")
    area = g.text("id") if isinstance(g.raw("area"), Mapping) else g.text("area")
    if area not in territories and area not in areas:
        raise g.fail(f"unknown area {area!r}: name a territory's party or a named area", "area")
    start = g.instant("valid_from")
    end = g.instant("valid_until") if g.has("valid_until") else None
    if end is not None and end <= start:
        raise g.fail("must be after valid_from", "valid_until")
    return Grant(
        g.text("id"), _ref(g, "grantor", authorities), _ref(g, "grantee", operators),
        frozenset(chosen), frozenset(payloads), area, start, end,
        tuple(g.texts("conditions", default_empty=True)), g.flag("revoked", default=False),
    )  # fmt: skip


def _inline_area(
    g: Fields, territories: dict[str, Territory], areas: dict[str, Area]
) -> Area | None:
    """A grant's ``area`` written as a GeoJSON Polygon or MultiPolygon (what ``clearance
    grant suggest`` proposes) becomes a named area with the grant's id."""
    if not g.has("area") or not isinstance(g.raw("area"), Mapping):
        return None
    gid = g.text("id")
    if gid in territories or gid in areas:
        raise g.fail(
            f"an area is already named {gid!r}: a grant with its own area needs another id", "id"
        )
    return Area(gid, f"area of grant {gid}", _geometry(g, "area"))


def _geometry(f: Fields, key: str) -> shapely.Geometry:
    try:
        geom = shapely.geometry.shape(f.raw(key))
    except (ValueError, TypeError, AttributeError, KeyError, IndexError) as e:
        raise f.fail(f"not a GeoJSON geometry ({e})", key) from None
    if geom.geom_type not in ("Polygon", "MultiPolygon") or geom.is_empty:
        raise f.fail("must be a non-empty Polygon or MultiPolygon", key)
    if not geom.is_valid:
        raise f.fail(f"invalid geometry: {shapely.is_valid_reason(geom)}", key)
    return geom


def _features(path: Path) -> list[tuple[str, Fields, shapely.Geometry]]:
    fc = Fields(read_document(path, ScenarioError), error=ScenarioError, source=str(path))
    if fc.text("type") != "FeatureCollection":
        raise fc.fail("must be a GeoJSON FeatureCollection", "type")
    out = []
    for feat in fc.objects("features"):
        out.append((feat.path, feat, _geometry(feat, "geometry")))
    return out


def _territories(directory: Path, name: str, parties: dict[str, Party]) -> dict[str, Territory]:
    out: dict[str, Territory] = {}
    for _, feat, geom in _features(directory / name):
        props = feat.obj("properties")
        party = props.text("party")
        if party not in parties:
            raise props.fail(f"unknown party {party!r}", "party")
        if party in out:
            raise props.fail(f"party {party} already has a territory", "party")
        out[party] = Territory(party, props.text("name", default=party), geom)
    return out


def _areas(directory: Path, name: str) -> dict[str, Area]:
    path = directory / name
    if not path.exists():
        return {}
    out: dict[str, Area] = {}
    for _, feat, geom in _features(path):
        aid = feat.text("id")
        if aid in out:
            raise feat.fail(f"duplicate area id {aid!r}", "id")
        props = feat.obj("properties") if feat.has("properties") else None
        out[aid] = Area(aid, props.text("name", default=aid) if props else aid, geom)
    return out


def _check_territory_parties(
    f: Fields, territories: dict[str, Territory], parties: dict[str, Party]
) -> None:
    """A territory with no airspace authority would let operations over it need nobody."""
    for party in territories:
        if not any(r.when == Condition() for r in parties[party].airspace):
            raise f.fail(
                "a party with territory needs an airspace authority that always decides "
                "(an entry with no 'when')",
                f"parties.{party}.airspace",
            )


def _policy_texts(directory: Path, authorities: dict[str, Authority]) -> list[PolicyText]:
    folder = directory / "policies"
    texts = []
    for aid in authorities:
        path = folder / f"{aid}.cedar"
        if not path.is_file():
            raise ScenarioError(f"missing policy file for authority {aid}", source=str(path))
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise ScenarioError("is not UTF-8 text", source=str(path)) from None
        texts.append(PolicyText(aid, str(path), text))
    extra = sorted(p.name for p in folder.glob("*.cedar") if p.stem not in authorities)
    if extra:
        raise ScenarioError(f"policy file for an unknown authority: {extra[0]}", source=str(folder))
    return texts


def _entities(
    parties: dict[str, Party], operators: dict[str, Operator], authorities: dict[str, Authority]
) -> list[dict[str, Any]]:
    def uid(kind: str, i: str) -> dict[str, str]:
        return {"type": kind, "id": i}

    ents: list[dict[str, Any]] = [
        {"uid": uid("Party", p), "attrs": {}, "parents": []} for p in parties
    ]
    ents += [
        {"uid": uid("Operator", o.id), "attrs": {}, "parents": [uid("Party", o.party)]}
        for o in operators.values()
    ]
    ents += [
        {"uid": uid("Authority", a.id), "attrs": {}, "parents": [uid("Party", a.party)]}
        for a in authorities.values()
    ]
    return ents


TIMELINE_FILE = "timeline.yaml"


def scenario_files(directory: Path) -> dict[str, bytes]:
    """The files a scenario is made of (relative path -> bytes), to store it whole; a
    timeline beside it (``timeline.yaml``, what a replay runs) is no part of it."""
    if not directory.is_dir():
        raise ScenarioError("scenario must be a directory", source=str(directory))
    wanted = [
        *(p for p in directory.glob("*.yaml") if p.name != TIMELINE_FILE),
        *directory.glob("*.geojson"),
        *directory.glob("policies/*.cedar"),
    ]
    return {
        p.relative_to(directory).as_posix(): p.read_bytes() for p in sorted(wanted) if p.is_file()
    }


def load_scenario_files(files: dict[str, bytes]) -> Scenario:
    """Load a scenario stored as files (see ``scenario_files``)."""
    with tempfile.TemporaryDirectory(prefix="clearance-scenario-") as tmp:
        root = Path(tmp)
        for name, content in files.items():
            target = (root / name).resolve()
            if root.resolve() not in target.parents:
                raise ScenarioError("stored scenario file escapes its directory", source=name)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        return load_scenario(root)
