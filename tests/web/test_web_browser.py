"""The pages in a real browser: Debian's Chromium driven by Playwright against a real `loaxa serve` on a free loopback
port. Phone first (360 x 740 CSS px, no horizontal scroll), axe-core finds no serious or critical violation, no
request leaves 127.0.0.1, no console error (the Content-Security-Policy included), each page's HTML, CSS and
JavaScript weigh at most 150 KB compressed. Screenshots and measurements go to var/test-artifacts/web/."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from broadcast.persistence.migrate import upgrade
from broadcast.persistence.models import DeviceRow
from broadcast.services.area_catalog import official_areas
from broadcast.services.areas import seed_areas
from broadcast.services.context import Actor
from broadcast.services.devices import DeviceSpec, register_device
from broadcast.services.policies import set_policy
from broadcast.services.ports import PlayLogEntry
from broadcast.web.app import create_app
from tests.support.app import HANOI, HOAN_KIEM, PASSWORD, add_user, make_container, user
from tests.support.broker import free_port
from tests.support.web import approved_schedule

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
AXE = ROOT / "frontend" / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "var" / "test-artifacts" / "web"
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 800}
MAX_PAGE_BYTES = 150 * 1024
SECRET = "web-test-secret-key-0123456789-abcdefghij"


def missing(what: str) -> None:
    """A missing browser fails under CI=true (the bootstrap installs it) and skips elsewhere."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{what} is required under CI but missing (scripts/bootstrap.sh installs it)", pytrace=False)
    pytest.skip(f"{what} is missing")


@dataclass
class Site:
    base: str
    log: Path


