"""Schemathesis fuzzes every operation of the app's own OpenAPI, in process, with an
operator's token: whatever it sends, valid or not, no answer may be a 5xx.

The schema comes from the ``app`` fixture, so the operations are walked inside one test
rather than through ``schemathesis.pytest.from_fixture`` (schemathesis 4.32 reads
``node._nodeid``, which pytest 9 no longer has).
"""

from __future__ import annotations

from typing import Any

import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok

from tests.e2e.conftest import Actors

EXAMPLES_PER_OPERATION = 40


def test_no_operation_answers_with_a_server_error(app: FastAPI, actors: Actors) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    headers = actors.operator()
    labels = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result
        operation = result.ok()
        labels.append(operation.label)
        cases = st.one_of(
            operation.as_strategy(GenerationMode.POSITIVE),
            operation.as_strategy(GenerationMode.NEGATIVE),
        )

        @given(case=cases)
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def no_server_error(case: Any) -> None:
            case.call_and_validate(headers=headers, checks=[not_a_server_error])

        no_server_error()
    assert "POST /v1/requests" in labels
    assert len(labels) >= 9
