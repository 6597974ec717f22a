"""Nothing is loaded from the internet: every page and file the browser loads comes from this server, /docs too."""
from __future__ import annotations

import gzip
import re
from urllib.parse import urlsplit

import pytest

from broadcast.web.assets import VENDOR
from tests.support.app import HOAN_KIEM, add_user
from tests.support.web import links_of, sign_in

pytestmark = pytest.mark.integration
ABSOLUTE = re.compile(r"""(?:https?:)?//[^\s"'()<>]+""", re.IGNORECASE)
CSS_URL = re.compile(r"""url\(\s*['"]?([^'")]+)""")
SVG_NAMESPACE = "http://www.w3.org/2000/svg"  # a name, never fetched


def external_urls(text: str) -> list[str]:
    """Absolute addresses to another host (protocol-relative ones too)."""
    found = []
    for match in ABSOLUTE.findall(text.replace(SVG_NAMESPACE, "")):
        host = urlsplit(match if "//" in match[:8] else "http:" + match).hostname
        if host not in ("testserver", "127.0.0.1", "localhost"):
            found.append(match)
    return found


def load_everything(client, path: str) -> dict[str, str]:
    """The page and every file it references (and those its CSS references): address -> media type."""
    page = client.get(path)
    assert page.status_code == 200, (path, page.status_code)
    assert external_urls(page.text) == [], path
    loaded = {path: page.headers["content-type"]}
    queue = [value for tag, attr, value in links_of(page.text) if (tag, attr) != ("a", "href") and attr != "action"
             and not attr.startswith("hx-")]
    while queue:
        url = queue.pop()
        if url in loaded:
            continue
        answer = client.get(url)
        assert answer.status_code == 200, (path, url, answer.status_code)
        loaded[url] = answer.headers["content-type"]
        if loaded[url].startswith("text/css"):
            assert external_urls(answer.text) == [], url
            queue += [u for u in CSS_URL.findall(answer.text) if not u.startswith("data:")]
    return loaded


def test_every_page_and_asset_is_served_here(container, client):
    add_user(container, "can-bo-vh", "editor", HOAN_KIEM)
    login_files = load_everything(client, "/dang-nhap")
    assert any(u.startswith("/static/vendor/htmx.min.js") for u in login_files)
    assert any("/fonts/vietnamese-400.woff2" in u for u in login_files)  # the Vietnamese glyphs
    sign_in(client, "can-bo-vh")
    for path in ("/", "/doi-mat-khau", "/trang-chu/bang-tin"):
        load_everything(client, path)


def test_files_with_their_hash_are_cached_for_a_year_and_compressed(client):
    page = client.get("/dang-nhap").text
    css = next(value for tag, attr, value in links_of(page) if value.startswith("/static/app.css"))
    assert "?v=" in css
    answer = client.get(css, headers={"Accept-Encoding": "gzip"})
    assert answer.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert answer.headers["content-type"] == "text/css; charset=utf-8" and answer.headers["content-encoding"] == "gzip"
    unversioned = client.get("/static/app.css")
    assert "immutable" not in unversioned.headers["cache-control"]
    assert client.get(css, headers={"If-None-Match": answer.headers["etag"]}).status_code == 304


def test_only_the_listed_front_end_files_are_reachable(client):
    assert client.get("/static/vendor/htmx.min.js").status_code == 200
    for path in ("/static/vendor/../../pyproject.toml", "/static/vendor/htmx.org/package.json",
                 "/static/vendor/axe-core/axe.min.js", "/static/../settings.py",
                 "/static/vendor/leaflet/leaflet.js.map"):
        assert client.get(path).status_code == 404, path
    assert all(".." not in relative for relative in VENDOR.values())


def test_docs_use_only_local_assets(client):
    docs = client.get("/docs")
    assert docs.status_code == 200 and "swagger-ui" in docs.text
    assert external_urls(docs.text) == []
    assets = [value for _tag, _attr, value in links_of(docs.text)]
    assert any(u.startswith("/static/vendor/swagger-ui/swagger-ui-bundle.js") for u in assets)
    for url in assets:
        assert client.get(url).status_code == 200, url
    assert "validatorUrl" in docs.text  # the public validator badge would call out
    assert client.get("/api/v1/openapi.json").status_code == 200


def test_pages_are_compressed_for_slow_links(container, client):
    page = client.get("/dang-nhap", headers={"Accept-Encoding": "gzip"})
    assert page.headers.get("content-encoding") == "gzip"
    raw = client.get("/dang-nhap", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in raw.headers
    assert len(gzip.compress(raw.content)) < len(raw.content)
