"""Outbound webhooks over HTTP (httpx), signed by the ``standardwebhooks`` library.

A subscriber names the URL, so the sender refuses, unless told otherwise, a URL whose
host is or resolves to an address that is not globally routable (loopback, private,
link-local such as a cloud's metadata service, shared, reserved): a subscription must not
make the server reach into its own network. The check resolves the name just before
sending; a name whose answer changes between the check and httpx's own lookup (DNS
rebinding) is not caught. ``CLEARANCE_WEBHOOK_PRIVATE=1`` allows such addresses, for
receivers on the server's own network (and the tests' receivers on loopback).
"""

from __future__ import annotations

import ipaddress
import socket
from datetime import datetime
from urllib.parse import urlsplit

import httpx
from standardwebhooks import Webhook

from clearance.service.webhooks import Sender

TIMEOUT = 10.0


class HttpSender(Sender):
    def __init__(self, timeout: float = TIMEOUT, *, allow_private: bool = False) -> None:
        # no redirects: a receiver's 3xx is not a delivery (and could point anywhere)
        self._client = httpx.Client(timeout=timeout, follow_redirects=False)
        self.allow_private = allow_private

    def send(self, url: str, secret: str, message_id: str, at: datetime, body: str) -> str | None:
        if not self.allow_private:
            refused = not_global(url)
            if refused is not None:
                return refused
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


def not_global(url: str) -> str | None:
    """Why ``url`` must not be sent to (its host is, or resolves to, an address that is
    not globally routable, or does not resolve); None when every address is global."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, ValueError, UnicodeError) as e:
        return f"refused: {host!r} does not resolve ({e})"
    for *_, address in found:
        ip = ipaddress.ip_address(str(address[0]).split("%")[0])
        if not ip.is_global:
            return (
                f"refused: {host} is {ip}, not a globally routable address; "
                "CLEARANCE_WEBHOOK_PRIVATE=1 allows receivers on private networks"
            )
    return None
