"""``GET /v1/requests/{id}/forecast``: when a pending request will likely clear
(``service.forecasts``): the median time to clearance, an 80 % interval and the chance
that it clears before its first ``time_start``, from each authority's waiting times."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from clearance.api.deps import ContextDep, PrincipalDep
from clearance.api.problems import ok, problem_responses
from clearance.service.forecasts import forecast_request, forecast_view

router = APIRouter(prefix="/v1/requests", tags=["requests"])


class ForecastStep(BaseModel):
    authority: str
    stage: int
    waiting_seconds: float | None = Field(
        description="How long it has waited so far; null while its stage has not opened."
    )
    decisions: int = Field(description="Decisions in the authority's history.")
    median_wait_seconds: float | None = Field(
        description="The authority's median wait (Kaplan-Meier); null when more than half "
        "of its waits are still open."
    )
    enough_history: bool


class ForecastOut(BaseModel):
    """A forecast. ``status`` is ``forecast`` when the figures are given,
    ``not_enough_history`` when an authority in ``not_enough_history`` has fewer than
    ``min_decisions`` decisions, ``not_pending`` when the request waits for no one. A
    ``*_seconds`` (and its ``*_at``) counted from ``now`` is null when it is not given or
    lies beyond the longest wait seen; the times are of the draws in which it clears."""

    request_id: str
    status: Literal["forecast", "not_enough_history", "not_pending"]
    now: str
    time_start: str
    median_seconds: float | None
    low_seconds: float | None = Field(description="10th percentile (the 80 % interval).")
    high_seconds: float | None = Field(description="90th percentile (the 80 % interval).")
    median_at: str | None
    low_at: str | None
    high_at: str | None
    clear_probability: float | None = Field(
        description="The share of draws in which every remaining authority approves."
    )
    before_start_probability: float | None = Field(
        description="The share of draws in which it clears before its first time_start."
    )
    not_enough_history: list[str]
    min_decisions: int
    draws: int
    remaining: list[ForecastStep]


@router.get(
    "/{request_id}/forecast",
    response_model=ForecastOut,
    responses=ok(ForecastOut) | problem_responses(401, 404),
)
def get_forecast(who: PrincipalDep, ctx: ContextDep, request_id: str) -> dict[str, Any]:
    found = forecast_request(ctx.uow, ctx.clock, who, request_id)
    return forecast_view(request_id, found)
