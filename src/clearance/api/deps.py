"""What routes depend on, as ``Annotated`` aliases that keep their signatures short.

``ContextDep`` is the app's ``Context``; ``PrincipalDep`` the caller, authenticated
from ``Authorization: Bearer``; ``JsonObjectDep`` the body, read as one strict JSON
object; ``DocumentDep`` a request document, as JSON or YAML; ``ExpectedVersionDep`` the
version named by ``If-Match`` (``SeenVersionDep`` the same, optional); ``HeavyDep`` runs heavy work off the event loop.

Heavy work (parsing a body, evaluating, submitting, checking telemetry) runs in worker
threads, at most ``HEAVY_THREADS`` at once (the app's ``heavy`` limiter), so the event
loop stays free to answer everyone else (``/healthz`` within milliseconds while large
uploads and evaluations run), and a burst of heavy requests queues instead of making
dozens of threads fight for the GIL. A JSON body of at most ``INLINE_JSON_BYTES`` is read on
the event loop: a worker thread's round trip costs more than reading it (tens of
microseconds for a request document), and a submission's hops were part of why
``bench/api_load.py`` slowed down once heavy work moved to threads.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import anyio.to_thread
from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from clearance.adapters.files import parse_json, parse_yaml
from clearance.api.problems import ApiError
from clearance.domain.clearance.model import Principal
from clearance.domain.errors import DuplicateKeyError, InputError
from clearance.service import queries
from clearance.service.context import Context

# A request document is about six levels deep; anything far deeper is hostile, and
# copying or hashing it would exhaust the stack.
MAX_DEPTH = 32
# YAML aliases can make a small body stand for an enormous tree ("billion laughs"); no
# request document comes near this many values.
MAX_NODES = 200_000
YAML_MEDIA = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")
ETAG = re.compile(r'(?:W/)?"(\d{1,18})"|(\d{1,18})')
# The same, as the OpenAPI states it (ECMA regex; the header arrives stripped).
ETAG_PATTERN = r'^(?:(?:W/)?"[0-9]{1,18}"|[0-9]{1,18})$'

# Python holds one core at a time (the GIL); a few threads keep the database's waits
# overlapped without starving the event loop.
HEAVY_THREADS = 2
# A 100-volume request document is about 40 KB of JSON, read in well under a millisecond;
# YAML is read ten times slower and always goes to a worker thread.
INLINE_JSON_BYTES = 64 * 1024
T = TypeVar("T")

bearer = HTTPBearer(auto_error=False, description="A principal's token.")


# The dependencies that only read the app's state are coroutines: FastAPI runs a plain
# function dependency in a worker thread, a hop that costs more than the call.
async def get_context(request: Request) -> Context:
    ctx: Context = request.app.state.context
    return ctx


ContextDep = Annotated[Context, Depends(get_context)]


def get_principal(
    ctx: ContextDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    return queries.authenticate(ctx, credentials.credentials if credentials else None)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def media_type(request: Request) -> str:
    """The body's media type: ``Content-Type`` without its parameters, in lower case."""
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def _is_json(media: str) -> bool:
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def unsupported_media(media: str, expected: str) -> ApiError:
    """415, naming what the route takes."""
    return ApiError(
        415,
        "unsupported-media-type",
        "Unsupported media type",
        f"send {expected}, not {media or 'nothing'}",
        field="Content-Type",
        source="header",
    )


class Heavy:
    """Runs a function in a worker thread under the app's ``heavy`` limiter."""

    def __init__(self, limiter: anyio.CapacityLimiter) -> None:
        self.limiter = limiter

    async def __call__(self, fn: Callable[..., T], *args: Any) -> T:
        return await anyio.to_thread.run_sync(functools.partial(fn, *args), limiter=self.limiter)


def heavy_limiter() -> anyio.CapacityLimiter:
    return anyio.CapacityLimiter(HEAVY_THREADS)


async def get_heavy(request: Request) -> Heavy:
    return Heavy(request.app.state.heavy)


HeavyDep = Annotated[Heavy, Depends(get_heavy)]


async def json_object(request: Request, heavy: HeavyDep) -> dict[str, Any]:
    """The body as a JSON object: UTF-8, no NaN or infinities, at most MAX_DEPTH deep."""
    media = media_type(request)
    if not _is_json(media):
        raise unsupported_media(media, "the body as application/json")
    return await _json_body(request, heavy)


JsonObjectDep = Annotated[dict[str, Any], Depends(json_object)]


