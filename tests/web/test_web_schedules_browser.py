"""Schedules and approvals in a real browser on a 360 px phone: an officer builds a weekly schedule for two villages,
reads its sentence and reach before submitting; a leader listens and approves it. Each page passes `check` (no
horizontal scroll, axe, weight, a screenshot in var/test-artifacts/web/). The machinery is tests/support/browser.py."""
from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from broadcast.persistence.migrate import upgrade
from broadcast.services.area_catalog import official_areas
from broadcast.services.areas import create_zone, seed_areas
from broadcast.services.context import Actor
from broadcast.services.devices import DeviceSpec, register_device
from broadcast.web.app import create_app
from tests.support.app import HOAN_KIEM, add_user, user
from tests.support.audio_fixtures import generate
from tests.support.browser import (
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
TITLE = "Luật Hòa giải ở cơ sở năm 2013"
WEEKDAYS = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật")


def seed(container, root) -> None:
    """Hoàn Kiếm: two villages with three loudspeakers, a programme with rendered audio, an approved bulletin."""
    upgrade(container.engine)
    seed_areas(container.uow(), container.clock, official_areas(), Actor(None))
    zones = [create_zone(container.uow(), container.clock, Actor(None), commune_code=HOAN_KIEM,
                         name=f"Tổ dân phố số {n}", kind="residential_group").id for n in (1, 2)]
    for n, zone in enumerate((zones[0], zones[0], zones[1]), start=1):
        register_device(container.uow(), container.clock, Actor(None),
                        DeviceSpec(f"loa-hk-{n}", f"Cụm loa số {n}", HOAN_KIEM, zones=(zone,)))
    with TestClient(create_app(container)) as client:
        editor = user(container, client, "can-bo-hk", "editor", HOAN_KIEM)
        leader = user(container, client, "pho-chu-tich-hk", "approver", HOAN_KIEM)
        wav = generate(root / "hoa-giai.wav", kind="speechlike", seconds=3, rate=16000)
        with wav.open("rb") as fh:
            asset = client.post("/api/v1/audio", headers=editor.headers, files={"file": ("hoa-giai.wav", fh)},
                                data={"title": TITLE, "area_code": HOAN_KIEM}).json()
        assert container.jobs.drain(timeout=240)
        assert client.post("/api/v1/programmes", headers=editor.headers, json={
            "title": TITLE, "area_code": HOAN_KIEM, "topic": "grassroots_mediation",
            "audio_ids": [asset["id"]]}).status_code == 201
        local = container.clock.now().astimezone(ZoneInfo("Asia/Ho_Chi_Minh"))
        approved_schedule(client, editor, leader, title="Bản tin buổi chiều",
                          start=(local + timedelta(days=1)).strftime("%Y-%m-%dT17:00"), rrule="FREQ=DAILY;COUNT=20")
    add_user(container, "chu-tich-hk", "approver", HOAN_KIEM)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("schedules-site")
    with running_site(root, lambda c: seed(c, root)) as running:
        yield running


def tomorrow() -> str:
    """The day the seeded bulletin starts (dd/mm/yyyy), so the calendar shows it whatever day the test runs."""
    return f"{datetime.now(ZoneInfo('Asia/Ho_Chi_Minh')).date() + timedelta(days=1):%d/%m/%Y}"


def test_an_officer_builds_a_weekly_schedule_then_a_leader_approves_it(site, browser, measurements):
    context = phone_context(browser)
    page = context.new_page()
    watch = Watch().attach(page)
    sign_in(page, site.base, "can-bo-hk")
    page.goto(site.base + f"/lich-phat?ngay={tomorrow()}")
    assert "Bản tin buổi chiều" in page.locator("main").inner_text()
    check(page, "lich-phat-tuan-360", PHONE["width"], measurements)

    page.get_by_role("link", name="Tạo lịch phát").click()
    page.wait_for_url(site.base + "/lich-phat/moi")
    page.get_by_label("Chương trình").select_option(label=f"{TITLE} (thông thường)")
    page.get_by_label("Toàn bộ xã, phường").uncheck()
    reach = page.locator("[data-reach] strong")
    reach.filter(has_text=re.compile(r"^0$")).wait_for()
    page.get_by_label("Tổ dân phố số 1").check()
    reach.filter(has_text=re.compile(r"^2$")).wait_for()
    page.get_by_label("Tổ dân phố số 2").check()
    reach.filter(has_text=re.compile(r"^3$")).wait_for()

    page.get_by_label("Hằng tuần").check()
    for name in WEEKDAYS:
        box = page.get_by_label(name, exact=True)
        box.set_checked(name in ("Thứ Hai", "Thứ Tư", "Thứ Sáu"))
    assert page.get_by_label("Số lần phát", exact=True).is_hidden()  # "until a date" is chosen: the count field waits
    until = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).date() + timedelta(days=60)
    page.get_by_label("Phát đến hết ngày").fill(until.isoformat())
    page.get_by_label("Giờ phát").fill("06:00")
    sentence = f"Thứ Hai, Thứ Tư, Thứ Sáu lúc 06:00, đến {until:%d/%m/%Y}"
    page.locator("[data-sentence]", has_text=sentence).wait_for()
    assert page.locator("[data-reach] strong").inner_text() == "3"
    page.get_by_text("Không vi phạm quy định giờ phát, không trùng giờ với lịch đã duyệt.").wait_for()
    check(page, "lich-phat-moi-360", PHONE["width"], measurements)

    page.get_by_role("button", name="Lưu và gửi duyệt").click()
    page.wait_for_url(re.compile(r"/lich-phat/\d+$"))
    schedule_path = urlsplit(page.url).path
    assert page.get_by_text("Đã lưu và gửi lịch phát cho lãnh đạo duyệt.").is_visible()
    assert sentence in page.locator("main").inner_text()
    check(page, "lich-phat-chi-tiet-360", PHONE["width"], measurements)
    page.goto(site.base + f"/lich-phat?xem=thang&ngay={tomorrow()}")
    check(page, "lich-phat-thang-360", PHONE["width"], measurements)
    assert watch.foreign() == [] and watch.errors == [], (watch.foreign(), watch.errors)
    context.close()

    context = phone_context(browser)
    page = context.new_page()
    watch = Watch().attach(page)
    sign_in(page, site.base, "chu-tich-hk")
    page.get_by_text("Danh mục").click()
    page.get_by_role("link", name="Duyệt lịch").click()
    page.wait_for_url(site.base + "/duyet-lich")
    item = page.locator(".inbox > li", has_text=TITLE)
    assert sentence in item.inner_text() and "tới 3 cụm loa" in item.inner_text()
    audio = item.locator("audio")
    assert audio.get_attribute("preload") == "none"
    assert page.request.get(site.base + audio.get_attribute("src")).status == 200
    check(page, "duyet-lich-360", PHONE["width"], measurements)

    item.get_by_role("link", name=TITLE).click()
    page.wait_for_url(re.compile(r"/duyet-lich/\d+$"))
    assert urlsplit(page.url).path == schedule_path.replace("/lich-phat/", "/duyet-lich/")
    check(page, "duyet-lich-chi-tiet-360", PHONE["width"], measurements)
    page.get_by_label("Tôi đã nghe nội dung chương trình").check()
    page.get_by_role("button", name="Duyệt lịch phát").click()
    page.wait_for_url(site.base + "/duyet-lich")
    assert page.get_by_text("Không có lịch nào chờ duyệt.").is_visible()
    page.goto(site.base + schedule_path)
    assert "đã duyệt" in page.locator("main").inner_text()
    assert watch.foreign() == [] and watch.errors == [], (watch.foreign(), watch.errors)
    context.close()


def test_the_month_on_a_wide_screen(site, browser, measurements):
    context = desktop_context(browser)
    page = context.new_page()
    sign_in(page, site.base, "chu-tich-hk")
    page.goto(site.base + f"/lich-phat?xem=thang&ngay={tomorrow()}")
    assert page.locator(".month-slots", has_text="Bản tin buổi chiều").first.is_visible()
    check(page, "lich-phat-thang-1280", DESKTOP["width"], measurements)
    page.goto(site.base + f"/lich-phat?ngay={tomorrow()}")
    check(page, "lich-phat-tuan-1280", DESKTOP["width"], measurements)
    context.close()
