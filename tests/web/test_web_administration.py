"""The administration pages: accounts (list, create with several roles, change roles, disable and enable, reset a
password), quiet hours per area with inheritance, and the audit log, through the real app and database (SQLite and
PostgreSQL)."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from broadcast.domain.audit import AuditEntry
from tests.support.app import CUA_NAM, HANOI, HOAN_KIEM, PASSWORD, add_user
from tests.support.web import csrf_of, post_form, sign_in

pytestmark = pytest.mark.integration
MORNING = datetime(2026, 11, 28, 1, 0, tzinfo=UTC)  # 08:00 in Vietnam


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def grants_of(container, username: str) -> list[tuple[str, str]]:
    uow = container.uow()
    with uow:
        return [(g.role.value, g.area_code) for g in uow.users.get_by_username(username).grants]


@pytest.fixture
def admins(container, clock):
    clock.current = MORNING
    add_user(container, "quan-tri", "admin", HANOI)
    add_user(container, "quan-tri-hk", "admin", HOAN_KIEM)
    add_user(container, "xem-cn", "viewer", CUA_NAM)


NEW_USER = {"ten_dang_nhap": "can-bo-moi", "ho_ten": "Trần Thị Bình", "mat_khau": PASSWORD, "nhap_lai": PASSWORD}


def test_only_admins_see_administration(client, admins):
    sign_in(client, "xem-cn")
    assert "Quản trị" not in text_of(client.get("/").text)
    for path in ("/quan-tri", "/quan-tri/nguoi-dung", "/quan-tri/khung-gio-phat", "/quan-tri/nhat-ky"):
        refused = client.get(path)
        assert refused.status_code == 403 and "không có quyền" in refused.text, path
    client.cookies.clear()
    sign_in(client, "quan-tri")
    home = client.get("/quan-tri")
    assert home.status_code == 200 and 'href="/quan-tri"' in home.text
    assert all(link in home.text for link in ("/quan-tri/nguoi-dung", "/quan-tri/khung-gio-phat", "/quan-tri/nhat-ky"))


def test_an_admin_creates_an_account_with_two_roles(container, client, admins):
    sign_in(client, "quan-tri")
    created = post_form(client, "/quan-tri/nguoi-dung", "/quan-tri/nguoi-dung", {
        **NEW_USER, "vai_tro": ["editor", "viewer"], "khu_vuc": [HOAN_KIEM, HANOI]})
    assert created.status_code == 303 and created.headers["location"] == "/quan-tri/nguoi-dung/can-bo-moi"
    assert grants_of(container, "can-bo-moi") == [("editor", HOAN_KIEM), ("viewer", HANOI)]
    page = text_of(client.get("/quan-tri/nguoi-dung/can-bo-moi").text)
    assert "Đã tạo tài khoản can-bo-moi với 2 vai trò." in page
    assert "Cán bộ biên tập · Phường Hoàn Kiếm" in page and "Người theo dõi · Thành phố Hà Nội" in page
    listing = text_of(client.get("/quan-tri/nguoi-dung").text)
    assert "can-bo-moi" in listing and "Trần Thị Bình" in listing and "Đang hoạt động" in listing
    client.cookies.clear()
    assert sign_in(client, "can-bo-moi").status_code == 303


def test_a_refused_account_keeps_what_was_typed(container, client, admins):
    sign_in(client, "quan-tri-hk")
    mismatch = post_form(client, "/quan-tri/nguoi-dung", "/quan-tri/nguoi-dung", {
        **NEW_USER, "nhap_lai": PASSWORD + "x", "vai_tro": ["viewer", ""], "khu_vuc": [HOAN_KIEM, ""]})
    assert mismatch.status_code == 422 and "Mật khẩu nhập lại không khớp." in mismatch.text
    assert 'value="can-bo-moi"' in mismatch.text and 'value="Trần Thị Bình"' in mismatch.text
    assert PASSWORD not in mismatch.text
    beyond = post_form(client, "/quan-tri/nguoi-dung", "/quan-tri/nguoi-dung", {
        **NEW_USER, "vai_tro": ["viewer", "viewer"], "khu_vuc": [HOAN_KIEM, HANOI]})
    assert beyond.status_code == 403 and "không có quyền quản lý tài khoản" in beyond.text  # a ward admin
    half = post_form(client, "/quan-tri/nguoi-dung", "/quan-tri/nguoi-dung", {
        **NEW_USER, "vai_tro": ["viewer", "editor"], "khu_vuc": [HOAN_KIEM, ""]})
    assert half.status_code == 422 and "Mỗi vai trò cần chọn một khu vực." in half.text
    none = post_form(client, "/quan-tri/nguoi-dung", "/quan-tri/nguoi-dung", {**NEW_USER, "vai_tro": ["", ""],
                                                                             "khu_vuc": ["", ""]})
    assert none.status_code == 422 and "ít nhất một vai trò" in none.text
    uow = container.uow()
    with uow:
        assert uow.users.get_by_username("can-bo-moi") is None


def test_disable_enable_and_change_roles(container, client, admins):
    sign_in(client, "quan-tri")
    disabled = post_form(client, "/quan-tri/nguoi-dung", "/quan-tri/nguoi-dung/xem-cn/khoa", {"tro_ve": "danh-sach"})
    assert disabled.status_code == 303 and disabled.headers["location"] == "/quan-tri/nguoi-dung"
    assert "Đã khóa tài khoản xem-cn" in text_of(client.get("/quan-tri/nguoi-dung").text)
    other = client.__class__(client.app)
    assert sign_in(other, "xem-cn").status_code == 401
    post_form(client, "/quan-tri/nguoi-dung/xem-cn", "/quan-tri/nguoi-dung/xem-cn/mo-khoa", {})
    assert sign_in(other, "xem-cn").status_code == 303

    changed = post_form(client, "/quan-tri/nguoi-dung/xem-cn", "/quan-tri/nguoi-dung/xem-cn/vai-tro", {
        "vai_tro": ["viewer", "approver", ""], "khu_vuc": [CUA_NAM, HOAN_KIEM, ""]})
    assert changed.status_code == 303
    assert grants_of(container, "xem-cn") == [("viewer", CUA_NAM), ("approver", HOAN_KIEM)]
    assert other.get("/nhat-ky-phat", params={"khu_vuc": HOAN_KIEM}).status_code == 200  # at once

    own = client.get("/quan-tri/nguoi-dung/quan-tri").text
    assert "không thể tự thay đổi vai trò" in own and "/quan-tri/nguoi-dung/quan-tri/vai-tro" not in own
    refused = client.post("/quan-tri/nguoi-dung/quan-tri/khoa", data={"csrf_token": csrf_of(own)},
                          follow_redirects=False)
    assert refused.status_code == 422 and "Không thể tự khóa" in refused.text


def test_a_ward_admin_manages_the_ward_only(client, admins):
    sign_in(client, "quan-tri-hk")
    listing = text_of(client.get("/quan-tri/nguoi-dung").text)
    assert "quan-tri-hk" in listing and "xem-cn" not in listing and "quan-tri " not in listing
    assert client.get("/quan-tri/nguoi-dung/xem-cn").status_code == 404
    page = client.get("/quan-tri/nguoi-dung").text
    assert f'value="{HOAN_KIEM}"' in page and f'value="{CUA_NAM}"' not in page  # areas offered for grants


def test_quiet_hours_are_inherited_and_set_per_area(client, admins):
    sign_in(client, "quan-tri")
    province = post_form(client, "/quan-tri/khung-gio-phat", "/quan-tri/khung-gio-phat",
                         {"khu_vuc": HANOI, "khung_gio": "17:00-19:00, 06:00-07:30", "phut_toi_da": "", })
    assert province.status_code == 303
    ward = text_of(client.get("/quan-tri/khung-gio-phat", params={"khu_vuc": HOAN_KIEM}).text)
    assert "Kế thừa từ Thành phố Hà Nội" in ward
    assert "Thứ Hai Có 06:00-07:30, 17:00-19:00" in ward and "không giới hạn" in ward
    assert "Phường Hoàn Kiếm chưa tự đặt mục nào." in ward
    own = post_form(client, "/quan-tri/khung-gio-phat", "/quan-tri/khung-gio-phat",
                    {"khu_vuc": HOAN_KIEM, "khung_gio": "", "phut_toi_da": "45", "ngay": ["0", "1", "2", "3", "4"]})
    assert own.status_code == 303 and own.headers["location"] == f"/quan-tri/khung-gio-phat?khu_vuc={HOAN_KIEM}"
    ward = text_of(client.get(own.headers["location"]).text)
    assert "Đã lưu quy định khung giờ phát." in ward
    assert "Số phút tối đa mỗi ngày: 45" in ward
    assert "Thứ Sáu Có 06:00-07:30, 17:00-19:00" in ward and "Chủ nhật Không phát" in ward  # windows still inherited
    bad = post_form(client, "/quan-tri/khung-gio-phat", "/quan-tri/khung-gio-phat",
                    {"khu_vuc": HOAN_KIEM, "khung_gio": "07:00-06:00", "phut_toi_da": "45"})
    assert bad.status_code == 422 and "Khung giờ không hợp lệ" in bad.text and 'value="07:00-06:00"' in bad.text
    client.cookies.clear()
    sign_in(client, "quan-tri-hk")
    refused = post_form(client, "/quan-tri/khung-gio-phat", "/quan-tri/khung-gio-phat",
                        {"khu_vuc": HANOI, "khung_gio": "00:00-24:00"})
    assert refused.status_code == 403  # a ward admin does not set the province's hours


def test_the_audit_log_filters_pages_and_shows_local_times(container, client, admins):
    uow = container.uow()
    with uow:  # appended as they happen: oldest first
        uow.audit.append(AuditEntry(actor="quan-tri", action="policy.set", object_type="area", object_id=HANOI,
                                    at=MORNING - timedelta(days=2), area_code=HANOI,
                                    details={"max_minutes_per_day": 30}))
        for n in range(60):
            uow.audit.append(AuditEntry(actor="can-bo-hk", action="schedule.submit", object_type="schedule",
                                        object_id=str(n), at=MORNING - timedelta(minutes=59 - n),
                                        area_code=HOAN_KIEM, address="10.0.0.5"))
        uow.commit()
    sign_in(client, "quan-tri")
    first = client.get("/quan-tri/nhat-ky")
    rows = re.findall(r"<tr>(.*?)</tr>", first.text.split("<tbody>", 1)[1], flags=re.S)
    assert len(rows) == 50 and "08:00 28/11/2026" in text_of(rows[0])  # newest first, in Vietnam's time
    assert "Gửi duyệt lịch phát" in text_of(rows[0]) and "10.0.0.5" in text_of(rows[0])
    following = re.search(r'href="([^"]+)" rel="next"', first.text).group(1).replace("&amp;", "&")
    assert "Đặt khung giờ phát" in text_of(client.get(following).text)
    by_action = text_of(client.get("/quan-tri/nhat-ky", params={"hanh_dong": "policy.set"}).text)
    assert "08:00 26/11/2026" in by_action and "max_minutes_per_day: 30" in by_action
    assert "Gửi duyệt lịch phát" not in by_action.split("Các mục", 1)[1]
    by_actor = client.get("/quan-tri/nhat-ky", params={"nguoi": "quan-tri"}).text
    assert "can-bo-hk" not in text_of(by_actor).split("Các mục", 1)[1]
    by_day = client.get("/quan-tri/nhat-ky", params={"tu": "26/11/2026", "den": "26/11/2026"}).text
    assert "Đặt khung giờ phát" in by_day and "Gửi duyệt lịch phát" not in text_of(by_day).split("Các mục", 1)[1]
    wrong = client.get("/quan-tri/nhat-ky", params={"tu": "hôm qua"})
    assert wrong.status_code == 422 and "dd/mm/yyyy" in wrong.text
