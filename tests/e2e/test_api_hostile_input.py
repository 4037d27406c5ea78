"""Malformed and hostile input never yields a 5xx: every case below gets a 4xx problem.

Each case sends raw bytes, so that what reaches the server is exactly what a hostile
client could send, to the three endpoints that read a body and to those that read ids.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.e2e.conftest import Actors, Headers, assert_problem, document

JSON = {"Content-Type": "application/json"}


def valid(**changes: Any) -> dict[str, Any]:
    doc = document("05")
    doc.update(changes)
    return doc


def with_radius(value: Any) -> dict[str, Any]:
    doc = document("05")
    doc["volumes"][0]["volume"]["outline_circle"]["radius"]["value"] = value
    return doc


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"a": [value]}
    return value


def raw(doc: Any) -> bytes:
    return json.dumps(doc).encode()


BODIES: dict[str, tuple[bytes, int]] = {
    "empty body": (b"", 400),
    "whitespace": (b"  \n\t ", 400),
    "not JSON": (b"operator: US.AFRICOM", 400),
    "truncated JSON": (raw(valid())[:-10], 400),
    "array at the top": (b"[1, 2, 3]", 400),
    "string at the top": (b'"a request"', 400),
    "number at the top": (b"42", 400),
    "null at the top": (b"null", 400),
    "deeply nested arrays": (b"[" * 100_000 + b"]" * 100_000, 400),
    "deeply nested objects": (b'{"a":' * 100_000 + b"1" + b"}" * 100_000, 400),
    "nested 200 deep in a field": (raw(valid(title=nested(100))), 400),
    "1e999": (raw(valid()).replace(b"30000", b"1e999"), 400),
    "-1e999": (raw(valid()).replace(b"30000", b"-1e999"), 400),
    "NaN": (raw(valid()).replace(b"30000", b"NaN"), 400),
    "Infinity": (raw(valid()).replace(b"30000", b"Infinity"), 400),
    "an integer of 5000 digits": (raw(valid()).replace(b"30000", b"9" * 5000), 400),
    "an integer of 400 digits": (raw(with_radius(10**400)), 422),
    "a boolean radius": (raw(with_radius(True)), 422),
    "invalid UTF-8": (raw(valid()).replace(b"Armed", b"\xff\xfe"), 400),
    "a lone surrogate": (raw(valid(justification="\ud800")), 400),
    "a UTF-8 BOM": (b"\xef\xbb\xbf" + raw(valid()), 400),
    "volumes as a string": (raw(valid(volumes="everywhere")), 422),
    "volumes empty": (raw(valid(volumes=[])), 422),
    "a volume as a list": (raw(valid(volumes=[[1, 2]])), 422),
    "operator as an object": (raw(valid(operator={"id": "US.AFRICOM"})), 422),
    "operator as a number": (raw(valid(operator=1)), 422),
    "an unknown field": (raw(valid(weapons="yes")), 422),
    "unicode garbage as ids": (raw(valid(aircraft="\u202e\u0000\U0001f4a9" * 50)), 422),
    "timestamps as numbers": (raw(valid(volumes=[{"time_start": 1e308}])), 422),
}


@pytest.fixture
def pending_id(client: TestClient, actors: Actors) -> str:
    response = client.post("/v1/requests", json=document("05"), headers=actors.operator())
    assert response.status_code == 201
    request_id: str = response.json()["id"]
    return request_id


@pytest.mark.parametrize(("body", "status"), BODIES.values(), ids=BODIES.keys())
def test_a_hostile_document_is_a_4xx_problem_on_submit(
    client: TestClient, actors: Actors, body: bytes, status: int
) -> None:
    response = client.post("/v1/requests", content=body, headers=actors.operator() | JSON)
    assert_problem(response, status)


@pytest.mark.parametrize(("body", "status"), BODIES.values(), ids=BODIES.keys())
def test_a_hostile_document_is_a_4xx_problem_on_amend(
    client: TestClient, actors: Actors, pending_id: str, body: bytes, status: int
) -> None:
    headers = actors.operator() | JSON | {"If-Match": '"1"'}
    response = client.put(f"/v1/requests/{pending_id}", content=body, headers=headers)
    assert_problem(response, status)


DECISIONS: dict[str, tuple[bytes, int]] = {
    **{k: v for k, v in BODIES.items() if v[1] == 400},
    "decision as a list": (raw({"authority": "US.DoD", "decision": ["approve"]}), 422),
    "authority null": (raw({"authority": None, "decision": "approve"}), 422),
    "comment as an object": (
        raw({"authority": "US.DoD", "decision": "approve", "comment": {"x": 1}}),
        422,
    ),
    "conditions as a list": (
        raw({"authority": "US.DoD", "decision": "approve", "conditions": [1]}),
        422,
    ),
    "conditions without text": (
        raw({"authority": "US.DoD", "decision": "approve", "conditions": {}}),
        422,
    ),
    "conditions with a bad time": (
        raw(
            {
                "authority": "US.DoD",
                "decision": "approve",
                "conditions": {"text": "x", "time_start": "yesterday"},
            }
        ),
        422,
    ),
    "conditions with a garbage volume": (
        raw(
            {
                "authority": "US.DoD",
                "decision": "approve",
                "conditions": {"text": "x", "volume": {"outline_circle": "big"}},
            }
        ),
        422,
    ),
    "conditions with an unknown field": (
        raw({"authority": "US.DoD", "decision": "approve", "conditions": {"text": "x", "y": 1}}),
        422,
    ),
}


@pytest.mark.parametrize(("body", "status"), DECISIONS.values(), ids=DECISIONS.keys())
def test_a_hostile_decision_is_a_4xx_problem(
    client: TestClient, actors: Actors, pending_id: str, body: bytes, status: int
) -> None:
    response = client.post(
        f"/v1/requests/{pending_id}/decisions",
        content=body,
        headers=actors.member("US.DoD") | JSON,
    )
    assert_problem(response, status)


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"],
)
def test_a_body_that_is_not_json_is_415(
    client: TestClient, actors: Actors, content_type: str | None
) -> None:
    headers = actors.operator() | ({"Content-Type": content_type} if content_type else {})
    response = client.post("/v1/requests", content=raw(valid()), headers=headers)
    assert_problem(response, 415, field="Content-Type", source="header")


def test_a_json_suffix_media_type_is_accepted(client: TestClient, actors: Actors) -> None:
    headers = actors.operator() | {"Content-Type": "application/vnd.clearance+json; charset=utf-8"}
    response = client.post("/v1/requests", content=raw(valid()), headers=headers)
    assert response.status_code == 201


def test_a_body_over_one_mebibyte_is_413(client: TestClient, actors: Actors) -> None:
    big = raw(valid(justification="x" * (1024 * 1024)))
    response = client.post("/v1/requests", content=big, headers=actors.operator() | JSON)
    assert_problem(response, 413)


def test_a_streamed_body_over_one_mebibyte_is_413(client: TestClient, actors: Actors) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"justification": "'
        for _ in range(40):
            yield b"x" * 32_768
        yield b'"}'

    response = client.post("/v1/requests", content=chunks(), headers=actors.operator() | JSON)
    assert "content-length" not in response.request.headers
    assert_problem(response, 413)


GARBAGE_IDS = [
    "%F0%9F%92%A9",
    "%00",
    "%FF%FE",
    "%ED%A0%80",
    "..%2F..%2Fetc%2Fpasswd",
    "%E2%80%AE" * 30,
    "x" * 10_000,
    "' OR 1=1 --",
    "%0D%0ASet-Cookie:%20a=b",
]


@pytest.mark.parametrize("garbage", GARBAGE_IDS)
def test_garbage_ids_in_paths_are_4xx_problems(
    client: TestClient, actors: Actors, garbage: str
) -> None:
    member: Headers = actors.member("NE.Defense")
    operator = actors.operator()
    for method, path, headers, body in [
        ("GET", f"/v1/requests/{garbage}", operator, None),
        ("POST", f"/v1/requests/{garbage}/withdraw", operator, None),
        ("PUT", f"/v1/requests/{garbage}", operator | {"If-Match": "1"}, document("05")),
        (
            "POST",
            f"/v1/requests/{garbage}/decisions",
            member,
            {"authority": "NE.Defense", "decision": "deny"},
        ),
        ("GET", f"/v1/authorities/{garbage}/queue", member, None),
        ("POST", f"/v1/grants/{garbage}/revoke", member, None),
    ]:
        response = client.request(method, path, headers=headers, json=body)
        assert 400 <= response.status_code < 500, (method, path, response.text)
        assert_problem(response, response.status_code)


@pytest.mark.parametrize(
    "query",
    ["limit=1e999", "limit=-1", "limit=99999999999999999999999", "state=%F0%9F%92%A9", "state="],
)
def test_garbage_queries_are_422(client: TestClient, actors: Actors, query: str) -> None:
    assert_problem(client.get(f"/v1/requests?{query}", headers=actors.operator()), 422)


@pytest.mark.parametrize(
    "authorization",
    ["Bearer", "Bearer ", "Bearer \u00ff\u00fe", "bearer " + "x" * 8000, "Token abc", "\u00e9"],
)
def test_garbage_tokens_are_401(client: TestClient, authorization: str) -> None:
    headers = {b"Authorization": authorization.encode("latin-1")}  # the bytes on the wire
    assert_problem(client.get("/v1/requests", headers=headers), 401)


def test_a_huge_idempotency_key_is_not_a_server_error(client: TestClient, actors: Actors) -> None:
    headers = actors.operator() | {"Idempotency-Key": "k" * 8000}
    response = client.post("/v1/requests", json=document("05"), headers=headers)
    assert response.status_code < 500
