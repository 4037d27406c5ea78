"""Schemathesis hooks for the live-server run (loaded through SCHEMATHESIS_HOOKS).

One thing only: a schema-valid input that the server refuses with 422 is NOT a finding
when the rule it broke is one JSON Schema cannot state, so the OpenAPI can only describe
it in words (``clearance.api.schemas``'s docstring). Each such rule is listed below with
the operation it applies to; every other refusal of schema-valid data, and every finding
of every other check, still fails the run.
"""

from __future__ import annotations

import json
import re
from typing import Any

import schemathesis

DOCUMENT_OPERATIONS = frozenset(
    {"POST /v1/requests", "POST /v1/evaluations", "PUT /v1/requests/{request_id}"}
)
DECISION = frozenset({"POST /v1/requests/{request_id}/decisions"})  # its signed `at`
PERIOD = frozenset({"GET /v1/authorities/{authority_id}/grant-suggestions"})  # since, until
# (operations, problem detail) of rules beyond JSON Schema.
RELATIONAL_RULES: tuple[tuple[frozenset[str], re.Pattern[str]], ...] = tuple(
    (operations, re.compile(pattern))
    for operations, pattern in (
        # an order between two fields of one volume
        (DOCUMENT_OPERATIONS, r"altitude_lower: must not be above altitude_upper"),
        (DOCUMENT_OPERATIONS, r"time_end: must be after time_start"),
        # geometry: a polygon's edges (great circles) crossing each other, an outline
        # crossing the 180th meridian or covering a pole (from its centre and radius)
        (DOCUMENT_OPERATIONS, r"edges must not cross"),
        (DOCUMENT_OPERATIONS, r"cross the 180th meridian or cover a pole"),
        # a calendar: 2017-02-30 matches any pattern of digits; a year-1 date with a
        # positive offset is before year 1 in UTC
        (DOCUMENT_OPERATIONS | DECISION | PERIOD, r"must be an RFC 3339 date-time; got"),
        (DOCUMENT_OPERATIONS | DECISION | PERIOD, r"is out of the supported range of dates"),
        # an order between two query parameters
        (PERIOD, r"until: must be after since"),
        # the service's clock: a request whose every volume has ended
        (DOCUMENT_OPERATIONS, r"^volumes: every volume has already ended"),
        # the scenario's limits on a window, a request's span, how far ahead a volume
        # starts (from the service's clock) and an outline's area
        (DOCUMENT_OPERATIONS, r"\(limits\.max_(volume_hours|span_days|days_ahead|area_km2)\)"),
        # RFC 8785 (the audit log) carries no integer beyond 2**53, while JSON Schema
        # cannot tell 1e20 (a float, accepted) from 100000000000000000000 (an integer)
        (DOCUMENT_OPERATIONS, r"holds a number JSON cannot carry exactly"),
        # conditions on an approval: a window inside the request's, start before end
        (
            frozenset({"POST /v1/requests/{request_id}/decisions"}),
            r"^conditions(\.time_end)?: (time_end must be after time_start|the window must lie)",
        ),
        # a consistency proof from a tree to a larger one
        (frozenset({"GET /v1/audit/consistency"}), r"to: must be at least from"),
    )
)
TELEMETRY = "POST /v1/requests/{request_id}/telemetry"


def beyond_json_schema(operation: str, status: int, body: Any) -> bool:
    """Whether a 422 problem names a rule JSON Schema cannot state, for this operation."""
    if status != 422 or not isinstance(body, dict):
        return False
    detail, field = str(body.get("detail", "")), str(body.get("field", ""))
    if operation == TELEMETRY:
        # A text/csv or JSON-lines body is, to JSON Schema, a string: its lines, columns
        # and order of times are the parser's to check, and it names the line.
        return field.startswith("line ")
    return any(
        operation in operations and pattern.search(detail)
        for operations, pattern in RELATIONAL_RULES
    )


@schemathesis.hook
def filter_failure(context: Any, failure: Any, case: Any, response: Any) -> bool:
    if type(failure).__name__ != "RejectedPositiveData":
        return True
    try:
        body = json.loads(response.content)
    except ValueError:
        return True
    return not beyond_json_schema(case.operation.label, response.status_code, body)
