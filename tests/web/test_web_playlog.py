"""The play-log page (filters, pages, CSV of the same selection), the reports page and the private calendar address,
through the real app and database (SQLite and PostgreSQL)."""
from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

import pytest

from broadcast.services.context import Actor
from broadcast.services.devices import DeviceSpec, register_device
from broadcast.services.ports import PlayLogEntry
from tests.support.app import CUA_NAM, HANOI, HOAN_KIEM, add_user
from tests.support.web import csrf_of, post_form, sign_in

pytestmark = pytest.mark.integration
MORNING = datetime(2026, 11, 28, 1, 0, tzinfo=UTC)  # 08:00 in Vietnam, Saturday 28/11/2026
ROUTINE = 55  # more than one page of 50


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def rows_of(html: str) -> list[str]:
    """The text of each table row of the results."""
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in html else ""
    return [text_of(r) for r in re.findall(r"<tr>(.*?)</tr>", body, flags=re.S)]


def anonymous(client, path: str):
    """GET as a phone calendar does: no session cookie, no header."""
    saved = dict(client.cookies)
    client.cookies.clear()
    try:
        return client.get(path)
    finally:
        client.cookies.update(saved)


@pytest.fixture
def logged(container, clock):
    """Hoàn Kiếm: 55 routine plays over the last days, a failed evening bulletin yesterday, one play 10 days ago;
    Cửa Nam: a missed bulletin."""
    clock.current = MORNING
    for device_id, commune in (("loa-hk-1", HOAN_KIEM), ("loa-cn-1", CUA_NAM)):
        register_device(container.uow(), clock, Actor(None), DeviceSpec(device_id, f"Cụm loa {device_id}", commune))
    entries = []
    for n in range(ROUTINE):
        at = MORNING - timedelta(hours=2 * n + 3)
        entries.append(PlayLogEntry("loa-hk-1", HOAN_KIEM, f"occ-routine-{n}", "played", at, title=f"Tin sáng {n}",
                                    planned_start=at, started_at=at, ended_at=at + timedelta(minutes=5)))
    evening = datetime(2026, 11, 27, 12, 30, tzinfo=UTC)  # 19:30 on 27/11 in Hà Nội
    entries += [
        PlayLogEntry("loa-hk-1", HOAN_KIEM, "occ-evening", "failed", evening, title="Bản tin tối Hoàn Kiếm",
                     planned_start=evening, reason="download_failed", priority="priority"),
        PlayLogEntry("loa-hk-1", HOAN_KIEM, "occ-old", "played", MORNING - timedelta(days=10), title="Tin cũ",
                     planned_start=MORNING - timedelta(days=10)),
        PlayLogEntry("loa-cn-1", CUA_NAM, "occ-cn", "missed", evening, title="Bản tin tối Cửa Nam",
                     planned_start=evening)]
    uow = container.uow()
    with uow:
        uow.playlog.add_many(entries)
        uow.commit()
    add_user(container, "tu-phap", "viewer", HANOI)
    add_user(container, "xem-cn", "viewer", CUA_NAM)


def test_the_last_week_newest_first_a_page_at_a_time(client, logged):
    sign_in(client, "tu-phap")
    page = client.get("/nhat-ky-phat")
    assert page.status_code == 200
    html = page.text
    assert 'value="22/11/2026"' in html and 'value="28/11/2026"' in html  # the last 7 local days by default
    rows = rows_of(html)
    assert len(rows) == 50 and "Tin sáng 0" in rows[0] and "05:00 28/11/2026" in rows[0]  # 22:00 UTC the day before
    assert "đã phát" in rows[0] and "05:00–05:05" in rows[0]
    assert "Tin cũ" not in html
    following = re.search(r'href="([^"]+)" rel="next"', html)
    assert following, "a second page"
    second = client.get(following.group(1).replace("&amp;", "&"))
    rest = rows_of(second.text)
    assert len(rest) == ROUTINE + 2 - 50 and not re.search(r'rel="next"', second.text)
    assert re.search(r'rel="prev"', second.text)
    assert {r for r in rest}.isdisjoint(rows)


