"""Use case: the grant that would have cleared it. From an authority's decisions by hand
in a period, the standing grants that would have covered what it approved and none of
what it denied (``domain.clearance.grant_suggestions``), against the current scenario
version (where the grant would be added) with the revocations the unit of work reads.
Nothing is stored.

Each decided request is read against the version it was evaluated against, as it is
shown; the volumes an authority decided on are those its approval names."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from clearance.domain.clearance import access
from clearance.domain.clearance.grant_suggestions import (
    LIMIT,
    GrantSuggestion,
    HandDecision,
    suggest_grants,
)
from clearance.domain.clearance.model import ApprovalStatus, Principal
from clearance.domain.clearance.requests import parse_request
from clearance.domain.documents import Fields, instant
from clearance.domain.errors import InputError, NotFoundError
from clearance.service.context import Context

MAX_DECISIONS = 2_000  # the newest decided requests read, at most (about 10 s of work)
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class GrantSuggestions:
    authority: str
    since: datetime | None
    until: datetime | None
    approvals: int  # hand approvals in the period
    denials: int  # hand denials in the period
    suggestions: list[GrantSuggestion]
    scenario_version: str  # the version a grant would be added to


def period(since: str | None, until: str | None) -> tuple[datetime | None, datetime | None]:
    """``since`` and ``until`` as RFC 3339 instants (either may be absent), ``since``
    before ``until``; else ``InputError`` naming the parameter."""
    raw = {k: v for k, v in (("since", since), ("until", until)) if v is not None}
    f = Fields(raw, error=InputError, source="period")
    start = f.instant("since") if "since" in raw else None
    end = f.instant("until") if "until" in raw else None
    if start is not None and end is not None and start >= end:
        raise f.fail(f"must be after since ({since})", "until")
    return start, end


def grant_suggestions(
    ctx: Context,
    who: Principal | None,
    authority: str,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = LIMIT,
) -> GrantSuggestions:
    """For a member of ``authority`` (``who``), or the database operator (``None``: the
    local CLI), the best ``limit`` grants from its decisions made in ``[since, until)``."""
    if who is not None:
        access.must_be_member(who, authority)
    with ctx.uow() as uow:
        scenario = ctx.scenario_in(uow)
        if authority not in scenario.authorities:
            raise NotFoundError(f"no authority {authority!r} in the current scenario")
        start, end = since or EARLIEST, until or LATEST
        records = uow.requests.decided_by_hand(authority, start, end, MAX_DECISIONS)
    decisions = []
    for record in records:
        approval = next(a for a in record.approvals if a.authority == authority)
        if approval.at is None or not start <= approval.at < end:  # pragma: no cover
            continue
        request = parse_request(record.document, ctx.scenario_of(record))
        decisions.append(
            HandDecision(
                record.id,
                request,
                approval.volumes or tuple(range(len(request.volumes))),
                approval.status is ApprovalStatus.APPROVED,
                approval.at,
            )
        )
    found = suggest_grants(authority, decisions, scenario, limit)
    approvals = sum(d.approved for d in decisions)
    return GrantSuggestions(
        authority, since, until, approvals, len(decisions) - approvals, found, scenario.version
    )


def suggestions_view(found: GrantSuggestions) -> dict[str, Any]:
    """The API's and ``--json``'s form: each suggestion's ``grant`` is an entry of
    ``grants:`` in ``scenario.yaml``, ready to add there."""
    return {
        "authority": found.authority,
        "since": instant(found.since) if found.since else None,
        "until": instant(found.until) if found.until else None,
        "approvals": found.approvals,
        "denials": found.denials,
        "scenario_version": found.scenario_version,
        "suggestions": [
            {
                "description": describe(s),
                "grant": s.document(),
                "new_area": s.area is not None,
                "area_km2": s.area_km2,
                "approvals_covered": len(s.covered),
                "approvals": s.approvals,
                "denials": s.denials,
                "denials_covered": s.denials_covered,
                "covered": list(s.covered),
                "similar": list(s.similar),
            }
            for s in found.suggestions
        ],
    }


def proposal(authority: str, suggestion: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """A suggestion of ``suggestions_view`` as a grant proposal: the document (a
    ``grants:`` list holding its grant) and the header to write above it. The CLI's
    ``--out`` writes it; the API returns it as each suggestion's ``proposal`` text."""
    header = (
        f"A grant proposal from the grant suggestions of {authority}: "
        f"{suggestion['description']}.\nAdd the entry under `grants:` in scenario.yaml."
    )
    return {"grants": [suggestion["grant"]]}, header


def with_proposals(
    view: dict[str, Any], render: Callable[[dict[str, Any], str], str]
) -> dict[str, Any]:
    """``view`` with each suggestion's ``proposal``: its grant proposal as ``render``
    writes a document and its header (``adapters.files.document_text``: YAML)."""
    for suggestion in view["suggestions"]:
        suggestion["proposal"] = render(*proposal(view["authority"], suggestion))
    return view


def describe(s: GrantSuggestion) -> str:
    g = s.grant
    where = f"a new area of {s.area_km2:,.0f} km2" if s.area is not None else g.area
    until = f" until {instant(g.valid_until)}" if g.valid_until else ""
    like = f"; as {', '.join(s.similar)} gives another operator" if s.similar else ""
    return (
        f"{g.grantor} grants {g.grantee} {'/'.join(sorted(g.purposes))} "
        f"({'/'.join(sorted(g.payloads))}) over {where} from {instant(g.valid_from)}{until}: "
        f"would have cleared {len(s.covered)} of {s.approvals} approvals by hand and "
        f"0 of {s.denials} denials{like}"
    )
