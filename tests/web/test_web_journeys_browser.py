"""The officers' journeys of issue #13 in Chromium, against a whole LoaXa on loopback (tests/support/live_site.py):
the real app with its runtime, a private mosquitto and simulated loudspeakers that download and play what is sent.

- An officer records a bulletin with the (fake) microphone, makes it a programme and a weekly schedule for two
  villages; a leader approves it on a phone; the loudspeakers play it; the play log shows it; the report downloads.
- An emergency operator on a phone sends a spoken emergency to the commune, watches every loudspeaker take it, stops.
- A province viewer and another commune's editor see, and may do, only what their grants allow.

Every page passes `check` (360 px without sideways scroll on phones, axe-core, weight, a screenshot in
var/test-artifacts/web/) and no tab asks anything of a host other than 127.0.0.1.
"""
from __future__ import annotations

import csv
import io
import re
import subprocess
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select

from broadcast.domain.recurrence_text import WEEKDAYS
from broadcast.persistence.migrate import upgrade
from broadcast.persistence.models import EmergencyRow, PlayLogRow
from broadcast.services.area_catalog import official_areas
from broadcast.services.areas import create_zone, seed_areas
from broadcast.services.context import Actor
from broadcast.services.devices import DeviceSpec, register_device
from broadcast.services.policies import set_policy
from broadcast.web.app import create_app
from tests.support.app import CUA_NAM, HANOI, HOAN_KIEM, add_user, login
from tests.support.audio_fixtures import espeak_wav, require_binary
from tests.support.browser import (
    CHROMIUM,
    DESKTOP,
    PHONE,
    Watch,
    check,
    desktop_context,
    phone_context,
    sign_in,
)
from tests.support.fleet import wait_for
from tests.support.live_site import LiveSite, live_site
from tests.support.web import approved_schedule

pytestmark = pytest.mark.integration
LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
VILLAGES = {"Thôn Đông": ("loa-hk-1", "loa-hk-2"), "Thôn Đoài": ("loa-hk-3",)}
HK_DEVICES = tuple(d for devices in VILLAGES.values() for d in devices)
CN_DEVICE = "loa-cn-1"
DEVICE_NAMES = {"loa-hk-1": "Cụm loa nhà văn hóa", "loa-hk-2": "Cụm loa chợ sáng", "loa-hk-3": "Cụm loa bến đò",
                CN_DEVICE: "Cụm loa phố Cửa Nam"}
RECORDING = "Ghi âm thông báo tiêm chủng"
TITLE = "Thông báo tiêm chủng cho trẻ em"  # the programme made from the recording
PENDING = "Bản tin pháp luật chờ duyệt"  # a Hoàn Kiếm schedule others must not open
READY_MS = 120_000  # normalizing the recording on a shared machine
MIN_LEAD_S = 75  # the leader must approve before the first play; less than this left: one minute later


@pytest.fixture(scope="module")
def marks() -> dict:
    return {}


def seed(container, marks: dict) -> dict[str, str]:
    """Hoàn Kiếm with two villages and three loudspeakers, open all day; Cửa Nam with one; the officers."""
    upgrade(container.engine)
    system = Actor(None)
    seed_areas(container.uow(), container.clock, official_areas(), system)
    set_policy(container.uow(), container.clock, system, HOAN_KIEM, windows=["00:00-24:00"],
               max_minutes_per_day=None, weekdays=None)  # whenever the test runs
    passwords = {}
    for village, devices in VILLAGES.items():
        zone = create_zone(container.uow(), container.clock, system, commune_code=HOAN_KIEM, name=village,
                           kind="village")
        for device in devices:
            passwords[device] = register_device(container.uow(), container.clock, system, DeviceSpec(
                device, DEVICE_NAMES[device], HOAN_KIEM, zones=(zone.id,))).mqtt_password
    passwords[CN_DEVICE] = register_device(container.uow(), container.clock, system,
                                           DeviceSpec(CN_DEVICE, DEVICE_NAMES[CN_DEVICE], CUA_NAM)).mqtt_password
    for username, role, area in (("can-bo-hk", "editor", HOAN_KIEM), ("chu-tich-hk", "approver", HOAN_KIEM),
                                 ("khan-cap-hk", "emergency_operator", HOAN_KIEM),
                                 ("theo-doi-ha-noi", "viewer", HANOI), ("can-bo-cua-nam", "editor", CUA_NAM)):
        add_user(container, username, role, area)
    with TestClient(create_app(container)) as client:
        editor, leader = login(client, "can-bo-hk"), login(client, "chu-tich-hk")
        tomorrow = datetime.now(LOCAL) + timedelta(days=1)
        marks["pending"] = approved_schedule(client, editor, leader, title=PENDING, approve=False,
                                             start=tomorrow.strftime("%Y-%m-%dT17:00"))
    return passwords


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, marks: dict) -> Iterator[LiveSite]:
    require_binary("ffmpeg")
    require_binary("espeak-ng")
    with live_site(tmp_path_factory.mktemp("journeys"), lambda c: seed(c, marks)) as running:
        yield running


