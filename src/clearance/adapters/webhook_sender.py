"""Outbound webhooks over HTTP (httpx), signed by the ``standardwebhooks`` library."""

from __future__ import annotations

from datetime import datetime

import httpx
from standardwebhooks import Webhook

from clearance.service.webhooks import Sender

TIMEOUT = 10.0


class HttpSender(Sender):
    def __init__(self, timeout: float = TIMEOUT) -> None:
        # no redirects: a receiver's 3xx is not a delivery
        self._client = httpx.Client(timeout=timeout, follow_redirects=False)

    def send(self, url: str, secret: str, message_id: str, at: datetime, body: str) -> str | None:
        signature = Webhook(secret).sign(message_id, at, body)
        headers = {
            "content-type": "application/json",
            "webhook-id": message_id,
            "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": signature,
        }
        try:
            response = self._client.post(url, content=body.encode(), headers=headers)
        except httpx.HTTPError as e:
            return f"{type(e).__name__}: {e}"
        if not 200 <= response.status_code < 300:
            return f"HTTP {response.status_code}: {response.text[:200]}"
        return None

    def close(self) -> None:
        self._client.close()