async def document(request: Request, heavy: HeavyDep) -> dict[str, Any]:
    """A request document: a JSON object, or the same written as YAML (application/yaml),
    the form the example files use."""
    media = media_type(request)
    if _is_json(media):
        return await _json_body(request, heavy)
    if media in YAML_MEDIA:
        return await heavy(parse_yaml_object, await request.body())
    raise unsupported_media(media, "the body as application/json or application/yaml")


DocumentDep = Annotated[dict[str, Any], Depends(document)]


async def _json_body(request: Request, heavy: Heavy) -> dict[str, Any]:
    raw = await request.body()
    if len(raw) <= INLINE_JSON_BYTES:
        return parse_json_object(raw)
    return await heavy(parse_json_object, raw)


def parse_yaml_object(raw: bytes) -> dict[str, Any]:
    if not raw.strip():
        raise _malformed("the body is empty; send a YAML mapping")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _malformed("the body is not valid UTF-8") from None
    try:
        value = parse_yaml(text, "", max_depth=MAX_DEPTH)
    except InputError as e:
        raise _malformed(f"the body is not valid YAML: {e.rule}") from None
    if not isinstance(value, dict):
        raise _malformed(f"the body must be a YAML mapping, not {type(value).__name__}")
    _check_tree(value)
    return value


def parse_json_object(raw: bytes) -> dict[str, Any]:
    if not raw.strip():
        raise _malformed("the body is empty; send a JSON object")
    try:
        value = parse_json(raw.decode("utf-8"), parse_constant=_no_constant, parse_float=_finite)
    except UnicodeDecodeError:
        raise _malformed("the body is not valid UTF-8") from None
    except RecursionError:
        raise _malformed(f"the body nests deeper than {MAX_DEPTH} levels") from None
    except DuplicateKeyError as e:
        raise _malformed(f"the body is not valid: {e}") from None
    except ValueError as e:  # JSONDecodeError, and integers too long to convert
        raise _malformed(f"the body is not valid JSON: {e}") from None
    if not isinstance(value, dict):
        raise _malformed(f"the body must be a JSON object, not {type(value).__name__}")
    _check_tree(value)
    return value


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"{text[:40]} is out of range")
    return number


def _check_tree(value: object) -> None:
    """Depth, size and encodable strings (a lone surrogate such as "\\ud800" cannot be
    written back as UTF-8), checked without recursion."""
    stack: list[tuple[object, int]] = [(value, 1)]
    nodes = 0
    while stack:
        item, depth = stack.pop()
        nodes += 1
        if nodes > MAX_NODES:
            raise _malformed(f"the body holds more than {MAX_NODES} values")
        if depth > MAX_DEPTH:
            raise _malformed(f"the body nests deeper than {MAX_DEPTH} levels")
        if isinstance(item, str):
            _utf8(item)
        elif isinstance(item, dict):
            for key, child in item.items():
                if not isinstance(key, str):  # YAML allows numbers, dates... as keys
                    raise _malformed(f"every key must be text, not {type(key).__name__}")
                _utf8(key)
                stack.append((child, depth + 1))
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)


def _utf8(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise _malformed("the body holds a string that is not valid Unicode") from None


def _malformed(detail: str) -> ApiError:
    return ApiError(400, "malformed-body", "Malformed body", detail, source="body")


async def expected_version(
    if_match: Annotated[
        str | None,
        # declared required in the OpenAPI by the route (routers.requests.IF_MATCH): a
        # missing one is answered 428, not FastAPI's 422
        Header(include_in_schema=False),
    ] = None,
) -> int:
    if if_match is None or not if_match.strip():
        raise ApiError(
            428,
            "precondition-required",
            "Precondition required",
            "send If-Match with the version you are amending (the request's ETag)",
            field="If-Match",
            source="header",
        )
    return _version(if_match)


async def seen_version(
    if_match: Annotated[
        str | None,
        # declared in the OpenAPI by the route (routers.requests.IF_MATCH_SEEN)
        Header(include_in_schema=False),
    ] = None,
) -> int | None:
    """The version a decision's author saw, when it says (If-Match); None otherwise."""
    if if_match is None or not if_match.strip():
        return None
    return _version(if_match)


def _version(if_match: str) -> int:
    found = ETAG.fullmatch(if_match.strip())
    if found is None:
        raise ApiError(
            422,
            "invalid-input",
            "Invalid input",
            'If-Match must name one version, like "3"',
            field="If-Match",
            source="header",
        )
    return int(found.group(1) or found.group(2))


ExpectedVersionDep = Annotated[int, Depends(expected_version)]
SeenVersionDep = Annotated[int | None, Depends(seen_version)]
