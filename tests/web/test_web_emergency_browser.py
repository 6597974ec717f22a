"""The emergency and device pages in a real browser on a phone: an operator sends an emergency by text (TTS) and
watches the reach counter move as acks arrive, then stops it; the device list with its map (no tiles configured),
a device page and the zones page. Each page: 360 px without horizontal scroll, axe, weight, a screenshot."""
from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from broadcast import protocol
from broadcast.persistence.migrate import upgrade
from broadcast.persistence.models import EmergencyRow
from broadcast.services.area_catalog import official_areas
from broadcast.services.areas import create_zone, seed_areas
from broadcast.services.context import Actor
from broadcast.services.delivery.inbox import DeliveryInbox
from broadcast.services.devices import DeviceSpec, register_device
from tests.support.app import HOAN_KIEM, add_user, make_container
from tests.support.audio_fixtures import require_binary
from tests.support.browser import CHROMIUM, PHONE, Site, Watch, check, phone_context, running_site, sign_in
from tests.support.inbound import as_received

pytestmark = pytest.mark.integration
DEVICES = [("loa-thon-dong", "Cụm loa Thôn Đông", 21.0285, 105.8542), ("loa-to-5", "Cụm loa Tổ dân phố số 5",
                                                                       21.0301, 105.8497),
           ("loa-cho", "Cụm loa chợ Hàng Da", None, None)]


def seed(container) -> None:
    upgrade(container.engine)
    system = Actor(None)
    seed_areas(container.uow(), container.clock, official_areas(), system)
    zone = create_zone(container.uow(), container.clock, system, commune_code=HOAN_KIEM, name="Tổ dân phố số 5",
                       kind="residential_group")
    for device_id, name, lat, lon in DEVICES:
        register_device(container.uow(), container.clock, system, DeviceSpec(
            device_id, name, HOAN_KIEM, zones=(zone.id,) if device_id == "loa-to-5" else (), latitude=lat,
            longitude=lon))
    add_user(container, "khan-cap-hk", "emergency_operator", HOAN_KIEM)
    add_user(container, "quan-tri-hk", "admin", HOAN_KIEM)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with running_site(tmp_path_factory.mktemp("emergency-site"), seed) as running:
        yield running


def acks_arrive(site: Site, stages: dict[str, list[str]]) -> None:
    """Acks of the newest emergency's command, stored through the delivery inbox as the gateway would."""
    container = make_container(site.root, site.database_url)
    try:
        with container.engine.connect() as connection:
            cmd_id = connection.scalar(select(EmergencyRow.cmd_id).order_by(EmergencyRow.id.desc()).limit(1))
        now = container.clock.now()
        times = {"playing": {"started_at": now}, "played": {"started_at": now, "ended_at": now}}
        DeliveryInbox(container.uow).handle([
            as_received(protocol.build_ack(device, protocol.command_ref(cmd_id), stage, at=now,
                                           **times.get(stage, {})), now)
            for device, device_stages in stages.items() for stage in device_stages])
    finally:
        container.close()


def counter(page, name: str) -> str:
    return page.locator(f'[data-count="{name}"]').inner_text()


def test_an_operator_sends_an_emergency_by_text_from_a_phone_and_watches_it_reach(site, browser, measurements):
    require_binary("espeak-ng")
    require_binary("ffmpeg")
    from playwright.sync_api import expect  # installed with the browser (tests/support/browser.py skips without)

    context = phone_context(browser)
    page = context.new_page()
    watch = Watch().attach(page)
    sign_in(page, site.base, "khan-cap-hk")
    page.goto(site.base + "/khan-cap")
    check(page, "khan-cap-1-noi-nhan-360", PHONE["width"], measurements)
    page.get_by_label("Hoàn Kiếm").check()
    page.get_by_role("button", name="Tiếp tục: nội dung").click()
    page.wait_for_url(re.compile(r"/khan-cap/noi-dung"))
    assert "3 thiết bị sẽ phát" in page.locator(".reach-preview").inner_text()
    assert page.get_by_label("Văn bản cần đọc").is_visible()
    assert page.get_by_label("Tệp âm thanh đã sẵn sàng").is_hidden()  # only the chosen content's panel shows
    check(page, "khan-cap-2-noi-dung-360", PHONE["width"], measurements)
    page.get_by_label("Lý do phát khẩn cấp").fill("Lũ quét trên sông Hồng")
    page.get_by_label("Văn bản cần đọc").fill(
        "Khẩn cấp. Nước sông Hồng đang lên nhanh. Bà con khu vực bãi giữa sơ tán ngay lên vùng cao.")
    page.get_by_role("button", name="Tiếp tục: xác nhận").click()
    page.wait_for_url(site.base + "/khan-cap/xac-nhan")
    assert page.get_by_role("heading", name="Sẽ phát trên 3 thiết bị").is_visible()
    check(page, "khan-cap-3-xac-nhan-360", PHONE["width"], measurements)
    page.get_by_role("button", name="Phát khẩn cấp ngay").click()
    page.wait_for_url(re.compile(r"/khan-cap/\d+$"), timeout=60_000)  # TTS and the render run in the request
    assert "Đã phát lệnh khẩn cấp" in page.locator("main").inner_text()
    assert (counter(page, "received"), counter(page, "sounding"), counter(page, "not-reached")) == ("0", "0", "3")
    check(page, "khan-cap-4-phu-song-360", PHONE["width"], measurements)

    acks_arrive(site, {"loa-thon-dong": ["received", "playing"], "loa-to-5": ["received"]})
    expect(page.locator('[data-count="received"]')).to_have_text("2", timeout=10_000)  # polled every second
    assert (counter(page, "sounding"), counter(page, "not-reached")) == ("1", "1")
    acks_arrive(site, {"loa-to-5": ["playing", "played"], "loa-cho": ["received"]})
    expect(page.locator('[data-count="not-reached"]')).to_have_text("0", timeout=10_000)
    assert (counter(page, "received"), counter(page, "sounding")) == ("3", "2")

    page.get_by_role("button", name="Dừng phát").click()
    page.wait_for_load_state("load")
    assert "Đã gửi lệnh dừng phát" in page.locator("main").inner_text()
    assert page.get_by_role("button", name="Dừng phát").count() == 0
    assert page.locator("#phu-song[hx-trigger]").count() == 0  # no more polling once it has ended
    check(page, "khan-cap-5-da-dung-360", PHONE["width"], measurements)
    assert watch.foreign() == [] and watch.errors == []
    context.close()


