"""A monitor's HTTP client to a Clearance log (httpx): the latest checkpoint, consistency
proofs and pages of entries, from the API's ``/v1/audit/...`` routes.

Whatever the log answers is checked by the monitor, so this client only turns answers
into values: an answer that is not what the route promises is an
:class:`~clearance.domain.errors.AuditError` naming the route (exit 1: the log misbehaves
or cannot be reached); a token refused is an :class:`InputError` on ``--token`` (exit 2).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Any

import httpx

from clearance.domain.errors import AuditError, InputError
from clearance.domain.ledger.policy import Policy
from clearance.service.monitor import LogClient

TIMEOUT = 30.0
PAGE = 1000  # entries per request (the API's maximum)


class HttpLogClient(LogClient):
    """``base`` is the log's URL (``http://host:port``); ``client`` may be given (a test's
    ASGI client), else one is made and closed by :meth:`close`."""

    def __init__(self, base: str, token: str | None = None, client: httpx.Client | None = None):
        self.base = base.rstrip("/")
        self.source = self.base or "log"
        self._own = client is None
        self._client = client if client is not None else httpx.Client(timeout=TIMEOUT)
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}

    def close(self) -> None:
        if self._own:
            self._client.close()

    def _get(self, path: str, **params: int) -> httpx.Response:
        url = f"{self.base}{path}"
        try:
            response = self._client.get(url, params=params, headers=self._headers)
        except httpx.HTTPError as e:
            raise AuditError(f"cannot read {url}: {type(e).__name__}: {e}") from None
        if response.status_code in (401, 403):
            raise InputError(
                f"{url} refused the token ({response.status_code}): the entries need a "
                "principal's token (--token-file FILE, or --token)",
                field="--token",
            )
        if response.status_code != 200:
            raise AuditError(f"{url} answered {response.status_code}: {response.text[:200]}")
        return response

    def _json(self, path: str, **params: int) -> dict[str, Any]:
        try:
            value = self._get(path, **params).json()
        except ValueError:
            raise AuditError(f"{self.base}{path} did not answer JSON") from None
        if not isinstance(value, dict):
            raise AuditError(f"{self.base}{path} did not answer a JSON object")
        return value

    def checkpoint(self) -> str:
        return self._get("/v1/audit/checkpoint").text

    def consistency(self, size1: int, size2: int) -> list[bytes]:
        proof = self._json("/v1/audit/consistency", **{"from": size1, "to": size2}).get("proof")
        if not isinstance(proof, list):
            raise AuditError(f"{self.base}/v1/audit/consistency answered no proof list")
        return [_b64(h, "a consistency proof hash") for h in proof]

    def entries(self, start: int, stop: int) -> list[tuple[int, bytes]]:
        found: list[tuple[int, bytes]] = []
        while start + len(found) < stop:
            at = start + len(found)
            page = self._json("/v1/audit/entries", limit=min(PAGE, stop - at), **{"from": at})
            rows = page.get("entries")
            if not isinstance(rows, list) or not rows:
                raise AuditError(f"log index {at}: {self.base} served no entry")
            for row in rows:
                if not isinstance(row, dict) or not isinstance(row.get("index"), int):
                    raise AuditError(f"log index {at}: {self.base} served a malformed entry")
                found.append((row["index"], _b64(row.get("data"), f"log index {row['index']}")))
            if found[-1][0] != start + len(found) - 1:
                raise AuditError(
                    f"log index {at}: {self.base} served entries out of order or with gaps"
                )
        return found[: stop - start]


def _b64(value: object, what: str) -> bytes:
    if not isinstance(value, str):
        raise AuditError(f"{what} is not base64 text")
    try:
        return base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as e:
        raise AuditError(f"{what} is not base64: {e}") from None


def witness_checkpoints(
    policy: Policy, client: httpx.Client | None = None
) -> tuple[list[tuple[str, str]], list[str]]:
    """What each witness of ``policy`` with a URL last cosigned for each of its logs
    (tlog-witness ``GET /<sha256 hex of the origin>/checkpoint``), as (``witness NAME``,
    note); and a line for each witness that could not be read (it is not required: the
    checkpoints are compared for a split view, the quorum is checked on the log's)."""
    own = client is None
    http = client if client is not None else httpx.Client(timeout=TIMEOUT)
    found: list[tuple[str, str]] = []
    problems: list[str] = []
    try:
        for name, witness in policy.witnesses.items():
            if not witness.url:
                continue
            for log in policy.logs:
                origin = hashlib.sha256(log.name.encode("utf-8")).hexdigest()
                url = f"{witness.url.rstrip('/')}/{origin}/checkpoint"
                try:
                    response = http.get(url)
                except httpx.HTTPError as e:
                    problems.append(f"witness {name}: cannot read {url}: {type(e).__name__}")
                    continue
                if response.status_code == 200:
                    found.append((f"witness {name}", response.text))
                elif response.status_code != 404:  # 404: it holds nothing of that log yet
                    problems.append(f"witness {name}: {url} answered {response.status_code}")
    finally:
        if own:
            http.close()
    return found, problems
