"""A database that cannot be reached is a 503 problem with Retry-After (the client retries
what was not acknowledged), never a 500; any other driver error stays a 500."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.exc import IntegrityError, OperationalError

from clearance.api import problems


def app_raising(error: Exception) -> TestClient:
    app = FastAPI()
    problems.install(app, max_body_bytes=1024)

    @app.get("/boom")
    def boom() -> None:
        raise error

    return TestClient(app, raise_server_exceptions=False)


def test_an_unreachable_database_is_a_503_problem_with_retry_after() -> None:
    refused = OperationalError("SELECT 1", {}, Exception("connection refused"))
    r = app_raising(refused).get("/boom")
    assert r.status_code == 503
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.headers["retry-after"] == "2"
    assert r.json()["title"] == "Database unavailable"


def test_another_driver_error_is_not_dressed_up_as_unavailable() -> None:
    broken = IntegrityError("INSERT", {}, Exception("duplicate key"))
    r = app_raising(broken).get("/boom")
    assert r.status_code == 500