def test_filters_by_area_outcome_title_and_local_days(client, logged):
    sign_in(client, "tu-phap")
    failed = rows_of(client.get("/nhat-ky-phat", params={"ket_qua": "failed", "tu": "", "den": ""}).text)
    assert len(failed) == 1 and "Bản tin tối Hoàn Kiếm" in failed[0] and "19:30 27/11/2026" in failed[0]
    assert "download_failed" in failed[0] and "ưu tiên" in failed[0]
    by_title = rows_of(client.get("/nhat-ky-phat", params={"q": "bản tin TỐI", "tu": "", "den": ""}).text)
    assert len(by_title) == 2
    typed_bare = rows_of(client.get("/nhat-ky-phat", params={"q": "BAN TIN toi hoan kiem", "tu": "", "den": ""}).text)
    assert len(typed_bare) == 1  # as typed on a phone without Vietnamese keyboard: diacritics and case ignored
    in_ward = rows_of(client.get("/nhat-ky-phat", params={"khu_vuc": CUA_NAM, "tu": "", "den": ""}).text)
    assert len(in_ward) == 1 and "Cửa Nam" in in_ward[0] and "bỏ lỡ" in in_ward[0]
    # 27/11 in Hà Nội runs 26/11 17:00 to 27/11 17:00 UTC: the two evening bulletins and the routine plays of
    # 23:00, 21:00, ... 01:00 local (n = 3 to 14), not the one of 23:00 on 26/11.
    one_day = rows_of(client.get("/nhat-ky-phat", params={"tu": "27/11/2026", "den": "27/11/2026"}).text)
    assert len(one_day) == 2 + 12 and all("27/11/2026" in r for r in one_day)
    assert not any("Tin sáng 15" in r for r in one_day)
    assert rows_of(client.get("/nhat-ky-phat", params={"q": "tin cũ"}).text) == []  # the last 7 days by default
    assert len(rows_of(client.get("/nhat-ky-phat", params={"q": "tin cũ", "tu": "", "den": ""}).text)) == 1
    unlimited = client.get("/nhat-ky-phat", params={"tu": "", "den": ""}).text
    following = re.search(r'href="([^"]+)" rel="next"', unlimited).group(1).replace("&amp;", "&")
    assert any("Tin cũ" in r for r in rows_of(client.get(following).text))  # page 2 keeps "no date limit"
    wrong = client.get("/nhat-ky-phat", params={"tu": "31/02/2026"})
    assert wrong.status_code == 422 and "dd/mm/yyyy" in text_of(wrong.text)
    backwards = client.get("/nhat-ky-phat", params={"tu": "28/11/2026", "den": "20/11/2026"})
    assert backwards.status_code == 422 and "Ngày bắt đầu phải trước" in text_of(backwards.text)


def test_a_commune_viewer_sees_only_the_commune(client, logged):
    sign_in(client, "xem-cn")
    page = client.get("/nhat-ky-phat", params={"tu": "", "den": ""})
    assert [r for r in rows_of(page.text)] and all("Cửa Nam" in r for r in rows_of(page.text))
    assert "Hoàn Kiếm" not in text_of(page.text).split("Các lượt phát", 1)[1]
    refused = client.get("/nhat-ky-phat", params={"khu_vuc": HOAN_KIEM})
    assert refused.status_code == 403 and "không có quyền" in refused.text
    menu = text_of(page.text)
    assert "Nhật ký phát" in menu and "Quản trị" not in menu


