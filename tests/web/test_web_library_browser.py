"""The library and programmes pages in Chromium on a phone: two files uploaded with a progress bar each, a recording
from a (fake) microphone heard back and saved, and a programme made from them in a chosen order; each page checked at
360 px (no sideways scroll, axe, weight, screenshot). The machinery is tests/support/browser.py."""
from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from broadcast.persistence.migrate import upgrade
from broadcast.services.area_catalog import official_areas
from broadcast.services.areas import seed_areas
from broadcast.services.context import Actor
from tests.support.app import HOAN_KIEM, add_user
from tests.support.audio_fixtures import espeak_wav, generate, require_binary
from tests.support.browser import CHROMIUM, PHONE, Site, Watch, check, phone_context, running_site, sign_in

pytestmark = pytest.mark.integration
READY_MS = 120_000  # rendering on a shared machine


def seed(container) -> None:
    upgrade(container.engine)
    seed_areas(container.uow(), container.clock, official_areas(), Actor(None))
    add_user(container, "can-bo-hk", "editor", HOAN_KIEM)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    require_binary("ffmpeg")
    with running_site(tmp_path_factory.mktemp("library-site"), seed) as running:
        yield running


@pytest.fixture(scope="module")
def sounds(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("sounds")
    return [generate(folder / "Tin hoa giai.ogg", kind="speechlike", seconds=3, rate=16000, lufs=-28),
            generate(folder / "Nhac hieu.wav", kind="sweep", seconds=2, rate=16000, lufs=-20)]


@pytest.fixture(scope="module")
def spoken_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What the fake microphone says: espeak-ng's Vietnamese, as 48 kHz 16-bit PCM the capture device reads."""
    require_binary("espeak-ng")
    folder = tmp_path_factory.mktemp("mic")
    raw = espeak_wav(folder / "raw.wav", "Xin thông báo tới toàn thể nhân dân trong phường về lịch tiêm chủng.")
    mic = folder / "micro.wav"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(raw), "-ar", "48000", "-ac", "1",
                    "-c:a", "pcm_s16le", str(mic)], check=True)
    return mic


def card(page, title: str):
    return page.locator("[data-assets] li.asset", has=page.get_by_role("link", name=title, exact=True))


def wait_ready(page, title: str) -> None:
    card(page, title).get_by_text("Sẵn sàng").wait_for(timeout=READY_MS)  # htmx polls the card every 2 s


def test_upload_two_files_with_progress(site, browser, measurements, sounds):
    context = phone_context(browser)
    page = context.new_page()
    watch = Watch().attach(page)
    sign_in(page, site.base, "can-bo-hk")
    page.goto(site.base + "/thu-vien")
    assert page.get_by_role("heading", name="Thư viện âm thanh").is_visible()
    check(page, "thu-vien-360", PHONE["width"], measurements)

    page.get_by_label("Tệp âm thanh (chọn được nhiều tệp)").set_input_files([str(p) for p in sounds])
    page.get_by_label("Chủ đề", exact=True).first.select_option(label="Hòa giải ở cơ sở")
    page.get_by_role("button", name="Tải lên").click()
    progress = page.locator("[data-upload] ~ [data-progress] li")
    progress.nth(1).get_by_text("Đã tải lên; tình trạng chuẩn hóa âm lượng ở thẻ của tệp bên dưới.").wait_for()
    assert progress.count() == 2
    assert page.locator("[data-progress] progress").evaluate_all("bars => bars.map(b => b.value)") == [100, 100]
    for title in ("Tin hoa giai", "Nhac hieu"):  # the file names, the title being left empty
        card(page, title).wait_for()
        wait_ready(page, title)
    words = card(page, "Tin hoa giai").inner_text()
    assert "Hòa giải ở cơ sở" in words and "LUFS" in words and "dBTP" in words
    assert card(page, "Tin hoa giai").locator("audio[src^='/media/']").count() == 1
    check(page, "thu-vien-da-tai-len-360", PHONE["width"], measurements)

    page.get_by_role("link", name="Tin hoa giai", exact=True).click()
    page.get_by_role("heading", name="Số đo và thông tin").wait_for()
    check(page, "thu-vien-tep-360", PHONE["width"], measurements)
    assert watch.foreign() == [] and watch.errors == []
    context.close()


