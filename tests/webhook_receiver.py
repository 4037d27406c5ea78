"""A real HTTP receiver of webhooks on loopback (a thread), for tests.

It keeps every request it got (headers lower-cased, body) and answers with the next
status of ``statuses`` (then 204); ``hold`` makes it wait that long before answering (a
delivery caught in flight)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    url: str = ""
    got: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    hold: float = 0.0
    hold_first: float = 0.0  # the first request only: caught in flight
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self) -> int:
        with self.lock:
            return self.statuses.pop(0) if self.statuses else 204

    def wait_for(self, count: int, timeout: float = 60) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.got) >= count:
                    return list(self.got)
            time.sleep(0.05)
        with self.lock:
            return list(self.got)


@contextmanager
def receiving(
    statuses: list[int] | None = None, hold: float = 0.0, hold_first: float = 0.0
) -> Iterator[Receiver]:
    receiver = Receiver(statuses=list(statuses or []), hold=hold, hold_first=hold_first)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            with receiver.lock:
                receiver.got.append(Received({k.lower(): v for k, v in self.headers.items()}, body))
                first = len(receiver.got) == 1
            if receiver.hold or (first and receiver.hold_first):
                time.sleep(receiver.hold_first if first and receiver.hold_first else receiver.hold)
            self.send_response(receiver.answer())
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
