"""``/v1/grants/{id}/revoke``: a grantor's member withdraws a standing authorisation."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from clearance.api import schemas
from clearance.api.deps import ContextDep, PrincipalDep
from clearance.api.problems import ok, problem_responses
from clearance.service import handlers

router = APIRouter(prefix="/v1/grants", tags=["grants"])


@router.post(
    "/{grant_id}/revoke",
    response_model=None,
    responses=ok(schemas.Revoked) | problem_responses(401, 403, 404, 409),
)
def revoke(who: PrincipalDep, ctx: ContextDep, grant_id: str) -> dict[str, Any]:
    affected = handlers.revoke_grant(ctx, who, grant_id)
    return {"grant": grant_id, "returned_to_review": affected}