def test_the_devices_map_list_and_pages_on_a_phone(site, browser, measurements):
    context = phone_context(browser)
    page = context.new_page()
    watch = Watch().attach(page)
    sign_in(page, site.base, "quan-tri-hk")
    page.goto(site.base + "/thiet-bi")
    page.locator(".leaflet-interactive").first.wait_for()  # the dots, drawn without any tile server
    assert page.locator(".leaflet-interactive").count() == 2
    assert "1 thiết bị chưa có tọa độ" in page.locator("[data-map-note]").inner_text()
    assert page.locator(".leaflet-tile").count() == 0
    check(page, "thiet-bi-ban-do-360", PHONE["width"], measurements)

    page.get_by_label("Tìm theo tên hoặc mã").fill("thon dong")
    page.get_by_role("button", name="Lọc").click()
    page.wait_for_url(re.compile(r"tim=thon"))
    rows = page.locator("table.devices tbody tr")
    assert rows.count() == 1 and "Cụm loa Thôn Đông" in rows.first.inner_text()
    rows.first.get_by_role("link", name="Cụm loa Thôn Đông").click()
    page.wait_for_url(site.base + "/thiet-bi/loa-thon-dong")
    assert page.get_by_role("button", name="Đặt âm lượng").is_visible()
    check(page, "thiet-bi-chi-tiet-360", PHONE["width"], measurements)
    page.get_by_label("Âm lượng (0–100)").fill("40")
    page.get_by_role("button", name="Đặt âm lượng").click()
    page.wait_for_load_state("load")
    assert "Đã gửi lệnh đặt âm lượng 40" in page.locator("main").inner_text()

    page.goto(site.base + "/thiet-bi/khu-vuc")
    assert page.get_by_role("heading", name=re.compile("Các vùng phát của")).is_visible()
    check(page, "thiet-bi-vung-phat-360", PHONE["width"], measurements)
    assert watch.foreign() == [] and watch.errors == []
    assert all(urlsplit(u).path != "/static/vendor/leaflet/images/marker-icon.png" for u in watch.requests)
    context.close()


def test_a_recording_from_the_microphone_is_sent(site, browser, measurements):
    """MediaRecorder in Chromium with its fake microphone (a beep): recorded into the form, checked, rendered."""
    require_binary("ffmpeg")
    fake_microphone = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]
    # A second Chromium of the session's Playwright: the fake microphone is a launch flag.
    recording_browser = browser.browser_type.launch(executable_path=str(CHROMIUM), headless=True,
                                                    args=fake_microphone)
    try:
        context = phone_context(recording_browser, permissions=["microphone"])
        page = context.new_page()
        watch = Watch().attach(page)
        sign_in(page, site.base, "khan-cap-hk")
        page.goto(site.base + f"/khan-cap/noi-dung?zones=01-{HOAN_KIEM}-to-dan-pho-so-5")
        assert "1 thiết bị sẽ phát" in page.locator(".reach-preview").inner_text()
        page.get_by_label("Lý do phát khẩn cấp").fill("Sạt lở đất ở tổ 5")
        page.get_by_label("Ghi âm từ micrô").check()
        record = page.get_by_role("button", name="● Bắt đầu ghi âm")
        record.click()
        page.wait_for_timeout(2500)
        page.get_by_role("button", name="■ Dừng ghi").click()
        page.locator("[data-record-preview]:not([hidden])").wait_for()
        assert page.locator("input[name=recording_file]").evaluate("input => input.files.length") == 1
        check(page, "khan-cap-ghi-am-360", PHONE["width"], measurements)
        page.get_by_role("button", name="Tiếp tục: xác nhận").click()
        page.wait_for_url(site.base + "/khan-cap/xac-nhan")
        assert "Ghi âm từ micrô: ghi-am.webm" in page.locator("main").inner_text()
        assert page.get_by_role("heading", name="Sẽ phát trên 1 thiết bị").is_visible()
        page.get_by_role("button", name="Phát khẩn cấp ngay").click()
        page.wait_for_url(re.compile(r"/khan-cap/\d+$"), timeout=60_000)
        assert "tới 1 thiết bị" in page.locator("main").inner_text()
        assert watch.foreign() == [] and watch.errors == []
        context.close()
    finally:
        recording_browser.close()
