"""Enroll a member's public key, or revoke it, by a statement its authority's root key
signed (``domain.ledger.members``). The service checks the signature against the root key
the current scenario version names, stores the public key and logs the statement whole;
it never sees a private key."""

from __future__ import annotations

from clearance.domain.errors import (
    ConflictError,
    DecisionSignatureError,
    ForbiddenError,
    NotFoundError,
)
from clearance.domain.ledger.members import ENROLLED, MemberStatement
from clearance.service.context import Context


def apply_member_statement(ctx: Context, statement: MemberStatement) -> None:
    """Record ``statement`` (an enrollment or a key revocation) once its authority's root
    key is found to have signed it."""
    authority = ctx.current_scenario().authorities.get(statement.authority)
    if authority is None:
        raise NotFoundError(f"no authority {statement.authority!r} in the current scenario")
    if authority.root_key is None:
        raise ConflictError(
            f"{statement.authority} names no root_key in the current scenario: its "
            "decisions are recorded unsigned, and it enrolls no member keys"
        )
    try:
        statement.verify(authority.root_key)
    except DecisionSignatureError as e:
        raise ForbiddenError(f"{e} with {statement.authority}'s root key") from None
    with ctx.uow() as uow:
        if statement.kind == ENROLLED:
            uow.member_keys.enroll(statement)
        else:
            uow.member_keys.revoke(statement)
        uow.commit()
