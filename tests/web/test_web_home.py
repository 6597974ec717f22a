"""The home page for the signed-in user's area: now and next, today's timeline, devices, approvals waiting, failures
and misses of the last day, read through the services (SQLite and PostgreSQL)."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from broadcast.persistence.models import DeviceRow
from broadcast.services.context import Actor
from broadcast.services.devices import DeviceSpec, register_device
from broadcast.services.ports import PlayLogEntry
from tests.support.app import CUA_NAM, HANOI, HOAN_KIEM, add_user, user
from tests.support.web import approved_schedule, sign_in

pytestmark = pytest.mark.integration
MORNING = datetime(2026, 11, 28, 1, 0, tzinfo=UTC)  # 08:00 in Vietnam, Saturday 28/11/2026


def text_of(html: str) -> str:
    """The page's words in one line, tags dropped."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.fixture
def commune_day(container, client, clock):
    """Hoàn Kiếm: two approved programmes today (one daily), one waiting, three devices (one online), a failure and
    a miss in the last day; Cửa Nam: a programme of its own."""
    clock.current = MORNING
    people = {"editor": user(container, client, "can-bo-hk", "editor", HOAN_KIEM),
              "approver": user(container, client, "chu-tich-hk", "approver", HOAN_KIEM),
              "editor_cn": user(container, client, "can-bo-cn", "editor", CUA_NAM),
              "approver_cn": user(container, client, "chu-tich-cn", "approver", CUA_NAM)}
    approved_schedule(client, people["editor"], people["approver"], title="Luật Hòa giải ở cơ sở",
                      start="2026-11-28T08:30", rrule="FREQ=DAILY;COUNT=3")
    approved_schedule(client, people["editor"], people["approver"], title="Phòng chống lừa đảo qua mạng",
                      start="2026-11-28T10:00", priority="priority")
    approved_schedule(client, people["editor"], people["approver"], title="Bản tin chờ duyệt",
                      start="2026-11-28T16:00", approve=False)
    approved_schedule(client, people["editor_cn"], people["approver_cn"], title="Tin riêng phường Cửa Nam",
                      start="2026-11-28T09:00", area=CUA_NAM)
    for n in range(3):
        register_device(container.uow(), clock, Actor(None), DeviceSpec(f"loa-hk-{n}", f"Cụm loa {n}", HOAN_KIEM))
    register_device(container.uow(), clock, Actor(None), DeviceSpec("loa-cn-0", "Cụm loa Cửa Nam", CUA_NAM))
    with container.engine.begin() as connection:
        connection.execute(update(DeviceRow).where(DeviceRow.id.in_(["loa-hk-0", "loa-cn-0"])).values(online=True))
    uow = container.uow()
    with uow:
        yesterday = MORNING - timedelta(hours=5)
        uow.playlog.add_many([
            PlayLogEntry("loa-hk-1", HOAN_KIEM, "occ-a", "failed", yesterday, title="Bản tin tối",
                         planned_start=yesterday, reason="download_failed"),
            PlayLogEntry("loa-hk-2", HOAN_KIEM, "occ-a", "missed", yesterday, title="Bản tin tối",
                         planned_start=yesterday),
            PlayLogEntry("loa-hk-2", HOAN_KIEM, "occ-old", "failed", MORNING - timedelta(days=3),
                         title="Bản tin cũ", planned_start=MORNING - timedelta(days=3)),
            PlayLogEntry("loa-cn-0", CUA_NAM, "occ-b", "failed", yesterday, title="Tin Cửa Nam",
                         planned_start=yesterday)])
        uow.commit()
    clock.advance(minutes=35)  # 08:35: the daily programme is playing
    return people


def test_home_shows_what_plays_now_next_and_today_in_my_commune(container, client, commune_day):
    add_user(container, "xem-hk", "viewer", HOAN_KIEM)
    sign_in(client, "xem-hk")
    page = text_of(client.get("/").text)
    assert "Thứ Bảy, 28/11/2026" in page
    now = page.split("Đang phát", 1)[1].split("Tiếp theo")[0]
    assert "Luật Hòa giải ở cơ sở" in now and "08:30–08:45" in now
    after = page.split("Tiếp theo", 1)[1].split("Số liệu")[0]
    assert "Phòng chống lừa đảo qua mạng" in after and "lúc 10:00" in after and "ưu tiên" in after
    today = page.split("Lịch phát hôm nay", 1)[1].split("Chờ duyệt")[0]
    assert today.index("08:30–08:45") < today.index("10:00–10:15") and "đang phát" in today
    assert "Cửa Nam" not in page and "Bản tin chờ duyệt" not in today  # another commune; not approved


def test_home_counts_devices_approvals_and_problems_of_the_last_day(container, client, commune_day):
    add_user(container, "xem-hk", "viewer", HOAN_KIEM)
    sign_in(client, "xem-hk")
    page = text_of(client.get("/").text)
    assert "Thiết bị trực tuyến 1 / 3" in page and "Thiết bị mất kết nối 3" not in page
    assert "Thiết bị mất kết nối 2" in page
    assert "Lịch chờ duyệt 1" in page and "Bản tin chờ duyệt" in page
    assert "Lỗi phát (24 giờ qua) 1" in page and "Bỏ lỡ (24 giờ qua) 1" in page
    problems = page.split("Lỗi và bỏ lỡ 24 giờ qua", 1)[1]
    assert "loa-hk-1" in problems and "lỗi" in problems and "download_failed" in problems
    assert "loa-hk-2" in problems and "bỏ lỡ" in problems
    assert "Bản tin cũ" not in problems and "Tin Cửa Nam" not in problems


def test_a_province_viewer_sees_every_commune_and_the_panels_refresh_alone(container, client, commune_day):
    add_user(container, "tu-phap", "viewer", HANOI)
    sign_in(client, "tu-phap")
    page = text_of(client.get("/").text)
    assert "Thiết bị trực tuyến 2 / 4" in page and "Lỗi phát (24 giờ qua) 2" in page
    assert "Tin riêng phường Cửa Nam" in page  # 09:00, in Hà Nội as well
    panels = client.get("/trang-chu/bang-tin", headers={"HX-Request": "true"})
    assert panels.status_code == 200 and "<html" not in panels.text and 'hx-trigger="every' in panels.text
    assert "Luật Hòa giải ở cơ sở" in panels.text


def test_an_empty_area_says_so_in_vietnamese(container, client, clock):
    clock.current = MORNING
    add_user(container, "xem-cn", "viewer", CUA_NAM)
    sign_in(client, "xem-cn")
    page = text_of(client.get("/").text)
    for sentence in ("Không có chương trình nào đang phát.", "Chưa có lịch phát nào trong 7 ngày tới.",
                     "Hôm nay không có lịch phát nào đã duyệt.", "Không có lịch nào chờ duyệt.",
                     "Không có lỗi hay bỏ lỡ nào.", "Thiết bị trực tuyến 0 / 0"):
        assert sentence in page, sentence
