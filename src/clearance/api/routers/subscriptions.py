"""``/v1/subscriptions`` and ``/v1/deliveries``: who is told (signed webhooks).

An authority's members subscribe for it, an operator's principals for it, a principal
for itself; each sees the subscriptions and deliveries of whom it may subscribe for.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse

from clearance.api import schemas
from clearance.api.deps import ContextDep, JsonObjectDep, PrincipalDep
from clearance.api.problems import ok, problem_responses
from clearance.domain.documents import Fields
from clearance.domain.errors import RequestError
from clearance.service import handlers, webhooks
from clearance.service.outbox import EVENTS, SUBSCRIBER_KINDS
from clearance.service.views import delivery_view, subscription_view

router = APIRouter(tags=["webhooks"])
# What the service takes (``handlers.webhooks.check_url`` says it in words): http(s), a
# host, a port below 10000 at most, a plain path.
URL_PATTERN = r"^https?://[A-Za-z0-9][A-Za-z0-9.-]{0,252}(:[1-9][0-9]{0,3})?(/[A-Za-z0-9._~/-]*)?$"

SUBSCRIPTION_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["subscriber", "url", "events"],
                    "properties": {
                        "subscriber": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["kind", "name"],
                            "properties": {
                                "kind": {"enum": list(SUBSCRIBER_KINDS)},
                                "name": {
                                    "type": "string",
                                    "minLength": 1,
                                    "maxLength": 200,
                                    "description": "Yourself (principal), your operator "
                                    "or your authority.",
                                },
                            },
                        },
                        "url": {"type": "string", "maxLength": 2000, "pattern": URL_PATTERN},
                        "events": {
                            "type": "array",
                            "minItems": 1,
                            "items": {"enum": list(EVENTS)},
                        },
                    },
                }
            }
        },
    }
}


@router.post(
    "/v1/subscriptions",
    status_code=201,
    openapi_extra=SUBSCRIPTION_BODY,
    response_model=None,
    responses=ok(schemas.CreatedSubscription, 201) | problem_responses(400, 401, 403, 415, 422),
)
def subscribe(who: PrincipalDep, ctx: ContextDep, body: JsonObjectDep) -> JSONResponse:
    """Subscribe to events; the answer carries the signing secret (``whsec_...``), shown
    this once. Deliveries are POSTed signed as Standard Webhooks specifies (headers
    webhook-id, webhook-timestamp, webhook-signature)."""
    f = Fields(body, error=RequestError)
    f.only("subscriber", "url", "events")
    sub = f.obj("subscriber")
    sub.only("kind", "name")
    kind = sub.text("kind", choices=SUBSCRIBER_KINDS)
    name = sub.raw("name")
    if not isinstance(name, str) or not 0 < len(name) <= 200:
        raise sub.fail("must be a string of 1 to 200 characters", "name")
    url = f.text("url")
    events = f.texts("events")
    created = handlers.subscribe(ctx, who, (kind, name), url, events, who.name)
    view = subscription_view(created) | {"secret": created.secret}
    return JSONResponse(
        view, status_code=201, headers={"Location": f"/v1/subscriptions/{created.id}"}
    )


@router.get(
    "/v1/subscriptions",
    response_model=None,
    responses=ok(schemas.Subscriptions) | problem_responses(401),
)
def list_subscriptions(who: PrincipalDep, ctx: ContextDep) -> dict[str, Any]:
    """The active subscriptions you may see (never their secrets)."""
    return {"items": [subscription_view(s) for s in webhooks.subscriptions(ctx.uow, who)]}


@router.delete(
    "/v1/subscriptions/{subscription_id}",
    status_code=204,
    response_class=Response,
    responses=problem_responses(401, 404),
)
def unsubscribe(who: PrincipalDep, ctx: ContextDep, subscription_id: str) -> Response:
    """Stop a subscription; its deliveries stay listed."""
    handlers.unsubscribe(ctx, who, subscription_id)
    return Response(status_code=204)


@router.get(
    "/v1/deliveries",
    response_model=None,
    responses=ok(schemas.Deliveries) | problem_responses(401, 422),
)
def list_deliveries(
    who: PrincipalDep,
    ctx: ContextDep,
    status: Annotated[Literal["pending", "delivered", "dead"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Deliveries of your subscriptions, newest first: pending (not sent yet, or waiting
    to be retried), delivered (a 2xx answer), dead (every attempt failed)."""
    found = webhooks.deliveries(ctx.uow, who, status, limit)
    return {"items": [delivery_view(d) for d in found]}


@router.post(
    "/v1/deliveries/{delivery_id}/redeliver",
    status_code=202,
    response_model=None,
    responses=ok(schemas.Redelivered, 202) | problem_responses(401, 404),
)
def redeliver(who: PrincipalDep, ctx: ContextDep, delivery_id: str) -> JSONResponse:
    """Send a delivery again from now, its attempts starting over (same webhook-id)."""
    handlers.redeliver(ctx, who, delivery_id)
    return JSONResponse({"id": delivery_id, "status": "pending"}, status_code=202)
