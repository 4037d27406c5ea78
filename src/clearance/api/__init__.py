"""The HTTP API: a thin FastAPI layer over the service's handlers and queries.

Build it with ``create_app(ctx)`` over a ``clearance.service.context.Context``; each route
parses one resource's request, calls one handler (``service.handlers``) or query
(``service.queries``) and returns a view. Every error is an RFC 9457 problem.
"""

from clearance.api.app import create_app

__all__ = ["create_app"]