@pytest.fixture(scope="module")
def microphone_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About four seconds of Vietnamese speech (espeak-ng) as the 48 kHz PCM Chromium's fake microphone reads."""
    folder = tmp_path_factory.mktemp("microphone")
    raw = espeak_wav(folder / "raw.wav", "Xin thông báo lịch tiêm chủng cho trẻ em tại nhà văn hóa thôn.")
    wav = folder / "micro.wav"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(raw), "-ar", "48000", "-ac", "1",
                    "-c:a", "pcm_s16le", str(wav)], check=True)
    return wav


def first_play_time() -> datetime:
    """The next whole minute plus one (local), a minute later still when too close for the approval to come first."""
    now = datetime.now(LOCAL)
    start = now.replace(second=0, microsecond=0) + timedelta(minutes=2)
    return start + timedelta(minutes=1) if (start - now).total_seconds() < MIN_LEAD_S else start


def plays(site: LiveSite, title: str) -> dict[str, str]:
    """device id -> outcome of the play-log rows with this title (written when the devices' acks arrive)."""
    with site.container.engine.connect() as connection:
        return dict(connection.execute(select(PlayLogRow.device_id, PlayLogRow.outcome)
                                       .where(PlayLogRow.title == title)).all())


def main_text(page) -> str:
    return page.locator("main").inner_text()


def assert_clean(watch: Watch) -> None:
    assert watch.foreign() == [] and watch.errors == [], (watch.foreign(), watch.errors)


