"""Everything a browser loads comes from this server (provincial networks are often closed): the front-end libraries
installed by `npm ci` in frontend/ (an explicit allow-list; nothing else under node_modules is reachable), the app's
own files in broadcast/web/static/, and /docs on the local Swagger UI."""
from __future__ import annotations

import gzip
import hashlib
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response
from starlette.exceptions import HTTPException

log = logging.getLogger(__name__)

CHECKOUT_MODULES = Path(__file__).resolve().parents[2] / "frontend" / "node_modules"
OWN_STATIC = Path(__file__).resolve().parent / "static"
FONT = "@fontsource/be-vietnam-pro/files/be-vietnam-pro"
LEAFLET_IMAGES = ("layers.png", "layers-2x.png", "marker-icon.png", "marker-icon-2x.png", "marker-shadow.png")

# URL under /static/vendor/ -> file under node_modules.
VENDOR = {
    "htmx.min.js": "htmx.org/dist/htmx.min.js",
    "leaflet/leaflet.js": "leaflet/dist/leaflet.js",
    "leaflet/leaflet.css": "leaflet/dist/leaflet.css",
    **{f"leaflet/images/{name}": f"leaflet/dist/images/{name}" for name in LEAFLET_IMAGES},
    "swagger-ui/swagger-ui-bundle.js": "swagger-ui-dist/swagger-ui-bundle.js",
    "swagger-ui/swagger-ui.css": "swagger-ui-dist/swagger-ui.css",
    "swagger-ui/favicon-32x32.png": "swagger-ui-dist/favicon-32x32.png",
    # Latin and Vietnamese subsets (app.css names them with their unicode ranges), regular and bold, woff2 only.
    **{f"fonts/{subset}-{weight}.woff2": f"{FONT}-{subset}-{weight}-normal.woff2"
       for subset in ("latin", "vietnamese") for weight in (400, 700)},
}
MEDIA_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".png": "image/png",
               ".svg": "image/svg+xml", ".woff2": "font/woff2"}
COMPRESSIBLE = (".js", ".css", ".svg")
FOREVER = "public, max-age=31536000, immutable"  # the URL carries the content's hash (?v=)
BRIEFLY = "public, max-age=300"  # an URL without the current hash


@dataclass(frozen=True)
class Asset:
    body: bytes
    gzipped: bytes | None
    media_type: str
    version: str


def gzipped(body: bytes) -> bytes:
    return gzip.compress(body, compresslevel=6, mtime=0)


def accepts_gzip(request: Request) -> bool:
    return "gzip" in request.headers.get("accept-encoding", "").lower()


class AssetStore:
    """Files by URL name, read and compressed once on first use."""

    def __init__(self, modules_dir: Path, own_dir: Path = OWN_STATIC):
        self.files = {f"vendor/{name}": modules_dir / relative for name, relative in VENDOR.items()}
        self.files.update({p.name: p for p in sorted(own_dir.iterdir()) if p.suffix in MEDIA_TYPES})
        self._loaded: dict[str, Asset] = {}
        self._lock = threading.Lock()

    def missing(self) -> list[str]:
        return [name for name, path in self.files.items() if not path.is_file()]

    def get(self, name: str) -> Asset | None:
        path = self.files.get(name)
        if path is None:
            return None
        with self._lock:
            if name not in self._loaded:
                try:
                    body = path.read_bytes()
                except OSError:
                    return None
                self._loaded[name] = Asset(body, gzipped(body) if path.suffix in COMPRESSIBLE else None,
                                           MEDIA_TYPES[path.suffix], hashlib.sha256(body).hexdigest()[:12])
            return self._loaded[name]

    def url(self, name: str) -> str:
        """The asset's address with its content hash, so browsers may keep it for a year (a missing file, logged at
        start-up, keeps a plain address: the page still renders)."""
        asset = self.get(name)
        return f"/static/{name}" if asset is None else f"/static/{name}?v={asset.version}"


def install_assets(app: FastAPI, modules_dir: Path | None) -> AssetStore:
    store = AssetStore(modules_dir or CHECKOUT_MODULES)
    if missing := store.missing():
        log.warning("front-end files missing (run scripts/bootstrap.sh or `npm ci` in frontend/): %s",
                    ", ".join(missing))
    app.state.assets = store

    @app.api_route("/static/{name:path}", methods=["GET", "HEAD"], include_in_schema=False)
    def static_file(name: str, request: Request) -> Response:
        asset = store.get(name)
        if asset is None:
            raise HTTPException(404)
        current = request.query_params.get("v") == asset.version
        headers = {"Cache-Control": FOREVER if current else BRIEFLY, "ETag": f'"{asset.version}"',
                   "X-Content-Type-Options": "nosniff", "Vary": "Accept-Encoding"}
        body = asset.body
        if asset.gzipped is not None and accepts_gzip(request):
            body, headers["Content-Encoding"] = asset.gzipped, "gzip"
        if request.headers.get("if-none-match") == headers["ETag"]:
            return Response(status_code=304, headers=headers)
        return Response(body, media_type=asset.media_type, headers=headers)

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "", title="LoaXa — mô tả API",
            swagger_js_url=store.url("vendor/swagger-ui/swagger-ui-bundle.js"),
            swagger_css_url=store.url("vendor/swagger-ui/swagger-ui.css"),
            swagger_favicon_url=store.url("vendor/swagger-ui/favicon-32x32.png"),
            swagger_ui_parameters={"validatorUrl": None})  # the public validator badge would call out

    return store
