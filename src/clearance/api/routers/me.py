"""``/v1/me``: who the caller is (the page learns its role from it), and the service's
present time (the clock decisions, queues and expiry use) with the rate it runs at
(seconds per real second: 1 real time, 0 pinned, a scenario's replay rate), so the page
keeps the same clock between calls."""

from __future__ import annotations

from fastapi import APIRouter

from clearance.api import schemas
from clearance.api.deps import ContextDep, PrincipalDep
from clearance.api.problems import ok, problem_responses
from clearance.domain.documents import instant

router = APIRouter(prefix="/v1/me", tags=["me"])


@router.get("", response_model=None, responses=ok(schemas.Me) | problem_responses(401))
def me(who: PrincipalDep, ctx: ContextDep) -> dict[str, str | float | None]:
    return {
        "name": who.name,
        "operator": who.operator,
        "authority": who.authority,
        "now": instant(ctx.clock.now()),
        "clock_rate": ctx.clock.rate,
    }