def test_the_csv_holds_the_same_selection_with_a_vietnamese_name(client, logged):
    sign_in(client, "tu-phap")
    page = client.get("/nhat-ky-phat", params={"q": "bản tin", "tu": "27/11/2026", "den": "28/11/2026"}).text
    link = re.search(r'href="(/nhat-ky-phat\.csv\?[^"]+)"', page).group(1).replace("&amp;", "&")
    response = client.get(link)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    disposition = response.headers["content-disposition"]
    assert 'filename="nhat-ky-phat-28-11-2026-08h00.csv"' in disposition
    assert unquote(disposition.split("filename*=UTF-8''", 1)[1]) == "Nhật ký phát 28-11-2026 08h00.csv"
    lines = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert lines[0][:5] == ["Thiết bị", "Mã xã/phường", "Xã/phường", "Mã mục", "Chương trình"]
    assert sorted(line[4] for line in lines[1:]) == ["Bản tin tối Cửa Nam", "Bản tin tối Hoàn Kiếm"]
    assert {line[9] for line in lines[1:]} == {"2026-11-27 19:30:00"}  # local time
    client.cookies.clear()
    assert client.get(link, follow_redirects=False).status_code == 303  # the session cookie is required


def test_the_private_calendar_address_is_shown_once_rotated_and_revoked(client, logged):
    sign_in(client, "tu-phap")
    made = post_form(client, "/nhat-ky-phat", "/nhat-ky-phat/lich-rieng", {"khu_vuc": HOAN_KIEM})
    assert made.status_code == 200
    first = re.search(r'value="(http://[^"]+/lich/([^"/]+)\.ics)"', made.text)
    assert first and "chỉ hiện một lần" in made.text and "webcal://" in made.text
    path = "/lich/" + first.group(2) + ".ics"
    page = client.get("/nhat-ky-phat").text
    assert first.group(2) not in page and "Bạn đang có một địa chỉ lịch riêng" in page
    assert anonymous(client, path).status_code == 200

    rotated = post_form(client, "/nhat-ky-phat", "/nhat-ky-phat/lich-rieng", {"khu_vuc": HANOI})
    second = "/lich/" + re.search(r'/lich/([^"/]+)\.ics"', rotated.text).group(1) + ".ics"
    assert anonymous(client, path).status_code == 404 and anonymous(client, second).status_code == 200

    revoked = post_form(client, "/nhat-ky-phat", "/nhat-ky-phat/lich-rieng/thu-hoi", {})
    assert revoked.status_code == 303
    assert anonymous(client, second).status_code == 404
    assert "Đã thu hồi" in client.get("/nhat-ky-phat").text
    forged = client.post("/nhat-ky-phat/lich-rieng", data={"khu_vuc": HOAN_KIEM}, follow_redirects=False)
    assert forged.status_code == 403  # no CSRF token


def test_the_reports_page_draws_the_chart_and_offers_both_files(client, logged):
    sign_in(client, "tu-phap")
    page = client.get("/bao-cao", params={"loai": "outcomes", "khu_vuc": HANOI, "tu": "20/11/2026",
                                          "den": "28/11/2026"})
    assert page.status_code == 200
    html = page.text
    assert "<svg" in html and "Kết quả phát" in html and "từ 20/11/2026 đến 28/11/2026" in text_of(html)
    table = text_of(html.split("Kết quả phát theo xã, phường</h3>", 1)[1])
    assert "Tổng cộng" in table
    links = {fmt: re.search(rf'href="(/bao-cao/tai-ve\?[^"]*dinh_dang={fmt})"', html).group(1).replace("&amp;", "&")
             for fmt in ("csv", "xlsx")}
    xlsx = client.get(links["xlsx"])
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    assert "K%E1%BA%BFt%20qu%E1%BA%A3%20ph%C3%A1t" in xlsx.headers["content-disposition"]  # Kết quả phát
    text = client.get(links["csv"]).content.decode("utf-8-sig")
    assert "Kỳ báo cáo,20/11/2026 đến 28/11/2026" in text
    assert client.get("/bao-cao", params={"loai": "khong-co"}).status_code == 422
    assert client.get("/bao-cao/tai-ve", params={"dinh_dang": "pdf"}).status_code == 422


def test_forms_carry_a_csrf_token(client, logged):
    sign_in(client, "tu-phap")
    assert csrf_of(client.get("/nhat-ky-phat").text)
