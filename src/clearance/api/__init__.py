"""The HTTP API: a thin FastAPI layer over ``clearance.service.workflow.Workflow``.

Build it with ``create_app(workflow)``; each router parses one resource's requests,
calls one ``Workflow`` method and returns a view. Every error is an RFC 9457 problem.
"""

from clearance.api.app import create_app

__all__ = ["create_app"]
