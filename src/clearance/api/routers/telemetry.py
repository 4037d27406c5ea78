"""``/v1/requests/{id}/telemetry``: what was flown, checked against what was cleared."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from clearance.api import schemas
from clearance.api.deps import ContextDep, HeavyDep, PrincipalDep, media_type, unsupported_media
from clearance.api.problems import ok, problem_responses
from clearance.domain.airspace.telemetry import TrackReader
from clearance.service.handlers.telemetry import may_record, record_telemetry

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


# Parsed a quarter of a megabyte at a time (about 4,000 points): large enough for numpy
# to pay, small enough that each worker thread's scratch memory stays small.
PIECE_BYTES = 1 << 18


@router.post(
    "/{request_id}/telemetry",
    openapi_extra=TELEMETRY_BODY,
    responses=ok(schemas.Conformance) | problem_responses(400, 401, 403, 404, 413, 415, 422),
)
async def telemetry(
    who: PrincipalDep,
    ctx: ContextDep,
    heavy: HeavyDep,
    request_id: str,
    request: Request,
) -> JSONResponse:
    """Check a flown track against the request's cleared volumes and territories; the
    result is recorded on the request. Only the request's operator may record it. The
    body (at most 64 MB and 10^6 points) is parsed as it streams in, a quarter of a
    megabyte at a time, in worker threads."""
    media = media_type(request)
    if media not in MEDIA:
        raise unsupported_media(media, f"telemetry as {' or '.join(MEDIA)}")
    await heavy(may_record, ctx, request_id, who)  # before reading a byte of it
    reader = TrackReader("telemetry", MEDIA[media])
    piece = bytearray()
    async for chunk in request.stream():
        piece += chunk
        if len(piece) >= PIECE_BYTES:
            await heavy(reader.feed, piece)
            piece = bytearray()
    await heavy(reader.feed, piece)
    del piece
    track = await heavy(reader.close)

    def work() -> JSONResponse:
        return JSONResponse(record_telemetry(ctx, request_id, track, who).to_dict())

    return await heavy(work)
