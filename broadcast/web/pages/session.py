"""Cookie sessions of the web pages, their CSRF tokens, and how pages answer errors.

The session cookie holds the access token the login service issues; every page checks it with the same session
service as the API's bearer dependency, so revocation (logout, password change, disabled account) and
authorization stay in one place. A page past half the token's life gets a fresh one (`sliding_session`). The
cookie is HttpOnly and SameSite=Lax, Secure behind an https public URL.

CSRF: each form carries HMAC(nonce, session cookie), the nonce being a random HttpOnly SameSite=Strict cookie. A
cross-site page can read neither cookie, so it cannot make the token; and the token changes with the session, so
one from before a sign-in is no good after it.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from datetime import timedelta
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request, Response
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute

from broadcast.bootstrap import Container
from broadcast.domain.auth import Principal
from broadcast.domain.errors import DomainError, PermissionDenied, Unauthenticated
from broadcast.services.context import Actor
from broadcast.services.sessions import sliding_session
from broadcast.web.deps import ContainerDep, UowDep, client_address

SESSION_COOKIE = "loaxa_session"
CSRF_COOKIE = "loaxa_csrf"
FLASH_COOKIE = "loaxa_flash"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
LOGIN_PATH = "/dang-nhap"
CSRF_REFUSED = "Biểu mẫu đã hết hạn hoặc không hợp lệ. Vui lòng tải lại trang rồi thử lại."


def secure(container: Container) -> bool:
    return container.settings.public_url.startswith("https://")


def _nonce(request: Request) -> str:
    """The CSRF nonce of this browser, or a new one that the page response will set."""
    nonce = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "new_csrf_nonce", None)
    if not nonce:
        nonce = request.state.new_csrf_nonce = secrets.token_urlsafe(32)
    return nonce


def csrf_token(request: Request) -> str:
    session = request.cookies.get(SESSION_COOKIE, "")
    digest = hmac.new(_nonce(request).encode(), b"loaxa-csrf|" + session.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


async def require_csrf(request: Request) -> None:
    """A dependency of every page that changes something: the form field (or htmx header) must match."""
    given = request.headers.get(CSRF_HEADER)
    if given is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        value = (await request.form()).get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    if not (request.cookies.get(CSRF_COOKIE) and given and hmac.compare_digest(given, csrf_token(request))):
        raise PermissionDenied(CSRF_REFUSED, code="csrf_failed")


CsrfChecked = Depends(require_csrf)


def set_session(response: Response, container: Container, token: str) -> None:
    """A browser-session cookie: the token's own expiry ends it on the server, and the cookie outliving the token
    lets the page say why the user must sign in again."""
    response.set_cookie(SESSION_COOKIE, token, path="/", httponly=True, samesite="lax", secure=secure(container))


def end_session(response: Response, container: Container) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=secure(container))


def set_csrf_nonce(request: Request, response: Response, container: Container) -> None:
    nonce = getattr(request.state, "new_csrf_nonce", None)
    if nonce and not request.cookies.get(CSRF_COOKIE):
        response.set_cookie(CSRF_COOKIE, nonce, path="/", httponly=True, samesite="strict", secure=secure(container))


def flash(response: Response, container: Container, message: str, kind: str = "info") -> None:
    """A message for the next page the browser shows (after a redirect)."""
    value = base64.urlsafe_b64encode(json.dumps({"kind": kind, "message": message}).encode()).decode()
    response.set_cookie(FLASH_COOKIE, value, max_age=120, path="/", httponly=True, samesite="lax",
                        secure=secure(container))


def read_flash(request: Request) -> dict | None:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(raw.encode()))
        kind, message = value["kind"], value["message"]
    except (ValueError, KeyError, TypeError):
        return None
    if kind not in ("info", "ok", "error") or not isinstance(message, str):
        return None
    return {"kind": kind, "message": message[:300]}


def local_path(value: str | None) -> str:
    """Where to go after signing in: a path of this site only (never //host or a scheme)."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return "/"
    return value


def redirect(request: Request, url: str) -> Response:
    """303 for a page; for htmx (a panel refreshing itself) the whole window goes, not the panel."""
    if request.headers.get("hx-request") == "true":
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def to_login(request: Request, container: Container, message: str | None) -> Response:
    wanted = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    target = LOGIN_PATH if request.method != "GET" or wanted == "/" else f"{LOGIN_PATH}?tiep={quote(wanted)}"
    response = redirect(request, target)
    end_session(response, container)
    if message:
        flash(response, container, message, "error")
    return response


class LoginRequired(Unauthenticated):
    """No session cookie at all: go to the login page without an error message."""


def page_principal(request: Request, container: ContainerDep, uow: UowDep) -> Principal:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise LoginRequired("", code="login_required")
    # Renewed once half the token's life is gone: PageRoute sets the new cookie on whatever the page answers.
    half = timedelta(minutes=container.settings.token_ttl_minutes / 2)
    principal, fresh = sliding_session(uow, container.clock, container.tokens, token, renew_below=half)
    request.state.principal = principal
    request.state.renewed_session = fresh
    return principal


PagePrincipal = Annotated[Principal, Depends(page_principal)]


def page_actor(request: Request, principal: PagePrincipal) -> Actor:
    return Actor(principal, client_address(request))


PageActor = Annotated[Actor, Depends(page_actor)]


class PageRoute(APIRoute):
    """Pages answer in HTML: an ended session goes to the login page with the reason, other domain errors render
    the error page with the status the API would give."""

    def get_route_handler(self):
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            container = request.app.state.container
            try:
                response = await handler(request)
                if fresh := getattr(request.state, "renewed_session", None):
                    set_session(response, container, fresh)
                return response
            except Unauthenticated as exc:
                return to_login(request, container, None if isinstance(exc, LoginRequired) else exc.message)
            except DomainError as exc:
                return request.app.state.pages.error(request, exc)

        return page_handler
