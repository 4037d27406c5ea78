"""``/v1/requests``: submit, read, list, decide, withdraw and amend requests."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, ValidationError

from clearance.api import schemas
from clearance.api.deps import (
    ETAG_PATTERN,
    YAML_MEDIA,
    ContextDep,
    DocumentDep,
    ExpectedVersionDep,
    HeavyDep,
    JsonObjectDep,
    PrincipalDep,
    SeenVersionDep,
)
from clearance.api.problems import ok, problem_responses
from clearance.domain.clearance.scenario import Scenario
from clearance.domain.clearance.workflow import Decision, RequestRecord, RequestState
from clearance.domain.documents import Fields
from clearance.domain.errors import ForbiddenError, RequestError
from clearance.service import handlers, queries
from clearance.service.handlers.decide import Signed
from clearance.service.views import conflict_view, event_view, record_view

router = APIRouter(prefix="/v1/requests", tags=["requests"])

# The domain reads the document and names the broken field; the OpenAPI describes the
# same rules (schemas.RequestDocument), as JSON and as YAML.
DOCUMENT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "A request document (operator, aircraft, payload, purpose, "
        "launch_site, justification, volumes as F3548 Volume4D), as JSON or YAML.",
        "content": {
            media: {"schema": {"$ref": "#/components/schemas/RequestDocument"}}
            for media in ("application/json", *YAML_MEDIA)
        },
    }
}
IF_MATCH: dict[str, Any] = {
    "name": "If-Match",
    "in": "header",
    "required": True,
    "description": 'The version being amended: "3", 3 or W/"3" (the ETag); 428 without it.',
    "schema": {"type": "string", "pattern": ETAG_PATTERN},
}
IF_MATCH_SEEN: dict[str, Any] = IF_MATCH | {
    "required": False,
    "description": 'The version the decision was made on: "3", 3 or W/"3" (the ETag); a '
    "request changed since is refused with 409.",
}
IDEMPOTENCY_KEY: dict[str, Any] = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Replays the first submission made with this key (1 to 255 characters).",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"^\S(?:.*\S)?$"},
}
ETAG_HEADER = {"ETag": {"description": 'The version, as "3".', "schema": {"type": "string"}}}
BODY_ERRORS = (400, 401, 403, 404, 409, 413, 415, 422)


class DecisionIn(BaseModel):
    """The decision as read at run time; ``conditions`` are read by the domain (its
    schema is schemas.DecisionBody's)."""

    model_config = ConfigDict(extra="forbid")
    authority: str
    decision: Literal["approve", "deny"]
    comment: str = ""
    conditions: dict[str, Any] | None = None
    at: str | None = None
    signature: str | None = None

    def signed(self) -> Signed | None:
        """The member's signature and the time it states, when the decision carries one."""
        if not self.signature and self.at is None:
            return None
        if not self.signature:
            raise ForbiddenError("the decision is not signed: send signature with at")
        if self.at is None:
            raise ForbiddenError("a signed decision says when it was signed: send at too")
        at = Fields({"at": self.at}, error=RequestError).instant("at")
        return Signed(at, self.signature)


DECISION_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/DecisionBody"}}},
    }
}


async def decision_in(body: JsonObjectDep) -> DecisionIn:
    try:
        return DecisionIn.model_validate(body)
    except ValidationError as e:
        raise RequestValidationError(
            [{"loc": ("body", *err["loc"]), "msg": err["msg"]} for err in e.errors()]
        ) from None


