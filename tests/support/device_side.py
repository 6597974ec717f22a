"""The device side of integration tests (gateway, broker, simulator): a media server, the signing key, a server end
that publishes and records acks, over a real mosquitto. The conftests of the folders that need them re-export these."""

from __future__ import annotations

import asyncio
import hashlib
import math
import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from broadcast import protocol as p
from tests.support.broker import Broker, MqttProbe, anon_broker, broker_factory  # noqa: F401 - fixture re-export


@dataclass
class MediaServer:
    """Tiny stdlib HTTP server: GET /media/<name> -> bytes, counting requests."""

    base_url: str
    files: dict[str, bytes]
    hits: dict[str, int] = field(default_factory=dict)

    def add(self, name: str, data: bytes) -> str:
        self.files[name] = data
        return f"{self.base_url}/media/{name}"


@pytest.fixture
def media_server() -> Iterator[MediaServer]:
    files: dict[str, bytes] = {}
    hits: dict[str, int] = {}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            name = self.path.rsplit("/", 1)[-1]
            with lock:
                hits[name] = hits.get(name, 0) + 1
            data = files.get(name)
            if data is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("ETag", hashlib.sha256(data).hexdigest())
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield MediaServer(f"http://127.0.0.1:{server.server_address[1]}", files, hits)
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def signing_key():
    return p.generate_private_key()


@dataclass
class ServerSide:
    """What the central server does, reduced to signing and publishing."""

    broker: Broker
    key: Any
    probe: MqttProbe
    topics: p.Topics = field(default_factory=p.Topics)

    def publish_schedule(self, doc: dict, *, key: Any = None, raw: bytes | None = None) -> None:
        payload = raw if raw is not None else p.encode(p.sign(doc, key or self.key))
        self.probe.publish(self.topics.schedule(doc["device_id"]), payload, retain=True)

    def publish_command(self, topic: str, doc: dict, *, key: Any = None) -> None:
        self.probe.publish(topic, p.encode(p.sign(doc, key or self.key)))

    def acks(self, device_id: str | None = None) -> list[dict]:
        import json

        out = []
        for _topic, payload, _ in self.probe.snapshot(lambda t: t.endswith("/ack")):
            try:
                doc = json.loads(payload)
            except ValueError:
                continue
            if device_id is None or doc.get("device_id") == device_id:
                out.append(doc)
        return out

    def stages(self, device_id: str, ref: dict) -> list[str]:
        return [a["stage"] for a in self.acks(device_id) if a.get("ref") == ref]


@pytest.fixture
def server_factory(broker_factory, signing_key) -> Iterator[Callable[..., ServerSide]]:  # noqa: F811
    """make(device_ids) -> ServerSide on a fresh ACL broker with those devices (password = 'pw-<id>')."""
    made: list[ServerSide] = []

    def make(device_ids: list[str], **broker_kwargs: Any) -> ServerSide:
        broker = broker_factory(devices=[(d, f"pw-{d}") for d in device_ids], **broker_kwargs)
        probe = MqttProbe.as_server(broker).connect()
        probe.subscribe(p.Topics(broker.prefix).everything)
        side = ServerSide(broker, signing_key, probe, p.Topics(broker.prefix))
        made.append(side)
        return side

    yield make
    for side in made:
        side.probe.close()


def rfc(epoch: float) -> str:
    return p.epoch_to_rfc3339(epoch)


def future_window(now: float, start_in: float, length: float) -> tuple[str, str]:
    """A second-aligned [start, end) starting at least `start_in` sim seconds from now."""
    start = math.ceil(now + start_in)
    return rfc(start), rfc(start + length)


def run(coro: Any, timeout: float = 60.0) -> Any:
    return asyncio.run(asyncio.wait_for(coro, timeout))


@pytest.fixture
def helpers():
    return type("Helpers", (), {"rfc": staticmethod(rfc), "window": staticmethod(future_window),
                                "run": staticmethod(run), "token": staticmethod(lambda: secrets.token_hex(6))})
