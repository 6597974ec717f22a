"""A webhook receiver on a free loopback port that can be down (answering 503) and up again, keeping what it took."""
from __future__ import annotations

import json
import threading
from collections.abc import Iterator
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

    def events(self) -> list[dict]:
        with self.lock:
            return [r["json"] for r in self.received]

    def verified(self, secret: str) -> bool:
        """Every accepted delivery carries a valid signature of its timestamp and body."""
        with self.lock:
            return all(r["signature"] == sign(secret, r["timestamp"], r["body"]) for r in self.received)


@pytest.fixture
def webhook_receiver() -> Iterator[Receiver]:
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

        def log_message(self, *args) -> None:  # noqa: ANN002 - quiet
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
