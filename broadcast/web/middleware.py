"""ASGI middleware: the bearer token before the body, request body limits, request metrics."""
from __future__ import annotations

import time
from collections.abc import Mapping

from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from broadcast.adapters.metrics import Metrics
from broadcast.bootstrap import Container
from broadcast.domain.errors import DomainError, Unauthenticated
from broadcast.web.errors import HTTP_MESSAGES_VI, domain_error_response, error_response


def bearer_token(scope: Scope) -> str | None:
    """The token of an `Authorization: Bearer` header, as OAuth2PasswordBearer reads it."""
    for name, value in scope.get("headers") or ():
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
            return None
    return None


class AuthGateMiddleware:
    """Check the bearer token (signature and expiry) before anything reads the body.

    FastAPI reads and parses a body before it solves the route's dependencies, so without this an anonymous
    client could make the server take in megabytes only to be told 401. Every path under `prefix` needs a
    token except the `public` (method, path) pairs; the route's dependency still does the full check.
    """

    def __init__(self, app: ASGIApp, *, prefix: str, public: frozenset[tuple[str, str]], container: Container):
        self.app = app
        self.prefix = prefix
        self.public = public
        self.container = container

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(self.prefix + "/") and \
                (scope["method"], scope["path"]) not in self.public:
            token = bearer_token(scope)
            try:
                if token is None:
                    raise Unauthenticated(HTTP_MESSAGES_VI[401][1], code=HTTP_MESSAGES_VI[401][0])
                self.container.tokens.read(token, now=self.container.clock.now())
            except DomainError as exc:
                await domain_error_response(exc)(scope, receive, send)
                return
        await self.app(scope, receive, send)


class BodyLimits:
    """The body limit of each request: a default, and exceptions by (method, path template)."""

    def __init__(self, default: int, routes: Mapping[tuple[str, str], int]):
        self.default = default
        self.routes = [(method, compile_path(template)[0], limit) for (method, template), limit in routes.items()]

    def __call__(self, method: str, path: str) -> int:
        return next((limit for m, regex, limit in self.routes if m == method and regex.match(path)), self.default)


class BodyTooLarge(Exception):
    pass


class BodyLimitMiddleware:
    """Refuse bodies over the route's limit with 413, whether announced by Content-Length or streamed."""

    def __init__(self, app: ASGIApp, limits: BodyLimits):
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limits(scope["method"], scope["path"])
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._reject(scope, receive, send)
            return
        received = 0
        cut = False
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received, cut
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    cut = True
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if cut and not response_started:
                return  # FastAPI answers a failed body read with 400; the answer is 413
            response_started = response_started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            pass
        if cut and not response_started:
            await self._reject(scope, receive, send)

    @staticmethod
    async def _reject(scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(413, "payload_too_large", "Dữ liệu gửi lên quá lớn.")
        await response(scope, receive, send)


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics):
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        started = time.perf_counter()

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", "unmatched")
            method = scope["method"]
            self.metrics.http_requests.labels(method, template, str(status)).inc()
            self.metrics.http_latency.labels(method, template).observe(time.perf_counter() - started)