def test_an_officer_records_schedules_a_leader_approves_devices_play_and_the_report_shows_it(
        site, browser, measurements, microphone_wav, tmp_path):
    flags = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
             f"--use-file-for-fake-audio-capture={microphone_wav}"]
    # The fake microphone is a launch flag: a second Chromium of the session's Playwright for the officer.
    officer_browser = browser.browser_type.launch(executable_path=str(CHROMIUM), headless=True, args=flags)
    try:
        context = phone_context(officer_browser, permissions=["microphone"], accept_downloads=True)
        page = context.new_page()
        watch = Watch().attach(page)
        sign_in(page, site.base, "can-bo-hk")
        check(page, "hanh-trinh-1-trang-chu-360", PHONE["width"], measurements)

        # 1. Record the bulletin and save it in the library; the server normalizes it.
        page.goto(site.base + "/thu-vien")
        recorder = page.locator("[data-recorder]")
        recorder.get_by_text("Ghi âm từ micrô").click()
        recorder.get_by_label("Tiêu đề bản ghi").fill(RECORDING)
        recorder.get_by_role("button", name="Ghi âm").click()
        recorder.get_by_text("Đang ghi âm… 4 giây").wait_for()
        recorder.get_by_role("button", name="Dừng").click()
        recorder.get_by_text("Nghe lại, rồi bấm “Lưu bản ghi”.", exact=False).wait_for()
        check(page, "hanh-trinh-2-ghi-am-360", PHONE["width"], measurements)
        recorder.get_by_role("button", name="Lưu bản ghi").click()
        recorder.get_by_text("Đã lưu bản ghi vào thư viện.").wait_for()
        card = page.locator("[data-assets] li.asset", has=page.get_by_role("link", name=RECORDING, exact=True))
        card.get_by_text("Sẵn sàng").wait_for(timeout=READY_MS)  # the card polls until the render is done
        assert card.locator("audio[src^='/media/']").count() == 1
        check(page, "hanh-trinh-3-thu-vien-360", PHONE["width"], measurements)

        # 2. A programme from the recording.
        page.goto(site.base + "/chuong-trinh")
        check(page, "hanh-trinh-4-chuong-trinh-360", PHONE["width"], measurements)
        page.get_by_role("link", name="Tạo chương trình").click()
        page.wait_for_url(site.base + "/chuong-trinh/moi")
        page.get_by_label("Tên chương trình").fill(TITLE)
        page.get_by_label("Chủ đề").select_option(label="Y tế, phòng chống dịch bệnh")
        first = page.get_by_label("Tệp thứ 1", exact=True)
        first.select_option(label=first.locator("option", has_text=RECORDING).inner_text())
        check(page, "hanh-trinh-4-chuong-trinh-moi-360", PHONE["width"], measurements)
        page.get_by_role("button", name="Lưu chương trình").click()
        page.get_by_text("Đã tạo chương trình").wait_for()
        assert RECORDING in page.locator("ol.items > li").first.inner_text()
        check(page, "hanh-trinh-4-chuong-trinh-chi-tiet-360", PHONE["width"], measurements)

        # 3. A weekly schedule for the two villages, today's weekday, its first play two minutes ahead.
        page.goto(site.base + "/lich-phat")
        check(page, "hanh-trinh-5-lich-phat-360", PHONE["width"], measurements)
        page.get_by_role("link", name="Tạo lịch phát").click()
        page.wait_for_url(site.base + "/lich-phat/moi")
        page.get_by_label("Chương trình").select_option(label=f"{TITLE} (thông thường)")
        page.get_by_label("Toàn bộ xã, phường").uncheck()
        reach = page.locator("[data-reach] strong")
        reach.filter(has_text=re.compile(r"^0$")).wait_for()
        page.get_by_label("Thôn Đông", exact=True).check()
        reach.filter(has_text=re.compile(r"^2$")).wait_for()
        page.get_by_label("Thôn Đoài", exact=True).check()
        reach.filter(has_text=re.compile(r"^3$")).wait_for()
        page.get_by_label("Hằng tuần").check()
        start = first_play_time()
        weekday = WEEKDAYS[start.weekday()]
        for name in WEEKDAYS:
            page.get_by_label(name, exact=True).set_checked(name == weekday)
        until = start.date() + timedelta(days=28)
        page.get_by_label("Ngày bắt đầu").fill(start.date().isoformat())
        page.get_by_label("Giờ phát").fill(f"{start:%H:%M}")
        page.get_by_label("Phát đến hết ngày").fill(until.isoformat())
        sentence = f"{weekday} lúc {start:%H:%M}, đến {until:%d/%m/%Y}"
        page.locator("[data-sentence]", has_text=sentence).wait_for()
        page.get_by_text("Không vi phạm quy định giờ phát, không trùng giờ với lịch đã duyệt.").wait_for()
        assert reach.inner_text() == "3"
        check(page, "hanh-trinh-6-lich-moi-360", PHONE["width"], measurements)
        page.get_by_role("button", name="Lưu và gửi duyệt").click()
        page.wait_for_url(re.compile(r"/lich-phat/\d+$"))
        schedule_path = urlsplit(page.url).path
        assert "Đã lưu và gửi lịch phát cho lãnh đạo duyệt." in main_text(page)
        check(page, "hanh-trinh-7-lich-chi-tiet-360", PHONE["width"], measurements)

        # 4. The leader listens and approves on a phone.
        leader_context = phone_context(browser)
        leader = leader_context.new_page()
        leader_watch = Watch().attach(leader)
        sign_in(leader, site.base, "chu-tich-hk")
        leader.get_by_text("Danh mục").click()
        leader.get_by_role("link", name="Duyệt lịch").click()
        leader.wait_for_url(site.base + "/duyet-lich")
        item = leader.locator(".inbox > li", has_text=TITLE)
        assert sentence in item.inner_text() and "tới 3 cụm loa" in item.inner_text()
        check(leader, "hanh-trinh-8-duyet-lich-360", PHONE["width"], measurements)
        item.get_by_role("link", name=TITLE).click()
        leader.wait_for_url(site.base + schedule_path.replace("/lich-phat/", "/duyet-lich/"))
        check(leader, "hanh-trinh-9-duyet-chi-tiet-360", PHONE["width"], measurements)
        leader.get_by_label("Tôi đã nghe nội dung chương trình").check()
        leader.get_by_role("button", name="Duyệt lịch phát").click()
        leader.wait_for_url(site.base + "/duyet-lich")
        assert leader.locator(".inbox > li", has_text=TITLE).count() == 0
        assert datetime.now(LOCAL) < start, f"approved after the first play time {start:%H:%M}"
        assert_clean(leader_watch)
        leader_context.close()

        # 5. The loudspeakers of both villages play it at its time, and say so.
        wait_for(lambda: len(plays(site, TITLE)) == len(HK_DEVICES),
                 (start - datetime.now(LOCAL)).total_seconds() + 90, poll_s=1, what="every loudspeaker played it")
        assert plays(site, TITLE) == dict.fromkeys(HK_DEVICES, "played")
        assert site.fleet.call(lambda: site.fleet.fleet.device(CN_DEVICE).current) is None  # Cửa Nam stayed quiet

        # 6. The play log shows each loudspeaker's play.
        page.goto(site.base + "/nhat-ky-phat")
        page.get_by_label("Tên chương trình có chứa").fill("tiêm chủng cho trẻ")
        page.get_by_role("button", name="Lọc").click()
        page.wait_for_url(lambda url: "q=" in url)
        rows = page.locator("table.records tbody tr")
        assert rows.count() == len(HK_DEVICES)
        texts = rows.all_inner_texts()
        assert all(TITLE in text and "đã phát" in text for text in texts)
        assert {d for d in HK_DEVICES for text in texts if d in text} == set(HK_DEVICES)
        assert all(f"{start:%H:%M}" in text for text in texts)
        check(page, "hanh-trinh-10-nhat-ky-phat-360", PHONE["width"], measurements)

        # 7. The report of the commune shows the plays and downloads as files that open.
        page.get_by_role("link", name="Báo cáo", exact=True).click()
        page.wait_for_url(site.base + "/bao-cao")
        page.get_by_label("Loại báo cáo").select_option("outcomes")
        page.get_by_label("Khu vực", exact=True).select_option(HOAN_KIEM)
        for field in ("Từ ngày", "Đến ngày"):  # the day it played, even if midnight passed meanwhile
            page.get_by_label(field).fill(f"{start:%d/%m/%Y}")
        page.get_by_role("button", name="Xem báo cáo").click()
        page.wait_for_url(lambda url: "loai=outcomes" in url)
        shown = page.locator("table.records tbody tr", has_text=HOAN_KIEM).locator("td").all_inner_texts()
        check(page, "hanh-trinh-11-bao-cao-360", PHONE["width"], measurements)
        played_here = sum(1 for outcome in plays(site, TITLE).values() if outcome == "played")
        assert int(shown[2]) >= played_here == len(HK_DEVICES)

        with page.expect_download() as xlsx_download:
            page.get_by_role("link", name="Tải Excel (XLSX)").click()
        saved = tmp_path / "bao-cao.xlsx"
        xlsx_download.value.save_as(saved)
        assert xlsx_download.value.suggested_filename.endswith(".xlsx")
        sheet = load_workbook(saved, read_only=True).worksheets[0]
        commune = next(row for row in sheet.iter_rows(values_only=True) if row[0] == HOAN_KIEM)
        assert "Hoàn Kiếm" in commune[1] and [str(v) for v in commune[2:7]] == shown[2:7]

        with page.expect_download() as csv_download:
            page.get_by_role("link", name="Tải CSV", exact=True).click()
        saved = tmp_path / "bao-cao.csv"
        csv_download.value.save_as(saved)
        lines = list(csv.reader(io.StringIO(saved.read_bytes().decode("utf-8-sig"))))
        assert lines[0] == ["Kết quả phát theo xã, phường"]
        assert ["Mã xã/phường", "Xã/phường", "Đã phát"] == lines[lines.index(["Kết quả phát theo xã, phường"], 1)
                                                                 + 1][:3]
        assert next(line for line in lines if line and line[0] == HOAN_KIEM)[2:7] == shown[2:7]
        assert_clean(watch)
        context.close()
    finally:
        officer_browser.close()


