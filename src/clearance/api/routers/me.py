"""``/v1/me``: who the caller is (the page learns its role from it)."""

from __future__ import annotations

from fastapi import APIRouter

from clearance.api.deps import PrincipalDep
from clearance.api.problems import problem_responses

router = APIRouter(prefix="/v1/me", tags=["me"])


@router.get("", responses=problem_responses(401))
def me(who: PrincipalDep) -> dict[str, str | None]:
    return {"name": who.name, "operator": who.operator, "authority": who.authority}
