"""Principals: a person or system with a token, acting for an operator, an authority or
both. Only a token's digest is stored."""

from __future__ import annotations

from clearance.domain.clearance.model import Principal
from clearance.domain.errors import ConflictError, RequestError
from clearance.service.context import Context
from clearance.service.ports import PrincipalRecord
from clearance.service.queries import revoked_message
from clearance.service.tokens import new_token, token_digest


def add_principal(
    ctx: Context, name: str, *, operator: str | None = None, authority: str | None = None
) -> str:
    """Create a principal; returns its token (only its digest is stored)."""
    principal = _principal(ctx, name, operator, authority)
    token = new_token()
    with ctx.uow() as uow:
        uow.principals.add(principal, token_digest(token), ctx.clock.now())
        uow.commit()
    return token


def issue_token(
    ctx: Context, name: str, *, operator: str | None = None, authority: str | None = None
) -> str:
    """A fresh token for ``name``, creating the principal if needed (for demos); the
    principal's earlier token stops working."""
    principal = _principal(ctx, name, operator, authority)
    token = new_token()
    with ctx.uow() as uow:
        existing = uow.principals.record(name)
        if existing is None:
            uow.principals.add(principal, token_digest(token), ctx.clock.now())
        elif existing.revoked_at is not None:
            raise ConflictError(revoked_message(existing))
        elif existing.principal != principal:
            raise ConflictError(f"principal {name!r} exists with another role")
        else:
            uow.principals.set_token(name, token_digest(token))
        uow.commit()
    return token


def revoke_principal(ctx: Context, name: str) -> PrincipalRecord:
    """Revoke a principal: its token is refused by every process from the commit on
    (``queries.authenticate`` reads the database each time), and the audit log records
    it. The name stays taken, so the log and the requests keep naming one person."""
    with ctx.uow() as uow:
        uow.principals.revoke(name, ctx.clock.now())
        uow.commit()
        revoked = uow.principals.record(name)
    assert revoked is not None  # just revoked in this unit of work
    return revoked


def _principal(ctx: Context, name: str, operator: str | None, authority: str | None) -> Principal:
    if not name.strip() or len(name) > 200 or "\x00" in name:
        raise RequestError("must be a name of 1 to 200 characters", field="name")
    if operator is None and authority is None:
        # Both at once is allowed: an officer who plans for an operator and also sits on
        # an authority; separation of duties then stops them approving their own.
        raise RequestError("give --operator, --authority or both", field="role")
    scenario = ctx.current_scenario()
    if operator is not None and operator not in scenario.operators:
        raise RequestError(f"unknown operator {operator!r}", field="operator")
    if authority is not None and authority not in scenario.authorities:
        raise RequestError(f"unknown authority {authority!r}", field="authority")
    return Principal(name, operator, authority)
