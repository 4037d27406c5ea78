"""The log's HTTP client to witnesses (httpx, keep-alive connections, short timeouts: a
witness that does not answer in ``timeout`` seconds contributes no cosignature this
time; the next checkpoint tries again)."""

from __future__ import annotations

import httpx

from clearance.service.witnessing import WitnessClient, WitnessReply

TIMEOUT = 2.0


class HttpWitnessClient(WitnessClient):
    def __init__(self, timeout: float = TIMEOUT) -> None:
        self._client = httpx.Client(timeout=timeout)

    def add_checkpoint(self, url: str, body: bytes) -> WitnessReply:
        try:
            response = self._client.post(url, content=body)
        except httpx.HTTPError as e:
            return WitnessReply(0, "", f"{type(e).__name__}: {e}")
        return WitnessReply(
            response.status_code, response.headers.get("Content-Type", ""), response.text
        )

    def close(self) -> None:
        self._client.close()
