"""``/v1/requests``: submit, read, list, decide, withdraw and amend requests."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, ValidationError

from clearance.api.deps import (
    DocumentDep,
    ExpectedVersionDep,
    HeavyDep,
    JsonObjectDep,
    PrincipalDep,
    WorkflowDep,
)
from clearance.api.problems import problem_responses
from clearance.domain.workflow import Decision, RequestRecord, RequestState
from clearance.service.views import event_view, record_view

router = APIRouter(prefix="/v1/requests", tags=["requests"])

# The document is validated by the domain, which names the broken field; OpenAPI only
# promises an object so that clients and fuzzers reach that validation.
DOCUMENT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "A request document (operator, aircraft, payload, purpose, "
        "launch_site, justification, volumes as F3548 Volume4D), as JSON or YAML.",
        "content": {
            "application/json": {"schema": {"type": "object"}},
            "application/yaml": {"schema": {"type": "string"}},
        },
    }
}
ERRORS = problem_responses(400, 401, 403, 404, 409, 413, 415, 422)


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    authority: str
    decision: Literal["approve", "deny"]
    comment: str = ""
    conditions: dict[str, Any] | None = None


DECISION_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": DecisionIn.model_json_schema()}},
    }
}


def decision_in(body: JsonObjectDep) -> DecisionIn:
    try:
        return DecisionIn.model_validate(body)
    except ValidationError as e:
        raise RequestValidationError(
            [{"loc": ("body", *err["loc"]), "msg": err["msg"]} for err in e.errors()]
        ) from None


def _resource(
    record: RequestRecord,
    extra: dict[str, Any] | None = None,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """The request resource with its ETag. Views are plain JSON data already, so the
    response skips FastAPI's generic encoder (a third of a submission's time)."""
    return JSONResponse(
        record_view(record) | (extra or {}),
        status_code=status,
        headers={"ETag": f'"{record.version}"', **(headers or {})},
    )


@router.post("", status_code=201, openapi_extra=DOCUMENT_BODY, responses=ERRORS)
async def submit(
    who: PrincipalDep,
    workflow: WorkflowDep,
    document: DocumentDep,
    heavy: HeavyDep,
    idempotency_key: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    def work() -> JSONResponse:
        submitted = workflow.submit(who, document, idempotency_key)
        headers = {"Location": f"/v1/requests/{submitted.record.id}"}
        if not submitted.created:
            headers["Idempotent-Replayed"] = "true"
        return _resource(submitted.record, status=201, headers=headers)

    return await heavy(work)


@router.get("", responses=ERRORS)
def list_requests(
    who: PrincipalDep,
    workflow: WorkflowDep,
    state: RequestState | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> JSONResponse:
    records = workflow.list_requests(who, state, limit)
    return JSONResponse({"items": [record_view(r) for r in records]})


@router.get("/{request_id}", responses=ERRORS)
def get_request(who: PrincipalDep, workflow: WorkflowDep, request_id: str) -> JSONResponse:
    record, events = workflow.get(who, request_id)
    return _resource(record, {"events": [event_view(e) for e in events]})


@router.post("/{request_id}/decisions", openapi_extra=DECISION_BODY, responses=ERRORS)
def decide(
    who: PrincipalDep,
    workflow: WorkflowDep,
    request_id: str,
    body: Annotated[DecisionIn, Depends(decision_in)],
) -> JSONResponse:
    record = workflow.decide(
        who, request_id, body.authority, Decision(body.decision), body.comment, body.conditions
    )
    return _resource(record)


@router.post("/{request_id}/withdraw", responses=ERRORS)
def withdraw(who: PrincipalDep, workflow: WorkflowDep, request_id: str) -> JSONResponse:
    return _resource(workflow.withdraw(who, request_id))


@router.put("/{request_id}", openapi_extra=DOCUMENT_BODY, responses=ERRORS | problem_responses(428))
async def amend(
    who: PrincipalDep,
    workflow: WorkflowDep,
    request_id: str,
    version: ExpectedVersionDep,
    document: DocumentDep,
    heavy: HeavyDep,
) -> JSONResponse:
    def work() -> JSONResponse:
        amended = workflow.amend(who, request_id, document, version)
        return _resource(amended.record, {"kept": amended.kept, "reset": amended.reset})

    return await heavy(work)
