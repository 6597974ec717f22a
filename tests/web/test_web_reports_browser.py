"""The play log, reports and administration in a real browser: a province viewer on a desktop filters the play log
and downloads its CSV and a report's XLSX; an admin on a phone creates an account with two roles. Each page passes
the quality bars of tests/support/browser.py (360 px, axe-core, weight, screenshot)."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from openpyxl import load_workbook

from broadcast.persistence.migrate import upgrade
from broadcast.services.area_catalog import official_areas
from broadcast.services.areas import seed_areas
from broadcast.services.context import Actor
from broadcast.services.devices import DeviceSpec, register_device
from broadcast.services.ports import PlayLogEntry
from tests.support.app import CUA_NAM, HANOI, HOAN_KIEM, PASSWORD, add_user
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

pytestmark = pytest.mark.integration
OUTCOMES = ("played", "played", "missed", "played", "failed", "preempted")


def seed(container) -> None:
    """Two wards of Hà Nội with a device each and two days of plays (titles long enough to wrap on a phone)."""
    upgrade(container.engine)
    seed_areas(container.uow(), container.clock, official_areas(), Actor(None))
    now = container.clock.now()
    for device_id, commune in (("loa-hoan-kiem-1", HOAN_KIEM), ("loa-cua-nam-1", CUA_NAM)):
        register_device(container.uow(), container.clock, Actor(None),
                        DeviceSpec(device_id, f"Cụm loa {device_id}", commune))
    entries = []
    for n in range(24):
        at = now - timedelta(hours=2 * n + 1)
        device, commune = ("loa-hoan-kiem-1", HOAN_KIEM) if n % 3 else ("loa-cua-nam-1", CUA_NAM)
        outcome = OUTCOMES[n % len(OUTCOMES)]
        entries.append(PlayLogEntry(
            device, commune, f"occ-{n}", outcome, at, planned_start=at, planned_end=at + timedelta(minutes=10),
            started_at=at if outcome in ("played", "preempted") else None,
            ended_at=at + timedelta(minutes=10) if outcome in ("played", "preempted") else None,
            title=f"Tuyên truyền Luật Phòng, chống bạo lực gia đình năm 2022, buổi {n + 1}",
            reason="download_failed: không tải được tệp âm thanh" if outcome == "failed" else None))
    uow = container.uow()
    with uow:
        uow.playlog.add_many(entries)
        uow.commit()
    add_user(container, "so-tu-phap", "viewer", HANOI)
    add_user(container, "quan-tri", "admin", HANOI)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with running_site(tmp_path_factory.mktemp("reports-site"), seed) as running:
        yield running


def test_a_province_viewer_filters_the_play_log_and_downloads_files(site, browser, measurements, tmp_path):
    context = desktop_context(browser, accept_downloads=True)
    page = context.new_page()
    watch = Watch().attach(page)
    sign_in(page, site.base, "so-tu-phap")
    page.get_by_role("link", name="Nhật ký phát").click()
    page.wait_for_url(site.base + "/nhat-ky-phat")
    assert page.get_by_role("heading", name="Nhật ký phát", exact=True).is_visible()
    assert page.locator("table.records tbody tr").count() == 24
    check(page, "nhat-ky-phat-1280", DESKTOP["width"], measurements)

    page.get_by_label("Kết quả", exact=True).select_option("failed")
    page.get_by_label("Khu vực", exact=True).select_option(HOAN_KIEM)
    page.get_by_role("button", name="Lọc").click()
    page.wait_for_url(lambda url: "ket_qua=failed" in url)
    rows = page.locator("table.records tbody tr")
    assert rows.count() == 4 and all("lỗi" in rows.nth(i).inner_text() for i in range(4))
    assert "không tải được tệp âm thanh" in rows.first.inner_text()
    check(page, "nhat-ky-phat-loc-1280", DESKTOP["width"], measurements)

    with page.expect_download() as csv_download:
        page.get_by_role("link", name="Tải CSV (theo bộ lọc)").click()
    download = csv_download.value
    assert download.suggested_filename.startswith("Nhật ký phát ") and download.suggested_filename.endswith(".csv")
    saved = tmp_path / "nhat-ky.csv"
    download.save_as(saved)
    lines = list(csv.reader(io.StringIO(saved.read_text(encoding="utf-8-sig"))))
    assert lines[0][0] == "Thiết bị" and len(lines) == 1 + 4
    assert {line[13] for line in lines[1:]} == {"lỗi"} and {line[1] for line in lines[1:]} == {HOAN_KIEM}

    page.get_by_role("link", name="Báo cáo", exact=True).click()
    page.wait_for_url(site.base + "/bao-cao")
    page.get_by_label("Loại báo cáo").select_option("outcomes")
    page.get_by_role("button", name="Xem báo cáo").click()
    page.wait_for_url(lambda url: "loai=outcomes" in url)
    assert page.locator("figure.chart svg").count() == 1
    assert "Tổng cộng" in page.locator("main").inner_text()
    check(page, "bao-cao-1280", DESKTOP["width"], measurements)
    with page.expect_download() as xlsx_download:
        page.get_by_role("link", name="Tải Excel (XLSX)").click()
    download = xlsx_download.value
    assert download.suggested_filename.startswith("Kết quả phát theo xã, phường - Thành phố Hà Nội - ")
    assert download.suggested_filename.endswith(".xlsx")
    saved = tmp_path / "bao-cao.xlsx"
    download.save_as(saved)
    workbook = load_workbook(saved, read_only=True)
    assert workbook.sheetnames == ["Kết quả phát theo xã, phường"]
    values = [row for row in workbook.worksheets[0].iter_rows(values_only=True)]
    total = next(row for row in values if row[1] == "Tổng cộng")
    shown = page.locator("table.records tbody tr", has_text="Tổng cộng").locator("td").all_inner_texts()
    assert [str(v) for v in total[2:8]] == shown[2:8]  # the file holds the figures the page shows
    assert sum(total[2:7]) == total[7] > 0  # played, preempted, missed, failed, powered off; then the total

    assert watch.foreign() == [] and watch.errors == []
    context.close()


def test_the_play_log_reads_as_cards_on_a_phone(site, browser, measurements):
    context = phone_context(browser)
    page = context.new_page()
    watch = Watch().attach(page)
    sign_in(page, site.base, "so-tu-phap")
    page.goto(site.base + "/nhat-ky-phat")
    check(page, "nhat-ky-phat-360", PHONE["width"], measurements)
    page.goto(site.base + "/bao-cao")
    check(page, "bao-cao-360", PHONE["width"], measurements)
    assert watch.foreign() == [] and watch.errors == []
    context.close()


def test_an_admin_creates_an_account_with_two_roles_on_a_phone(site, browser, measurements):
    context = phone_context(browser)
    page = context.new_page()
    watch = Watch().attach(page)
    sign_in(page, site.base, "quan-tri")
    page.get_by_text("Danh mục").click()
    page.get_by_role("link", name="Quản trị").click()
    page.wait_for_url(site.base + "/quan-tri")
    check(page, "quan-tri-360", PHONE["width"], measurements)
    page.get_by_role("link", name="Tài khoản", exact=True).first.click()
    page.wait_for_url(site.base + "/quan-tri/nguoi-dung")
    check(page, "quan-tri-nguoi-dung-360", PHONE["width"], measurements)

    page.get_by_label("Tên đăng nhập").fill("can-bo-hoan-kiem")
    page.get_by_label("Họ và tên").fill("Lê Thị Hoa")
    page.get_by_label("Mật khẩu ban đầu").fill(PASSWORD)
    page.get_by_label("Nhập lại mật khẩu").fill(PASSWORD)
    page.get_by_label("Vai trò 1", exact=True).select_option("editor")
    page.get_by_label("Khu vực 1", exact=True).select_option(HOAN_KIEM)
    page.get_by_label("Vai trò 2", exact=True).select_option("viewer")
    page.get_by_label("Khu vực 2", exact=True).select_option(HANOI)
    page.get_by_role("button", name="+ Thêm vai trò").click()  # records.js: a third, empty row (ignored)
    assert page.get_by_label("Vai trò 3", exact=True).is_visible()
    check(page, "quan-tri-tao-tai-khoan-360", PHONE["width"], measurements)
    page.get_by_role("button", name="Tạo tài khoản").click()
    page.wait_for_url(site.base + "/quan-tri/nguoi-dung/can-bo-hoan-kiem")
    main = page.locator("main").inner_text()
    assert "Đã tạo tài khoản can-bo-hoan-kiem với 2 vai trò." in main
    assert "Cán bộ biên tập · Phường Hoàn Kiếm" in main and "Người theo dõi · Thành phố Hà Nội" in main
    check(page, "quan-tri-tai-khoan-360", PHONE["width"], measurements)

    for path, name in (("/quan-tri/khung-gio-phat", "quan-tri-khung-gio-360"), ("/quan-tri/nhat-ky",
                                                                                "quan-tri-nhat-ky-360")):
        page.goto(site.base + path)
        check(page, name, PHONE["width"], measurements)
    assert "Tạo tài khoản" in page.locator("main").inner_text()  # the audit log has the new account

    other = phone_context(browser)
    newcomer = other.new_page()
    sign_in(newcomer, site.base, "can-bo-hoan-kiem")
    assert urlsplit(newcomer.url).path == "/"
    other.close()
    assert watch.foreign() == [] and watch.errors == []
    context.close()
