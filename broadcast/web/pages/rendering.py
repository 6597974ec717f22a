"""Rendering pages: the Jinja2 environment (Vietnamese date filters, asset addresses), compressed HTML and the
headers every page carries (a strict Content-Security-Policy: nothing but this server, no inline script)."""
from __future__ import annotations

from functools import partial
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi import Request, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.routing import NoMatchFound

from broadcast.bootstrap import Container
from broadcast.domain.auth import Principal
from broadcast.domain.errors import DomainError
from broadcast.services.alerts import count_open
from broadcast.web.assets import AssetStore, accepts_gzip, gzipped
from broadcast.web.errors import status_for
from broadcast.web.pages import session
from broadcast.web.pages.formatting import local_format
from broadcast.web.pages.navigation import MENU, ROLE_LABELS_VI, navigation

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
       "connect-src 'self'; media-src 'self' blob:; object-src 'none'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")
PAGE_HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
                "Referrer-Policy": "same-origin", "Cache-Control": "no-store", "Vary": "Accept-Encoding, Cookie"}
MIN_GZIP_BYTES = 512


def page_headers(tile_origin: str) -> dict[str, str]:
    """PAGE_HEADERS, the CSP admitting the device map's tile host when one is configured."""
    if not tile_origin:
        return PAGE_HEADERS
    return {**PAGE_HEADERS, "Content-Security-Policy": CSP.replace("img-src 'self' data:",
                                                                   f"img-src 'self' data: {tile_origin}")}


class Pages:
    def __init__(self, container: Container, assets: AssetStore):
        self.container = container
        self.headers = page_headers(container.settings.map_tile_origin)
        tz = ZoneInfo(container.settings.timezone)
        self.env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True),
                               undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
        for style in ("date", "time", "datetime", "long"):
            self.env.filters[style] = partial(_format, tz=tz, style=style)
        zone = container.settings.timezone
        self.env.globals.update(asset=assets.url, role_label=ROLE_LABELS_VI.get,
                                time_zone="giờ Việt Nam (UTC+7)" if zone == "Asia/Ho_Chi_Minh" else zone)
        self._menu_paths: dict[str, str] | None = None

    def menu_paths(self, request: Request) -> dict[str, str]:
        """Route name -> path of the menu's pages this app serves: the menu links only pages that exist."""
        if self._menu_paths is None:
            found = {}
            for item in MENU:
                try:
                    found[item.route] = request.app.url_path_for(item.route)
                except NoMatchFound:
                    pass
            self._menu_paths = found
        return self._menu_paths

    def render(self, request: Request, template: str, *, status: int = 200, **context: object) -> Response:
        principal = context.pop("principal", None) or getattr(request.state, "principal", None)
        menu = []
        if isinstance(principal, Principal):
            badges = {"alerts": count_open(self.container.uow(), principal)}  # one indexed count per page
            menu = navigation(principal, self.menu_paths(request), badges)
        html = self.env.get_template(template).render(
            request=request, principal=principal, csrf_token=session.csrf_token(request), menu=menu,
            alerts_open=sum(link.badge for link in menu),
            flash=session.read_flash(request), current=request.url.path, **context)
        response = self.html(request, html, status, self.headers)
        session.set_csrf_nonce(request, response, self.container)
        if request.cookies.get(session.FLASH_COOKIE):
            response.delete_cookie(session.FLASH_COOKIE, path="/")
        return response

    @staticmethod
    def html(request: Request, html: str, status: int = 200, base_headers: dict[str, str] = PAGE_HEADERS) -> Response:
        body, headers = html.encode(), dict(base_headers)
        if len(body) >= MIN_GZIP_BYTES and accepts_gzip(request):
            body, headers["Content-Encoding"] = gzipped(body), "gzip"
        return Response(body, status_code=status, media_type="text/html; charset=utf-8", headers=headers)

    def error(self, request: Request, exc: DomainError) -> Response:
        return self.render(request, "error.html", status=status_for(exc), message=exc.message)


def _format(value, *, tz, style: str) -> str:
    return local_format(value, tz, style)
