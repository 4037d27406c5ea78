"""``/v1/requests/{id}/telemetry``: what was flown, checked against what was cleared."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from clearance.api import schemas
from clearance.api.deps import PrincipalDep, WorkflowDep
from clearance.api.problems import ApiError, ok, problem_responses
from clearance.domain.tracks import Track
from clearance.service.monitoring import check_track, read_track

router = APIRouter(prefix="/v1/requests", tags=["telemetry"])

MEDIA = {
    "text/csv": "csv",
    "application/x-ndjson": "jsonl",
    "application/jsonl": "jsonl",
    "application/json-seq": "jsonl",
}
TELEMETRY_BODY = {
    "requestBody": {
        "required": True,
        "description": "CSV with the header time,lat,lng,alt_m (RFC 3339 times), or JSON "
        "lines with the same keys.",
        "content": {media: {"schema": {"type": "string"}} for media in MEDIA},
    }
}


async def track_body(request: Request) -> Track:
    """The body as a track: CSV or JSON lines, by Content-Type."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in MEDIA:
        raise ApiError(
            415,
            "unsupported-media-type",
            "Unsupported media type",
            f"send telemetry as {' or '.join(MEDIA)}, not {media or 'nothing'}",
            field="Content-Type",
            source="header",
        )
    try:
        text = (await request.body()).decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(
            400, "malformed-body", "Malformed body", "telemetry must be UTF-8", source="body"
        ) from None
    return read_track(text, "telemetry", MEDIA[media])


@router.post(
    "/{request_id}/telemetry",
    openapi_extra=TELEMETRY_BODY,
    responses=ok(schemas.Conformance) | problem_responses(400, 401, 403, 404, 413, 415, 422),
)
def telemetry(
    who: PrincipalDep,
    workflow: WorkflowDep,
    request_id: str,
    track: Annotated[Track, Depends(track_body)],
) -> JSONResponse:
    """Check a flown track against the request's cleared volumes and territories; the
    result is recorded on the request."""
    return JSONResponse(check_track(workflow, request_id, track, who).to_dict())
