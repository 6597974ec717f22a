"""Real HTTP servers on loopback addresses (127.0.0.0/8 is all loopback on Linux, so 127.0.0.2 is another host).

Each server answers GETs from a table of routes and records every path it was asked for, so a test can tell
that a refused fetch never reached it. Use from a conftest:
``from tests.support.http_servers import http_servers  # noqa: F401 - fixture re-export``
"""
from __future__ import annotations

import http.server
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class LoopbackServer:
    host: str
    port: int
    routes: dict[str, Route]
    hits: list[str]

    @property
    def base(self) -> str:
        return f"http://{'[' + self.host + ']' if ':' in self.host else self.host}:{self.port}"

    def url(self, path: str) -> str:
        return self.base + path


def _handler(routes: dict[str, Route], hits: list[str]) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # the http.server API names it
            hits.append(self.path)
            route = routes.get(self.path, Route(404, "không có".encode()))
            self.send_response(route.status)
            for name, value in {"Content-Length": str(len(route.body)), **route.headers}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(route.body)

        def log_message(self, *args) -> None:
            pass

    return Handler


class _Server(http.server.ThreadingHTTPServer):
    def __init__(self, host: str, handler) -> None:
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        super().__init__((host, 0), handler)


@pytest.fixture
def http_servers() -> Iterator[Callable[..., LoopbackServer]]:
    """A factory: http_servers("127.0.0.2", {"/a.mp3": Route(body=...)}) -> a started server, stopped at teardown."""
    started: list[_Server] = []

    def start(host: str = "127.0.0.1", routes: dict[str, Route] | None = None) -> LoopbackServer:
        routes, hits = dict(routes or {}), []
        server = _Server(host, _handler(routes, hits))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        started.append(server)
        return LoopbackServer(host, server.server_address[1], routes, hits)

    yield start
    for server in started:
        server.shutdown()
        server.server_close()


def silent_port(host: str = "127.0.0.1") -> tuple[socket.socket, int]:
    """A listening socket that never answers: connections are accepted by the kernel and then hang."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.bind((host, 0))
    sock.listen(8)
    return sock, sock.getsockname()[1]


def closed_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on (bound and released; nobody else on this test host takes it in between)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]
