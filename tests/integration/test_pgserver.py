"""The tests' throwaway PostgreSQL runs with fsync=off (tests/conftest.py): with fsync=on
every commit waited on the disk and stopping the server at the end of a worker's session
took ~30 s (the shutdown checkpoint of every database the worker made)."""

from __future__ import annotations

from tests.pgserver import PostgresServer


def test_the_session_server_does_not_fsync(postgres_server: PostgresServer) -> None:
    assert postgres_server.sql("SHOW fsync") == [("off",)]
    assert postgres_server.sql("SHOW synchronous_commit") == [("on",)]  # WAL still written