def counter(page, name: str):
    return page.locator(f'[data-count="{name}"]')


def test_an_emergency_from_a_phone_reaches_every_loudspeaker_then_stops(site, browser, measurements):
    from playwright.sync_api import expect  # installed with the browser (tests/support/browser.py skips without)

    context = phone_context(browser)
    page = context.new_page()
    watch = Watch().attach(page)
    sign_in(page, site.base, "khan-cap-hk")
    page.goto(site.base + "/khan-cap")
    check(page, "hanh-trinh-khan-cap-1-noi-nhan-360", PHONE["width"], measurements)
    page.get_by_label("Hoàn Kiếm").check()
    page.get_by_role("button", name="Tiếp tục: nội dung").click()
    page.wait_for_url(re.compile(r"/khan-cap/noi-dung"))
    assert f"{len(HK_DEVICES)} thiết bị sẽ phát" in page.locator(".reach-preview").inner_text()
    page.get_by_label("Lý do phát khẩn cấp").fill("Bão số 3 sắp đổ bộ")
    page.get_by_label("Văn bản cần đọc").fill("Khẩn cấp. Bão số ba sắp đổ bộ. Bà con ở trong nhà, tránh xa bờ sông.")
    check(page, "hanh-trinh-khan-cap-2-noi-dung-360", PHONE["width"], measurements)
    page.get_by_role("button", name="Tiếp tục: xác nhận").click()
    page.wait_for_url(site.base + "/khan-cap/xac-nhan")
    assert page.get_by_role("heading", name=f"Sẽ phát trên {len(HK_DEVICES)} thiết bị").is_visible()
    check(page, "hanh-trinh-khan-cap-3-xac-nhan-360", PHONE["width"], measurements)
    page.get_by_role("button", name="Phát khẩn cấp ngay").click()
    page.wait_for_url(re.compile(r"/khan-cap/\d+$"), timeout=60_000)  # TTS and the render run in the request
    assert "Đã phát lệnh khẩn cấp" in main_text(page)

    # The counter polls every second while the devices' acks come back over mosquitto.
    every = str(len(HK_DEVICES))
    expect(counter(page, "received")).to_have_text(every, timeout=30_000)
    expect(counter(page, "sounding")).to_have_text(every, timeout=30_000)
    expect(counter(page, "not-reached")).to_have_text("0")
    check(page, "hanh-trinh-khan-cap-4-phu-song-360", PHONE["width"], measurements)
    with site.container.engine.connect() as connection:
        cmd_id = connection.scalar(select(EmergencyRow.cmd_id).order_by(EmergencyRow.id.desc()).limit(1))
    acted = site.fleet.call(lambda: {d: set(site.fleet.fleet.device(d).acted_cmds) for d in site.devices})
    assert {d for d, cmds in acted.items() if cmd_id in cmds} == set(HK_DEVICES)  # not Cửa Nam's

    page.get_by_role("button", name="Dừng phát").click()
    page.wait_for_load_state("load")
    assert "Đã gửi lệnh dừng phát" in main_text(page)
    assert "đã dừng" in page.get_by_role("heading", level=1).inner_text()
    assert page.get_by_role("button", name="Dừng phát").count() == 0
    assert page.locator("#phu-song[hx-trigger]").count() == 0  # no more polling once it has ended
    check(page, "hanh-trinh-khan-cap-5-da-dung-360", PHONE["width"], measurements)
    wait_for(lambda: site.fleet.call(lambda: [site.fleet.fleet.device(d).current for d in HK_DEVICES])
             == [None] * len(HK_DEVICES), 20, poll_s=0.5, what="every loudspeaker silent after the stop")
    assert_clean(watch)
    context.close()


