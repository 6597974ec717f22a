"""A webhook receiver on a free loopback port that can be down, answering 503 (`up = False`) or stopped altogether
(`stop()`: connections refused) and started again on the same port, keeping what it took."""
from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from broadcast.domain.notifications import EVENT_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign


@dataclass
class Receiver:
    url: str
    up: bool = True
    received: list[dict] = field(default_factory=list)  # headers and JSON of each accepted POST, in order
    refused: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None
    handler: type[BaseHTTPRequestHandler] | None = None
    port: int = 0

    def start(self) -> None:
        """Listen (again) on the receiver's port."""
        assert self.handler is not None and self.server is None
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), self.handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """Close the listening socket: the sender finds nobody there."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def events(self) -> list[dict]:
        with self.lock:
            return [r["json"] for r in self.received]

    def verified(self, secret: str) -> bool:
        """Every accepted delivery carries a valid signature of its timestamp and body."""
        with self.lock:
            return all(r["signature"] == sign(secret, r["timestamp"], r["body"]) for r in self.received)


@pytest.fixture
def webhook_receiver() -> Iterator[Receiver]:
    with receiving() as receiver:
        yield receiver


@contextmanager
def receiving() -> Iterator[Receiver]:
    """A receiver listening until the block ends (the fixture's; tests that need several call it)."""
    receiver = Receiver("")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's hook
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with receiver.lock:
                if not receiver.up:
                    receiver.refused += 1
                    self.send_response(503)
                    self.end_headers()
                    return
                receiver.received.append({"body": body, "json": json.loads(body),
                                          "event": self.headers.get(EVENT_HEADER),
                                          "timestamp": self.headers.get(TIMESTAMP_HEADER),
                                          "signature": self.headers.get(SIGNATURE_HEADER)})
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args) -> None:  # noqa: ANN002
            """Quiet: http.server would print every request to stderr."""

    receiver.handler = Handler
    receiver.start()
    try:
        yield receiver
    finally:
        receiver.stop()