def _resource(
    record: RequestRecord,
    scenario: Scenario,
    extra: dict[str, Any] | None = None,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """The request resource with its ETag. Views are plain JSON data already, so the
    response skips FastAPI's generic encoder (a third of a submission's time)."""
    return JSONResponse(
        record_view(record, scenario) | (extra or {}),
        status_code=status,
        headers={"ETag": f'"{record.version}"', **(headers or {})},
    )


@router.post(
    "",
    status_code=201,
    openapi_extra=DOCUMENT_BODY | {"parameters": [IDEMPOTENCY_KEY]},
    responses=ok(
        schemas.RequestResource,
        201,
        {"Location": {"description": "The new request.", "schema": {"type": "string"}}}
        | ETAG_HEADER,
    )
    | problem_responses(400, 401, 403, 409, 413, 415, 422),
)
async def submit(
    who: PrincipalDep,
    ctx: ContextDep,
    document: DocumentDep,
    heavy: HeavyDep,
    # declared by IDEMPOTENCY_KEY: the domain checks it and names it
    idempotency_key: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> JSONResponse:
    def work() -> JSONResponse:
        submitted = handlers.submit(ctx, who, document, idempotency_key)
        headers = {"Location": f"/v1/requests/{submitted.record.id}"}
        if not submitted.created:
            headers["Idempotent-Replayed"] = "true"
        return _resource(
            submitted.record, ctx.scenario_of(submitted.record), status=201, headers=headers
        )

    return await heavy(work)


@router.get("", responses=ok(schemas.RequestList) | problem_responses(401, 422))
def list_requests(
    who: PrincipalDep,
    ctx: ContextDep,
    state: RequestState | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> JSONResponse:
    records = queries.list_requests(ctx, who, state, limit)
    return JSONResponse({"items": [record_view(r, ctx.scenario_of(r)) for r in records]})


@router.get(
    "/{request_id}",
    responses=ok(schemas.RequestWithEvents, headers=ETAG_HEADER) | problem_responses(401, 404),
)
def get_request(who: PrincipalDep, ctx: ContextDep, request_id: str) -> JSONResponse:
    record, events = queries.get(ctx, who, request_id)
    conflicts = queries.conflicts(ctx, who, record.violations)
    return _resource(
        record,
        ctx.scenario_of(record),
        {
            "events": [event_view(e) for e in events],
            "conflicts": [conflict_view(c) for c in conflicts],
        },
    )


@router.post(
    "/{request_id}/decisions",
    openapi_extra=DECISION_BODY | {"parameters": [IF_MATCH_SEEN]},
    responses=ok(schemas.RequestResource, headers=ETAG_HEADER) | problem_responses(*BODY_ERRORS),
)
def decide(
    who: PrincipalDep,
    ctx: ContextDep,
    request_id: str,
    body: Annotated[DecisionIn, Depends(decision_in)],
    seen: SeenVersionDep,
) -> JSONResponse:
    record = handlers.decide(
        ctx,
        who,
        request_id,
        body.authority,
        Decision(body.decision),
        body.comment,
        body.conditions,
        expected_version=seen,
        signed=body.signed(),
    )
    return _resource(record, ctx.scenario_of(record))


@router.post(
    "/{request_id}/withdraw",
    responses=ok(schemas.RequestResource, headers=ETAG_HEADER)
    | problem_responses(401, 403, 404, 409),
)
def withdraw(who: PrincipalDep, ctx: ContextDep, request_id: str) -> JSONResponse:
    withdrawn = handlers.withdraw(ctx, who, request_id)
    return _resource(withdrawn, ctx.scenario_of(withdrawn))


@router.put(
    "/{request_id}",
    openapi_extra=DOCUMENT_BODY | {"parameters": [IF_MATCH]},
    responses=ok(schemas.Amended, headers=ETAG_HEADER) | problem_responses(*BODY_ERRORS, 428),
)
async def amend(
    who: PrincipalDep,
    ctx: ContextDep,
    request_id: str,
    version: ExpectedVersionDep,
    document: DocumentDep,
    heavy: HeavyDep,
) -> JSONResponse:
    def work() -> JSONResponse:
        amended = handlers.amend(ctx, who, request_id, document, version)
        return _resource(
            amended.record,
            ctx.scenario_of(amended.record),
            {"kept": amended.kept, "reset": amended.reset},
        )

    return await heavy(work)
