"""The officers' first pages in a real browser (login, home, password, /docs): phone first, accessible, light, and
nothing loaded from outside 127.0.0.1. The machinery is tests/support/browser.py."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

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
from tests.support.app import HANOI, HOAN_KIEM, add_user, user
from tests.support.browser import (
    ARTIFACTS,
    DESKTOP,
    PHONE,
    Site,
    Watch,
    check,
    desktop_context,
    phone_context,
    running_site,
    sign_in,
)
from tests.support.web import approved_schedule

pytestmark = pytest.mark.integration


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
    with running_site(tmp_path_factory.mktemp("web-site"), lambda c: seed(c, c.clock.now())) as running:
        yield running


def test_an_officer_on_a_phone(site, browser, measurements):
    context = phone_context(browser)
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
    context = desktop_context(browser)
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
