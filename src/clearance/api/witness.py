"""``create_witness_app(witness)``: a witness's HTTP service (C2SP tlog-witness).

- ``POST /add-checkpoint``: the body is ``old <size>``, consistency proof lines, an empty
  line and a signed checkpoint; the answer is the witness's cosignature line(s)
  (``text/plain``). Refusals, with the statuses the spec names:
  400 a malformed body (or an old size above the checkpoint's), 403 no valid signature
  by the log's key, 404 a log the witness does not follow, 409 an old size other than
  the size it last cosigned (body: that size and a newline, ``text/x.tlog.size``),
  413 a body over 64 KiB, 422 a consistency proof that fails, a rollback or a split view.
  Every refusal but 409 is problem+json naming the rule.
- ``GET /{sha256 hex of the origin}/checkpoint``: the latest checkpoint it cosigned for
  that log, with the log's signature and its cosignature (tlog-witness's monitoring
  retrieval); 404 if none.

Thin: parsing, the decision and the storage are :class:`clearance.service.witness.Witness`'s.
"""

from __future__ import annotations

import hashlib

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

import clearance
from clearance.api.problems import TYPE_BASE, problem
from clearance.domain.errors import (
    ClearanceError,
    InconsistentCheckpointError,
    MalformedSubmissionError,
    OldSizeError,
    UnknownLogError,
    UnsignedCheckpointError,
)
from clearance.domain.ledger.witness import SIZE_MEDIA_TYPE
from clearance.service.witness import Witness

MAX_BODY_BYTES = 64 * 1024  # a checkpoint note with 100 signatures and 63 proof lines fits

# (class, status, slug, title): tlog-witness's statuses, most specific first
REFUSALS: tuple[tuple[type[ClearanceError], int, str, str], ...] = (
    (MalformedSubmissionError, 400, "malformed-submission", "Malformed add-checkpoint body"),
    (UnsignedCheckpointError, 403, "unsigned-checkpoint", "Not signed by the log"),
    (UnknownLogError, 404, "unknown-log", "Unknown log"),
    (InconsistentCheckpointError, 422, "inconsistent-checkpoint", "Inconsistent checkpoint"),
)


def create_witness_app(witness: Witness) -> FastAPI:
    app = FastAPI(
        title=f"Clearance witness {witness.name}",
        version=clearance.__version__,
        description=f"A C2SP tlog-witness. Verifier key: `{witness.vkey}`",
        docs_url=None,
        redoc_url=None,
    )

    @app.post("/add-checkpoint", response_class=PlainTextResponse)
    async def add_checkpoint(request: Request) -> Response:
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                return problem(
                    413,
                    "Body too large",
                    f"an add-checkpoint body is at most {MAX_BODY_BYTES} bytes",
                    type_=TYPE_BASE + "too-large",
                )
        try:
            cosigned = await run_in_threadpool(witness.add_checkpoint, bytes(body))
        except OldSizeError as e:
            # Response, not PlainTextResponse: the spec's media type has no charset
            return Response(
                f"{e.size}\n".encode("ascii"),
                status_code=409,
                headers={"content-type": SIZE_MEDIA_TYPE},
            )
        except ClearanceError as e:
            return _refusal(e)
        return PlainTextResponse(cosigned.lines, media_type="text/plain; charset=utf-8")

    @app.get("/{origin_hash}/checkpoint", response_class=PlainTextResponse)
    def checkpoint(origin_hash: str) -> Response:
        for origin in witness.logs:
            if hashlib.sha256(origin.encode("utf-8")).hexdigest() == origin_hash:
                state = witness.latest(origin)
                if state is not None:
                    return PlainTextResponse(state.note, media_type="text/plain; charset=utf-8")
        return problem(
            404,
            "Not found",
            "this witness has cosigned no checkpoint of a log with that origin hash",
            type_=TYPE_BASE + "not-found",
        )

    return app


def _refusal(error: ClearanceError) -> JSONResponse:
    for cls, status, slug, title in REFUSALS:
        if isinstance(error, cls):
            return problem(status, title, str(error), type_=TYPE_BASE + slug)
    raise error  # not a refusal of the protocol: a bug
