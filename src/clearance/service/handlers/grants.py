"""A grantor's member revokes a standing grant; what it covered goes back to review."""

from __future__ import annotations

from clearance.domain.clearance import access
from clearance.domain.clearance.evaluation import evaluate
from clearance.domain.clearance.model import Principal
from clearance.domain.clearance.requests import parse_request
from clearance.domain.errors import NotFoundError
from clearance.service.context import Context
from clearance.service.notify import record_changed


def revoke_grant(ctx: Context, who: Principal, grant_id: str) -> list[str]:
    """Revoke a grant (a member of its grantor only); returns the requests that went back
    to review because of it."""
    grant = ctx.current_scenario().grants.get(grant_id)
    if grant is None:
        raise NotFoundError(f"no grant {grant_id!r}")
    access.must_revoke(who, grant)
    now = ctx.clock.now()
    # The lock keeps this process's submissions from relying on the grant between the
    # scan below and the commit.
    with ctx.airspace.lock, ctx.uow() as uow:
        uow.grants.revoke(grant_id, who.name, now)
        revoked = uow.grants.revoked()  # with the revocation just written
        affected = []
        for record in uow.requests.open_for_operator(grant.grantee):
            loaded = record.version
            # each request against its own version, with today's revocations
            scenario = ctx.scenarios.get(uow, record.scenario_version).with_revoked(revoked)
            request = parse_request(record.document, scenario)
            if record.reconsider_grant(grant_id, evaluate(request, scenario), now):
                record_changed(uow, record)
                uow.requests.save(record, loaded)
                affected.append(record.id)
        uow.commit()
    return affected