def test_record_from_the_microphone_and_save(site, browser, measurements, spoken_wav):
    flags = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
             f"--use-file-for-fake-audio-capture={spoken_wav}"]
    # A second Chromium from the same Playwright (one Playwright per thread): its microphone says spoken_wav.
    microphone_browser = browser.browser_type.launch(executable_path=str(CHROMIUM), headless=True, args=flags)
    try:
        context = phone_context(microphone_browser, permissions=["microphone"])
        page = context.new_page()
        watch = Watch().attach(page)
        sign_in(page, site.base, "can-bo-hk")
        page.goto(site.base + "/thu-vien")
        section = page.locator("[data-recorder]")
        assert section.is_visible()  # the browser can record: the section shows itself, folded
        section.get_by_text("Ghi âm từ micrô").click()
        section.get_by_label("Tiêu đề bản ghi").fill("Thông báo tiêm chủng")
        section.get_by_role("button", name="Ghi âm").click()
        section.get_by_text("Đang ghi âm… 3 giây").wait_for()
        section.get_by_role("button", name="Dừng").click()
        section.get_by_text("Nghe lại, rồi bấm “Lưu bản ghi”.", exact=False).wait_for()
        playback = section.locator("audio[data-record-playback]")
        assert playback.is_visible() and playback.get_attribute("src").startswith("blob:")
        check(page, "thu-vien-ghi-am-360", PHONE["width"], measurements)
        section.get_by_role("button", name="Lưu bản ghi").click()
        section.get_by_text("Đã lưu bản ghi vào thư viện.").wait_for()
        wait_ready(page, "Thông báo tiêm chủng")
        assert "Thời lượng 0:0" in card(page, "Thông báo tiêm chủng").inner_text().replace("\n", " ")
        assert watch.foreign() == [] and watch.errors == []
        context.close()
    finally:
        microphone_browser.close()


def test_a_programme_from_these_assets(site, browser, measurements):
    context = phone_context(browser)
    page = context.new_page()
    watch = Watch().attach(page)
    sign_in(page, site.base, "can-bo-hk")
    page.goto(site.base + "/chuong-trinh")
    page.get_by_role("link", name="Tạo chương trình").click()
    page.wait_for_url(site.base + "/chuong-trinh/moi")
    check(page, "chuong-trinh-moi-360", PHONE["width"], measurements)

    page.get_by_label("Tên chương trình").fill("Tuyên truyền tiêm chủng và hòa giải")
    page.get_by_label("Phân loại bản tin").select_option(label="Ưu tiên")
    page.get_by_label("Chủ đề").select_option(label="Y tế, phòng chống dịch bệnh")
    first = page.get_by_label("Tệp thứ 1", exact=True)
    first.select_option(label=first.locator("option", has_text="Tin hoa giai").inner_text())
    second = page.get_by_label("Tệp thứ 2", exact=True)
    second.select_option(label=second.locator("option", has_text="Thông báo tiêm chủng").inner_text())
    page.get_by_role("button", name="Đưa tệp thứ 2 lên trên").click()  # the recording first
    assert "Thông báo tiêm chủng" in page.get_by_label("Tệp thứ 1", exact=True).evaluate(
        "s => s.selectedOptions[0].textContent")
    page.get_by_role("button", name="Thêm dòng chọn tệp").click()
    assert page.get_by_label("Tệp thứ 4", exact=True).is_visible()
    page.get_by_label("Tên văn bản").fill("Luật Phòng, chống bệnh truyền nhiễm")
    page.get_by_label("Số hiệu").fill("03/2007/QH12")
    page.get_by_role("button", name="Thêm căn cứ pháp lý").click()
    page.get_by_label("Tên văn bản").nth(1).fill("Luật Hòa giải ở cơ sở")
    assert page.locator("[data-content=stream]").is_hidden()  # audio is chosen: the stream part hides
    page.get_by_role("button", name="Lưu chương trình").click()
    page.get_by_text("Đã tạo chương trình").wait_for()
    assert urlsplit(page.url).path.startswith("/chuong-trinh/")

    content = page.locator("ol.items > li")
    assert content.count() == 2
    assert "Thông báo tiêm chủng" in content.nth(0).inner_text() and "Tin hoa giai" in content.nth(1).inner_text()
    words = page.locator("main").inner_text()
    assert "Ưu tiên" in words and "Luật Phòng, chống bệnh truyền nhiễm số 03/2007/QH12" in words
    assert "Luật Hòa giải ở cơ sở" in words
    check(page, "chuong-trinh-chi-tiet-360", PHONE["width"], measurements)

    page.goto(site.base + "/chuong-trinh?q=tiem chung")
    assert page.get_by_role("link", name="Tuyên truyền tiêm chủng và hòa giải").is_visible()
    check(page, "chuong-trinh-360", PHONE["width"], measurements)
    assert watch.foreign() == [] and watch.errors == []
    context.close()