def seed(container, now: datetime) -> None:
    """Hoàn Kiếm with programmes today (one with a long title), three devices (one online) and a failure."""
    upgrade(container.engine)
    seed_areas(container.uow(), container.clock, official_areas(), Actor(None))
    set_policy(container.uow(), container.clock, Actor(None), HOAN_KIEM, windows=["00:00-24:00"],
               max_minutes_per_day=None, weekdays=None)  # whenever the test runs
    with TestClient(create_app(container)) as client:
        editor = user(container, client, "can-bo-hk", "editor", HOAN_KIEM)
        approver = user(container, client, "chu-tich-hk", "approver", HOAN_KIEM)
        local = now.astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).replace(second=0, microsecond=0)
        approved_schedule(client, editor, approver, start=(local + timedelta(minutes=3)).strftime("%Y-%m-%dT%H:%M"),
                          title="Tuyên truyền Luật Phòng, chống bạo lực gia đình năm 2022 và các văn bản hướng dẫn "
                                "thi hành dành cho các thôn, tổ dân phố", rrule="FREQ=DAILY;COUNT=5")
        approved_schedule(client, editor, approver, start=(local + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
                          title="Phòng chống lừa đảo qua mạng", priority="priority")
        approved_schedule(client, editor, approver, start=(local + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
                          title="Bản tin chờ duyệt", approve=False)
    for n in range(3):
        register_device(container.uow(), container.clock, Actor(None),
                        DeviceSpec(f"loa-hoan-kiem-{n}", f"Cụm loa tổ dân phố số {n + 1}", HOAN_KIEM))
    with container.engine.begin() as connection:
        connection.execute(update(DeviceRow).where(DeviceRow.id == "loa-hoan-kiem-0").values(online=True))
    uow = container.uow()
    with uow:
        earlier = now - timedelta(hours=3)
        uow.playlog.add_many([PlayLogEntry("loa-hoan-kiem-1", HOAN_KIEM, "occ-x", "failed", earlier,
                                           title="Bản tin thời sự buổi sáng", planned_start=earlier,
                                           reason="download_failed: không tải được tệp âm thanh")])
        uow.commit()
    add_user(container, "xem-ha-noi", "viewer", HANOI)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """`loaxa serve` (without the gateway and timer) on a free port, over a SQLite database made for it."""
    root = tmp_path_factory.mktemp("web-site")
    database_url = f"sqlite:///{root / 'loaxa.db'}"
    container = make_container(root, database_url)
    try:
        seed(container, container.clock.now())
    finally:
        container.close()
    port = free_port()
    loaxa = Path(sys.executable).with_name("loaxa")
    command = [str(loaxa)] if loaxa.exists() else [sys.executable, "-m", "broadcast"]
    env = {**os.environ, "LOAXA_DATA_DIR": str(root / "data"), "LOAXA_DATABASE_URL": database_url,
           "LOAXA_SECRET_KEY": SECRET, "LOAXA_PASSWORD_HASH_MEMORY_KIB": "8192",
           "LOAXA_PUBLIC_URL": f"http://127.0.0.1:{port}"}
    log = root / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen([*command, "serve", "--no-scheduler", "--host", "127.0.0.1", "--port", str(port)],
                                  env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, f"loaxa serve stopped:\n{log.read_text()}"
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, f"loaxa serve did not start:\n{log.read_text()}"
            time.sleep(0.2)
        yield Site(base, log)
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        missing(str(CHROMIUM))
    if not AXE.exists():
        missing(f"{AXE} (npm ci in frontend/)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("the playwright Python package")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield chromium
        chromium.close()


@dataclass
class Watch:
    """What a tab asked for and complained about."""

    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def attach(self, page) -> None:
        page.on("request", lambda request: self.requests.append(request.url))
        page.on("console", lambda message: self.errors.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: self.errors.append(str(error)))

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
    assert serious_violations(page) == [], name
    measurements[name] = measure(page)
    assert measurements[name]["total_bytes"] <= MAX_PAGE_BYTES, measurements[name]


@pytest.fixture(scope="module")
def measurements() -> Iterator[dict]:
    found: dict = {}
    yield found
    if found:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / "measurements.json").write_text(json.dumps(found, indent=2, ensure_ascii=False))


def sign_in(page, base: str, username: str) -> None:
    page.goto(base + "/")
    assert urlsplit(page.url).path == "/dang-nhap"
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu", exact=True).fill(PASSWORD)
    page.keyboard.press("Enter")  # the keyboard alone signs in
    page.wait_for_url(base + "/")


def test_an_officer_on_a_phone(site, browser, measurements):
    context = browser.new_context(viewport=PHONE, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh", is_mobile=True,
                                  has_touch=True)
    page = context.new_page()
    watch = Watch()
    watch.attach(page)
    page.goto(site.base + "/")
    assert urlsplit(page.url).path == "/dang-nhap"
    check(page, "dang-nhap-360", PHONE["width"], measurements)

    sign_in(page, site.base, "can-bo-hk")
    assert page.get_by_role("heading", name="Tổng quan").is_visible()
    assert "Phòng chống lừa đảo qua mạng" in page.locator("main").inner_text()
    check(page, "trang-chu-360", PHONE["width"], measurements)
    with page.expect_response(lambda r: urlsplit(r.url).path == "/trang-chu/bang-tin") as refresh:
        page.evaluate("window.dispatchEvent(new Event('online'))")  # back online: the panels refresh at once
    assert refresh.value.status == 200
    page.locator("#bang-tin h2", has_text="Lịch phát hôm nay").wait_for()

    page.keyboard.press("Tab")  # the first stop is the skip link, and it takes the focus to the content
    assert page.evaluate("document.activeElement.textContent") == "Bỏ qua, đến nội dung chính"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "noi-dung"

    page.get_by_text("Danh mục").click()
    assert page.get_by_role("link", name="Đổi mật khẩu").is_visible()
    check(page, "trang-chu-danh-muc-360", PHONE["width"], measurements)
    page.get_by_role("link", name="Đổi mật khẩu").click()
    page.wait_for_url(site.base + "/doi-mat-khau")
    check(page, "doi-mat-khau-360", PHONE["width"], measurements)

    page.goto(site.base + "/")
    page.get_by_text("Danh mục").click()
    page.get_by_role("button", name="Đăng xuất").click()
    page.wait_for_url(site.base + "/dang-nhap")
    assert page.get_by_text("Bạn đã đăng xuất.").is_visible()
    page.goto(site.base + "/")
    assert urlsplit(page.url).path == "/dang-nhap"  # the session is over

    assert watch.foreign() == [] and watch.errors == []
    context.close()


def test_a_province_viewer_on_a_wide_screen(site, browser, measurements):
    context = browser.new_context(viewport=DESKTOP, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh")
    page = context.new_page()
    watch = Watch()
    watch.attach(page)
    page.goto(site.base + "/")
    check(page, "dang-nhap-1280", DESKTOP["width"], measurements)
    sign_in(page, site.base, "xem-ha-noi")
    assert page.get_by_role("link", name="Trang chủ").is_visible()  # the menu is a bar here, open without a click
    assert page.get_by_text("Danh mục").is_hidden()
    check(page, "trang-chu-1280", DESKTOP["width"], measurements)
    assert page.locator("form[method=post]").count() == 1  # a viewer: signing out is the only form

    page.goto(site.base + "/docs")  # Swagger UI, served here too
    page.locator(".swagger-ui .info").wait_for()
    page.screenshot(path=str(ARTIFACTS / "docs-1280.png"))
    assert watch.foreign() == [], watch.foreign()
    assert watch.errors == []
    context.close()