WRITES = """() => ({
    posts: [...document.querySelectorAll('form')]
        .filter(f => (f.getAttribute('method') || 'get').toLowerCase() === 'post')
        .map(f => new URL(f.action).pathname),
    htmx: [...document.querySelectorAll('[hx-post], [hx-put], [hx-patch], [hx-delete]')]
        .map(e => e.getAttribute('hx-post') || e.getAttribute('hx-put') || e.getAttribute('hx-patch')
                  || e.getAttribute('hx-delete')),
    editors: [...document.querySelectorAll('a[href]')].map(a => new URL(a.href).pathname)
        .filter(p => /[/](moi|sua)$/.test(p)),
})"""
# What a reader may still post: signing out, and a private calendar address of their own (a personal feed of
# approved schedules, no change to anything of the commune).
A_READERS_OWN = {"/dang-xuat", "/nhat-ky-phat/lich-rieng"}
FORBIDDEN_LOAD = "Failed to load resource: the server responded with a status of 403 (Forbidden)"


def test_a_viewer_and_another_communes_editor_see_and_do_only_what_they_may(site, browser, measurements, marks):
    pending = marks["pending"]
    context = phone_context(browser)
    page = context.new_page()
    watch = Watch().attach(page)
    sign_in(page, site.base, "theo-doi-ha-noi")
    menu = page.locator("nav[aria-label='Danh mục chính'] ul a").evaluate_all("links => links.map(a => a.href)")
    paths = [urlsplit(u).path for u in menu]
    assert paths == ["/", "/thu-vien", "/chuong-trinh", "/lich-phat", "/thiet-bi", "/canh-bao", "/nhat-ky-phat"]
    for path in [*paths, "/bao-cao", "/thiet-bi/khu-vuc", f"/lich-phat/{pending}", f"/thiet-bi/{HK_DEVICES[0]}"]:
        response = page.goto(site.base + path)
        assert response is not None and response.status == 200, path
        assert page.get_by_role("heading", level=1).is_visible(), path
        writes = page.evaluate(WRITES)
        assert set(writes["posts"]) <= A_READERS_OWN and writes["htmx"] == [] and writes["editors"] == [], \
            (path, writes)
        name = path.strip("/").replace("/", "-") or "trang-chu"
        check(page, f"hanh-trinh-nguoi-xem-{name}-360", PHONE["width"], measurements)
        if path == "/thiet-bi":  # a province's viewer sees every commune's loudspeakers
            assert all(device_name in main_text(page) for device_name in DEVICE_NAMES.values())
        if path == f"/lich-phat/{pending}":
            assert PENDING in main_text(page)
    assert_clean(watch)
    context.close()

    context = desktop_context(browser)
    page = context.new_page()
    watch = Watch().attach(page)
    sign_in(page, site.base, "can-bo-cua-nam")
    page.goto(site.base + "/thiet-bi")
    listed = main_text(page)
    assert DEVICE_NAMES[CN_DEVICE] in listed
    assert not any(DEVICE_NAMES[d] in listed or d in listed for d in HK_DEVICES)
    check(page, "hanh-trinh-xa-khac-thiet-bi-1280", DESKTOP["width"], measurements)
    page.goto(site.base + "/lich-phat")
    assert "/lich-phat/moi" in page.evaluate(WRITES)["editors"]  # an editor's own write controls are found
    check(page, "hanh-trinh-xa-khac-lich-phat-1280", DESKTOP["width"], measurements)
    page.goto(site.base + "/lich-phat/moi")
    communes = page.get_by_label("Xã, phường", exact=True).locator("option").evaluate_all(
        "options => options.map(o => o.value)")
    assert communes == [CUA_NAM]  # it may plan for its own commune only
    check(page, "hanh-trinh-xa-khac-lich-moi-1280", DESKTOP["width"], measurements)
    page.goto(site.base + "/chuong-trinh")
    assert PENDING not in main_text(page)
    check(page, "hanh-trinh-xa-khac-chuong-trinh-1280", DESKTOP["width"], measurements)
    for path in (f"/lich-phat/{pending}", f"/thiet-bi/{HK_DEVICES[0]}"):
        response = page.goto(site.base + path)
        assert response is not None and response.status == 403, path
        assert page.get_by_role("heading", name="Không thực hiện được").is_visible()
        assert DEVICE_NAMES[HK_DEVICES[0]] not in main_text(page) and PENDING not in main_text(page)
        check(page, f"hanh-trinh-xa-khac-{path.strip('/').replace('/', '-')}-1280", DESKTOP["width"], measurements)
    # A forged form post to the other commune's loudspeaker is refused by the same service the API uses.
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    refused = page.request.post(site.base + f"/thiet-bi/{HK_DEVICES[0]}/am-luong",
                                form={"csrf_token": token, "volume": "10"}, max_redirects=0)
    assert refused.status == 403
    # Chromium reports each refused page it was sent to, and nothing else went wrong.
    assert watch.foreign() == [] and watch.errors == [FORBIDDEN_LOAD] * 2, watch.errors
    context.close()
