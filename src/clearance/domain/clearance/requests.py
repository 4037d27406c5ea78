"""Reading a request document (already parsed from YAML or JSON) into a ``Request``.

Every rule here is about the document alone or its ids: an unknown id, an out-of-range
coordinate or a bad volume raises ``RequestError`` naming the field. Whether the
operation can fly is feasibility's job, not this module's. A document being filed is
also held to the scenario's ``limits`` (``domain.limits``); a stored one is not re-judged.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from clearance.domain.airspace.volumes import Volume4D, parse_volume
from clearance.domain.clearance.limits import Limits
from clearance.domain.clearance.model import Payload, Request
from clearance.domain.clearance.scenario import Scenario
from clearance.domain.documents import Fields
from clearance.domain.errors import RequestError

FIELDS = ("operator", "aircraft", "payload", "purpose", "launch_site", "justification", "volumes")


def parse_request(
    document: object,
    scenario: Scenario,
    source: str = "",
    *,
    limits: Limits | None = None,
    now: datetime | None = None,
) -> Request:
    """The request ``document`` describes; with ``limits``, held to them (and, with
    ``now`` too, to how far ahead it may be filed)."""
    f = Fields(document, error=RequestError, source=source)
    f.only(*FIELDS, "id", "title")
    for free_text in ("id", "title"):  # the operator's own labels, kept but not used
        if f.has(free_text):
            f.text(free_text)
    operator = _known(f, "operator", scenario.operators)
    aircraft = _known(f, "aircraft", scenario.aircraft)
    payload = Payload(f.text("payload", choices=[p.value for p in Payload]))
    purpose = f.text("purpose", choices=scenario.purposes)
    site = _known(f, "launch_site", scenario.sites)
    justification = f.text("justification")
    items = f.objects("volumes")
    if limits is not None:  # before reading them: thousands of volumes cost a second
        limits.check_count(f, "volumes", len(items))
    volumes = tuple(parse_volume(v) for v in items)
    if not volumes:
        raise f.fail("must list at least one volume", "volumes")
    if limits is not None:
        for item, volume in zip(items, volumes, strict=True):
            limits.check_volume(item, volume)
        limits.check_span(f, "volumes", volumes)
        if now is not None:
            limits.check_ahead(f, "volumes", volumes, now)
    return Request(operator, aircraft, payload, purpose, site, justification, volumes)


def _known(f: Fields, key: str, known: Mapping[str, object]) -> str:
    value = f.text(key)
    if value not in known:
        raise f.fail(f"unknown id {value!r} (known: {', '.join(sorted(known))})", key)
    return value


def stored_airspace(document: object) -> tuple[str, tuple[Volume4D, ...]]:
    """The purpose and volumes of a stored request's document: all that deconfliction and
    conformance read of it. Its ids are not checked against today's scenario: the request
    was valid when it was stored, and a scenario loaded since (an aircraft retired, a site
    renamed) must not make it unreadable, nor stop unrelated submissions that are
    deconflicted against it."""
    f = Fields(document, error=RequestError)
    return f.text("purpose"), tuple(parse_volume(v) for v in f.objects("volumes"))
