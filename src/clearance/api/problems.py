"""Every failure as an RFC 9457 problem (``application/problem+json``).

    ClearanceError (domain.errors)     ApiError (a ClearanceError of this layer)
     +-- InputError        422          400 malformed body    413 body too large
     +-- NotFoundError     404          415 not JSON          428 If-Match missing
     +-- ConflictError     409
     +-- ForbiddenError    403         FastAPI validation     422
     +-- UnauthorizedError 401         Starlette HTTP errors  their status (404, 405)
     +-- VerificationError 500, logged anything else          500, logged

Input problems also carry ``field`` (the path inside the body, or the parameter name)
and ``source`` (``body``, ``query``, ``path`` or ``header``), so a client can point at
what to fix. Two pure ASGI middlewares complete the picture: ``BodyLimit`` refuses
bodies over a size before anyone reads them, and ``CatchAll`` turns a genuine bug into
a logged 500 problem instead of a bare traceback.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from clearance.domain.errors import (
    ClearanceError,
    ConflictError,
    ForbiddenError,
    InputError,
    NotFoundError,
    UnauthorizedError,
    VerificationError,
)

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "urn:clearance:problem:"
HEADER_FIELDS = frozenset({"idempotency-key", "if-match", "authorization"})
log = logging.getLogger("clearance.api")

# The domain's error tree, most specific first: (class, status, type, title).
DOMAIN_ERRORS: tuple[tuple[type[ClearanceError], int, str, str], ...] = (
    (InputError, 422, "invalid-input", "Invalid input"),
    (NotFoundError, 404, "not-found", "Not found"),
    (ConflictError, 409, "conflict", "Conflict"),
    (ForbiddenError, 403, "forbidden", "Forbidden"),
    (UnauthorizedError, 401, "unauthorized", "Unauthorized"),
    # The stored record contradicts itself (the database was changed): the server's fault.
    (VerificationError, 500, "verification-failed", "The record does not verify"),
)

# Where an input problem's field is (the ``source`` member's values).
SOURCES = ("body", "query", "path", "header")


def ok(
    model: type[BaseModel], status: int = 200, headers: dict[str, Any] | None = None
) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses`` entry of a success, described by ``model`` (schemas.py)."""
    response: dict[str, Any] = {"model": model, "description": HTTPStatus(status).phrase}
    if headers:
        response["headers"] = headers
    return {status: response}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for these problem statuses (``Problem`` in schemas.py)."""
    content = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    return {s: {"description": HTTPStatus(s).phrase, "content": content} for s in statuses}


class ApiError(ClearanceError):
    """A problem found by the HTTP layer itself (the body or a header, not the domain)."""

    def __init__(
        self,
        status: int,
        slug: str,
        title: str,
        detail: str,
        *,
        field: str = "",
        source: str = "",
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.slug = slug
        self.title = title
        self.detail = detail
        self.field = field
        self.source = source


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    type_: str = "about:blank",
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body = {"type": type_, "title": title, "status": status, "detail": detail}
    body.update({k: v for k, v in extra.items() if v not in (None, "")})
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


def _api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return problem(
        exc.status,
        exc.title,
        exc.detail,
        type_=TYPE_BASE + exc.slug,
        field=exc.field,
        source=exc.source,
    )


def _domain_problem(_: Request, exc: Exception) -> JSONResponse:
    mapped = next((m for m in DOMAIN_ERRORS if isinstance(exc, m[0])), None)
    if mapped is None:  # a new error class nobody mapped is a bug in this layer
        raise exc
    status, slug, title = mapped[1:]
    if status >= 500:
        log.error("%s: %s", type(exc).__name__, exc)
    extra: dict[str, str] = {}
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if isinstance(exc, InputError):
        extra["field"] = exc.field
        # The domain's source names a file (or "telemetry"); here it says where the
        # field is, and an input the domain read came in the body unless it is a header.
        header = exc.field.lower() in HEADER_FIELDS
        extra["source"] = exc.source if exc.source in SOURCES else ("header" if header else "body")
    return problem(status, title, str(exc), type_=TYPE_BASE + slug, headers=headers, **extra)


def _database_problem(_: Request, exc: Exception) -> JSONResponse:
    """The database could not be reached (down, restarting, failing over to its replica):
    503 with Retry-After, so a client retries what was not acknowledged. Any other driver
    error is a bug and stays a 500."""
    assert isinstance(exc, DBAPIError)
    if not (isinstance(exc, OperationalError) or exc.connection_invalidated):
        raise exc
    log.warning("database unavailable: %s", str(exc.orig).splitlines()[0] if exc.orig else exc)
    return problem(
        503,
        "Database unavailable",
        "the database cannot be reached just now; nothing was changed, retry shortly",
        type_=TYPE_BASE + "database-unavailable",
        headers={"Retry-After": "2"},
    )


def _validation_problem(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = []
    for e in exc.errors():
        loc = [str(part) for part in e.get("loc", ())]
        source = loc[0] if loc and loc[0] in ("body", "query", "path", "header") else "body"
        field = ".".join(loc[1:] if loc and loc[0] == source else loc)
        errors.append({"source": source, "field": field, "message": str(e.get("msg", ""))})
    first = errors[0] if errors else {"source": "", "field": "", "message": "invalid input"}
    detail = "; ".join(f"{e['field'] or e['source']}: {e['message']}" for e in errors)
    return problem(
        422,
        "Invalid input",
        detail or "invalid input",
        type_=TYPE_BASE + "invalid-input",
        field=first["field"],
        source=first["source"],
        errors=errors,
    )


def _http_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    title = _TITLES.get(exc.status_code, "Error")
    detail = exc.detail if isinstance(exc.detail, str) else title
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(_allowed(request)) or headers.get("Allow", "")
    return problem(exc.status_code, title, detail, headers=headers or None)


def _allowed(request: Request) -> list[str]:
    """Every method the OpenAPI declares at this path (Starlette's 405 names only those
    of the first route that matched, so GET /v1/requests/{id} hid PUT)."""
    methods: set[str] = set()
    for template, operations in request.app.openapi()["paths"].items():
        if re.fullmatch(re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(template)), request.url.path):
            methods.update(m.upper() for m in operations if m in HTTP_METHODS)
    return sorted(methods)


HTTP_METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options", "trace"})
_TITLES = {404: "Not Found", 405: "Method Not Allowed", 400: "Bad Request"}


def install(app: FastAPI, *, max_body_bytes: int) -> None:
    """Register every problem handler and the two middlewares on ``app``."""
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(ClearanceError, _domain_problem)
    app.add_exception_handler(RequestValidationError, _validation_problem)
    app.add_exception_handler(DBAPIError, _database_problem)
    app.add_exception_handler(StarletteHTTPException, _http_problem)
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    app.add_middleware(CatchAll)  # added last, so it wraps everything else


TELEMETRY_MAX_BYTES = 64 * 1024 * 1024


class BodyLimit:
    """Refuse bodies over ``max_bytes``: at once when Content-Length says so, else while
    the body streams in (the route reading it gets ``ApiError(413)``)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # A flight's telemetry is long (a day at 1 Hz is a few MB); everything else is small.
        limit = TELEMETRY_MAX_BYTES if scope["path"].endswith("/telemetry") else self.max_bytes
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await self._too_large(limit)(scope, receive, send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise self._too_large_problem(limit)
            return message

        await self.app(scope, limited, send)

    def _too_large_problem(self, limit: int) -> ApiError:
        return ApiError(
            413,
            "body-too-large",
            "Content too large",
            f"the body is larger than {limit} bytes",
            source="body",
        )

    def _too_large(self, limit: int) -> JSONResponse:
        p = self._too_large_problem(limit)
        return problem(p.status, p.title, p.detail, type_=TYPE_BASE + p.slug, source="body")


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() and len(text) < 20 else None
    return None


class CatchAll:
    """The last line: an unexpected exception is logged and answered with a 500 problem
    (unless the response had already started, when only re-raising is left)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking)
        except Exception:
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise
            response = problem(
                500,
                "Internal Server Error",
                "an unexpected error occurred; it has been logged",
                type_=TYPE_BASE + "internal",
            )
            await response(scope, receive, send)
