"""The web pages in a real browser: Debian's Chromium driven by Playwright against a real `loaxa serve` on a free
loopback port. Shared by every browser test: start a site over a seeded database, watch what a tab loads, and check
a page the way the issue's quality bars say (360 px without horizontal scroll, axe-core finds nothing serious or
critical, at most 150 KB of HTML, CSS and JavaScript compressed, a screenshot kept in var/test-artifacts/web/)."""
from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit

from tests.support import required
from tests.support.app import PASSWORD, make_container
from tests.support.broker import free_port
from tests.support.served import serve_process

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
AXE = ROOT / "frontend" / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "var" / "test-artifacts" / "web"
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 800}
MAX_PAGE_BYTES = 150 * 1024
SECRET = "web-test-secret-key-0123456789-abcdefghij"


def missing(what: str) -> NoReturn:
    required.missing(what, "scripts/bootstrap.sh installs it")


@dataclass
class Site:
    base: str
    log: Path
    root: Path  # the data dir is root/"data", the database root/"loaxa.db"
    database_url: str


@contextmanager
def running_site(root: Path, seed: Callable, extra_env: dict[str, str] | None = None) -> Iterator[Site]:
    """`loaxa serve --no-scheduler` on a free port over a SQLite database that `seed(container)` filled first."""
    database_url = f"sqlite:///{root / 'loaxa.db'}"
    container = make_container(root, database_url)
    try:
        seed(container)
    finally:
        container.close()
    port = free_port()
    env = {**os.environ, "LOAXA_DATA_DIR": str(root / "data"), "LOAXA_DATABASE_URL": database_url,
           "LOAXA_SECRET_KEY": SECRET, "LOAXA_PASSWORD_HASH_MEMORY_KIB": "8192",
           "LOAXA_PUBLIC_URL": f"http://127.0.0.1:{port}", **(extra_env or {})}
    log = root / "serve.log"
    with serve_process(env, port, log) as base:
        yield Site(base, log, root, database_url)


_PLAYWRIGHT: list = []  # the running sync Playwright of this process, while a browser from chromium() is open


@contextmanager
def chromium(extra_args: list[str] | None = None) -> Iterator:
    if not CHROMIUM.exists():
        missing(str(CHROMIUM))
    if not AXE.exists():
        missing(f"{AXE} (npm ci in frontend/)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("the playwright Python package")
    # One sync Playwright per thread: a second sync_playwright() while the session's browser is open is refused
    # ("Sync API inside the asyncio loop"), so a browser with other flags (the fake microphone) shares it.
    owner = not _PLAYWRIGHT
    if owner:
        _PLAYWRIGHT.append(sync_playwright().start())
    try:
        browser = _PLAYWRIGHT[0].chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                                 args=extra_args or [])
        try:
            yield browser
        finally:
            browser.close()
    finally:
        if owner:
            _PLAYWRIGHT.pop().stop()


def phone_context(browser, **more):
    return browser.new_context(viewport=PHONE, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh", is_mobile=True,
                               has_touch=True, **more)


def desktop_context(browser, **more):
    return browser.new_context(viewport=DESKTOP, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh", **more)


@dataclass
class Watch:
    """What a tab asked for and complained about."""

    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def attach(self, page) -> Watch:
        page.on("request", lambda request: self.requests.append(request.url))
        page.on("console", lambda message: self.errors.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        return self

    def foreign(self) -> list[str]:
        return [u for u in self.requests
                if not u.startswith(("data:", "blob:")) and urlsplit(u).hostname != "127.0.0.1"]


def serious_violations(page) -> list[dict]:
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE.read_text())  # through DevTools: the page's CSP (script-src 'self') is not weakened
    violations = page.evaluate("""async () => (await axe.run(document, {resultTypes: ['violations']})).violations
        .map(v => ({id: v.id, impact: v.impact, help: v.help,
                    nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))}))""")
    return [v for v in violations if v["impact"] in ("serious", "critical")]


def measure(page) -> dict:
    """Compressed bytes of the page's HTML, CSS and JavaScript, and its navigation timings (ms)."""
    return page.evaluate("""() => {
        const nav = performance.getEntriesByType('navigation')[0];
        const code = performance.getEntriesByType('resource').filter(r => /[.](css|js)([?]|$)/.test(r.name));
        return {html_bytes: nav.encodedBodySize,
                code: code.map(r => ({url: r.name.replace(location.origin, ''), bytes: r.encodedBodySize})),
                total_bytes: nav.encodedBodySize + code.reduce((sum, r) => sum + r.encodedBodySize, 0),
                server_ms: Math.round(nav.responseStart - nav.requestStart),
                dom_ready_ms: Math.round(nav.domContentLoadedEventEnd - nav.startTime),
                load_ms: Math.round(nav.loadEventEnd - nav.startTime)};
    }""")


def check(page, name: str, width: int, measurements: dict) -> None:
    """No horizontal scroll at this width, no serious accessibility problem, a screenshot, the page's weight."""
    page.wait_for_load_state("load")
    page.evaluate("document.fonts.ready")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    scroll = page.evaluate("document.scrollingElement.scrollWidth")
    assert scroll <= width, f"{name}: {scroll} CSS px wide at a {width} px viewport"
    violations = serious_violations(page)
    assert violations == [], (name, violations)
    measurements[name] = measure(page)
    assert measurements[name]["total_bytes"] <= MAX_PAGE_BYTES, measurements[name]


def save_measurements(found: dict, name: str = "measurements") -> None:
    if found:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / f"{name}.json").write_text(json.dumps(found, indent=2, ensure_ascii=False))


def sign_in(page, base: str, username: str, password: str = PASSWORD) -> None:
    page.goto(base + "/")
    assert urlsplit(page.url).path == "/dang-nhap"
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu", exact=True).fill(password)
    page.keyboard.press("Enter")  # the keyboard alone signs in
    page.wait_for_url(base + "/")
