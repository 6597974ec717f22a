"""The schedules pages over the real app (SQLite and PostgreSQL): the week and month calendar, the form that builds
a weekly schedule for villages and counts the devices it reaches, the checks shown before submitting (quiet hours,
overlaps), editing and cancelling, and who sees which controls."""
from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from broadcast.services.areas import create_zone
from broadcast.services.context import Actor
from broadcast.services.devices import DeviceSpec, register_device
from tests.support.app import CUA_NAM, HANOI, HOAN_KIEM, add_user, user
from tests.support.web import approved_schedule, csrf_of, sign_in

pytestmark = pytest.mark.integration
MORNING = datetime(2026, 11, 28, 1, 0, tzinfo=UTC)  # 08:00 in Vietnam, Saturday 28/11/2026
WEEKLY_SENTENCE = "Thứ Hai, Thứ Tư, Thứ Sáu lúc 06:00, đến 31/12/2026"


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def reach_of(html: str) -> int:
    found = re.search(r"Số cụm loa nhận lịch: <strong>(\d+)</strong>", html)
    assert found, html
    return int(found.group(1))


@pytest.fixture
def commune(container, client, clock):
    """Hoàn Kiếm with three villages (two with loudspeakers), four devices and a stream programme."""
    clock.current = MORNING
    editor = user(container, client, "can-bo-hk", "editor", HOAN_KIEM)
    add_user(container, "chu-tich-hk", "approver", HOAN_KIEM)
    zones = [create_zone(container.uow(), clock, Actor(None), commune_code=HOAN_KIEM, name=f"Tổ dân phố số {n}",
                         kind="residential_group").id for n in (1, 2, 3)]
    for device_id, name, zone in (("loa-hk-1", "Cụm loa chợ", zones[0]), ("loa-hk-2", "Cụm loa đình", zones[0]),
                                  ("loa-hk-3", "Cụm loa trường", zones[1]), ("loa-hk-4", "Cụm loa bờ hồ", None)):
        register_device(container.uow(), clock, Actor(None),
                        DeviceSpec(device_id, name, HOAN_KIEM, zones=(zone,) if zone else ()))
    programme = client.post("/api/v1/programmes", headers=editor.headers, json={
        "title": "Luật Hòa giải ở cơ sở", "area_code": HOAN_KIEM, "topic": "grassroots_mediation",
        "stream_url": "http://127.0.0.1:9/vov1", "stream_duration_s": 900})
    assert programme.status_code == 201, programme.text
    return {"editor": editor, "zones": zones, "programme": programme.json()["id"]}


def weekly(commune, **changes) -> dict:
    """The form for Mondays, Wednesdays and Fridays at 06:00 until 31/12/2026, in villages 1 and 2."""
    data = {"programme_id": str(commune["programme"]), "area_code": HOAN_KIEM, "zones": commune["zones"][:2],
            "start_date": "2026-11-30", "start_time": "06:00", "repeat": "weekly", "interval": "1",
            "weekdays": ["0", "2", "4"], "end": "until", "until_date": "2026-12-31", "count": "", "volume": "70",
            "action": "submit"}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def send(client, action: str, data: dict, page: str = "/lich-phat/moi"):
    token = csrf_of(client.get(page).text)
    return client.post(action, data={**data, "csrf_token": token}, follow_redirects=False)


def preview(client, data: dict) -> str:
    token = csrf_of(client.get("/lich-phat/moi").text)
    answer = client.post("/lich-phat/xem-truoc", data=data, headers={"HX-Request": "true", "X-CSRF-Token": token})
    assert answer.status_code == 200, answer.text
    assert "<html" not in answer.text
    return answer.text


def schedules(client, who) -> list[dict]:
    return client.get("/api/v1/schedules", headers=who.headers).json()


def test_an_officer_builds_a_weekly_schedule_for_two_villages(client, commune):
    sign_in(client, "can-bo-hk")
    page = client.get("/lich-phat/moi")
    assert page.status_code == 200
    for label in ("Chương trình", "Xã, phường", "Tổ dân phố số 1", "Cụm loa chợ", "Ngày bắt đầu", "Giờ phát",
                  "Hằng tuần", "Thứ Hai", "Chủ Nhật", "Phát đến hết ngày", "Số lần phát"):
        assert label in page.text, label

    created = send(client, "/lich-phat/moi", weekly(commune))
    assert created.status_code == 303, text_of(created.text)
    sid = int(created.headers["location"].rsplit("/", 1)[1])
    stored = client.get(f"/api/v1/schedules/{sid}", headers=commune["editor"].headers).json()
    assert stored["rrule"] == "FREQ=WEEKLY;BYDAY=MO,WE,FR;UNTIL=20261231"
    assert stored["start"] == "2026-11-30T06:00:00" and stored["volume"] == 70
    assert stored["targets"]["zones"] == commune["zones"][:2] and stored["targets"]["areas"] == []
    assert stored["status"] == "submitted" and stored["area_code"] == HOAN_KIEM

    detail = client.get(f"/lich-phat/{sid}")
    words = text_of(detail.text)
    assert "Đã lưu và gửi lịch phát cho lãnh đạo duyệt." in words
    assert WEEKLY_SENTENCE in words and "chờ duyệt" in words
    assert "Số cụm loa nhận lịch 3" in words and "Tổ dân phố số 1; Tổ dân phố số 2" in words
    assert "Trùng với" not in words  # no overlap to report
    assert "Không vi phạm quy định giờ phát, không trùng giờ với lịch đã duyệt." in words


def test_the_form_counts_the_devices_the_targets_reach(client, commune):
    sign_in(client, "can-bo-hk")
    one, two, empty = commune["zones"]
    assert reach_of(preview(client, weekly(commune, zones=[one]))) == 2
    both = preview(client, weekly(commune, zones=[one, two]))
    assert reach_of(both) == 3 and WEEKLY_SENTENCE in both
    assert reach_of(preview(client, weekly(commune, zones=[one, two], devices=["loa-hk-4"]))) == 4
    assert reach_of(preview(client, weekly(commune, zones=None, whole_area="1"))) == 4
    nothing = preview(client, weekly(commune, zones=[empty]))
    assert reach_of(nothing) == 0 and "chưa tới được cụm loa nào" in nothing
    untargeted = preview(client, weekly(commune, zones=None))
    assert "Chưa chọn nơi phát" in untargeted


def test_a_schedule_that_reaches_no_device_is_refused(client, commune):
    sign_in(client, "can-bo-hk")
    for action in ("save", "submit"):
        refused = send(client, "/lich-phat/moi", weekly(commune, zones=[commune["zones"][2]], action=action))
        assert refused.status_code == 422
        assert "Lịch phát này chưa tới được cụm loa nào" in text_of(refused.text)
        assert 'value="2026-12-31"' in refused.text  # the form comes back as typed
    assert schedules(client, commune["editor"]) == []


def test_quiet_hours_are_shown_before_submitting_and_stop_the_submission(client, commune):
    sign_in(client, "can-bo-hk")
    early = weekly(commune, start_time="04:30")
    shown = text_of(preview(client, early))
    assert "Vi phạm quy định giờ phát" in shown
    assert "Buổi phát 04:30–04:45 Thứ Hai 30/11/2026 nằm ngoài khung giờ được phép (05:00–21:00)" in shown
    refused = send(client, "/lich-phat/moi", early)
    assert refused.status_code == 422
    assert "Chưa gửi duyệt được" in text_of(refused.text) and "nằm ngoài khung giờ được phép" in refused.text
    assert schedules(client, commune["editor"]) == []
    draft = send(client, "/lich-phat/moi", weekly(commune, start_time="04:30", action="save"))
    assert draft.status_code == 303  # a draft may wait; its page shows the same list
    page = text_of(client.get(draft.headers["location"]).text)
    assert "bản nháp" in page and "nằm ngoài khung giờ được phép (05:00–21:00)" in page


def test_an_overlap_of_the_same_class_is_shown_and_left_to_the_approver_only_when_asked(container, client, commune):
    approver = user(container, client, "pho-chu-tich-hk", "approver", HOAN_KIEM)
    morning = approved_schedule(client, commune["editor"], approver, title="Bản tin buổi sáng",
                                start="2026-11-30T06:00", rrule="FREQ=DAILY;COUNT=30")
    sign_in(client, "can-bo-hk")
    shown = text_of(preview(client, weekly(commune)))
    assert "Trùng giờ với lịch đã duyệt" in shown
    assert (f"Trùng với «Bản tin buổi sáng» (lịch số {morning}) 13 buổi, trên 3 cụm loa, buổi đầu tiên 06:00 "
            "Thứ Hai, 30/11/2026") in shown
    assert "cần lãnh đạo chọn lịch nào phát trước" in shown and "để lãnh đạo chọn" in shown
    refused = send(client, "/lich-phat/moi", weekly(commune))
    assert refused.status_code == 422 and "Chưa gửi duyệt được" in text_of(refused.text)
    assert [s["id"] for s in schedules(client, commune["editor"])] == [morning]  # nothing saved
    sent = send(client, "/lich-phat/moi", weekly(commune, leave_order="1"))
    assert sent.status_code == 303
    assert schedules(client, commune["editor"])[0]["status"] == "submitted"


def test_the_calendar_shows_each_week_and_month_in_local_time(container, client, commune):
    approver = user(container, client, "pho-chu-tich-hk", "approver", HOAN_KIEM)
    approved_schedule(client, commune["editor"], approver, title="Bản tin buổi sáng", start="2026-11-30T06:00",
                      rrule="FREQ=WEEKLY;BYDAY=MO,TH;COUNT=6")
    approved_schedule(client, commune["editor"], approver, title="Bản tin chờ duyệt", start="2026-12-01T17:00",
                      approve=False)
    approved_schedule(client, user(container, client, "can-bo-cn", "editor", CUA_NAM),
                      user(container, client, "chu-tich-cn", "approver", CUA_NAM), title="Tin phường Cửa Nam",
                      start="2026-12-01T09:00", area=CUA_NAM)
    add_user(container, "xem-hk", "viewer", HOAN_KIEM)
    sign_in(client, "xem-hk")
    week = text_of(client.get("/lich-phat", params={"ngay": "02/12/2026"}).text)
    assert "Tuần từ 30/11/2026 đến 06/12/2026" in week
    monday = week.split("Thứ Hai, 30/11/2026", 1)[1].split("Thứ Ba, 01/12/2026")[0]
    assert "06:00–06:15 Bản tin buổi sáng" in monday
    tuesday = week.split("Thứ Ba, 01/12/2026", 1)[1].split("Thứ Tư, 02/12/2026")[0]
    assert "17:00–17:15 Bản tin chờ duyệt" in tuesday and "chờ duyệt" in tuesday
    thursday = week.split("Thứ Năm, 03/12/2026", 1)[1].split("Thứ Sáu, 04/12/2026")[0]
    assert "06:00–06:15 Bản tin buổi sáng" in thursday
    assert "Không có buổi phát." in week.split("Thứ Sáu, 04/12/2026", 1)[1]
    assert "Tin phường Cửa Nam" not in week  # another ward

    month = client.get("/lich-phat", params={"xem": "thang", "ngay": "2026-12-15"}).text
    words = text_of(month)
    assert "Tháng 12/2026" in words
    assert "7 /12/2026 (Thứ Hai): 1 buổi phát" in words and "9 /12/2026 (Thứ Tư): 0 buổi phát" in words
    assert 'href="/lich-phat?xem=tuan&amp;ngay=07%2F12%2F2026"' in month  # a day opens its week
    later = text_of(client.get("/lich-phat", params={"xem": "thang", "ngay": "01/01/2027"}).text)
    assert "Tháng 01/2027" in later and "Bản tin buổi sáng" not in later  # six times only, all in December


def test_edit_and_cancel_through_the_schedule_page(client, commune):
    sign_in(client, "can-bo-hk")
    created = send(client, "/lich-phat/moi", weekly(commune, action="save"))
    sid = int(created.headers["location"].rsplit("/", 1)[1])
    form = client.get(f"/lich-phat/{sid}/sua").text
    assert 'value="2026-12-31"' in form and 'value="06:00"' in form
    assert re.search(r'name="weekdays" value="2" checked', form) and not re.search(r'value="1" checked', form)
    changed = send(client, f"/lich-phat/{sid}/sua",
                   weekly(commune, start_time="17:30", end="count", count="8", weekdays=["1", "3"], action="save"),
                   page=f"/lich-phat/{sid}/sua")
    assert changed.status_code == 303
    stored = client.get(f"/api/v1/schedules/{sid}", headers=commune["editor"].headers).json()
    assert stored["rrule"] == "FREQ=WEEKLY;BYDAY=TU,TH;COUNT=8" and stored["start"] == "2026-11-30T17:30:00"
    assert "Thứ Ba, Thứ Năm lúc 17:30, 8 lần" in text_of(client.get(f"/lich-phat/{sid}").text)

    submitted = send(client, f"/lich-phat/{sid}/gui-duyet", {}, page=f"/lich-phat/{sid}")
    assert submitted.status_code == 303 and "chờ duyệt" in text_of(client.get(f"/lich-phat/{sid}").text)
    cancelled = send(client, f"/lich-phat/{sid}/huy", {}, page=f"/lich-phat/{sid}")
    assert cancelled.status_code == 303
    page = text_of(client.get(f"/lich-phat/{sid}").text)
    assert "Đã hủy lịch phát." in page and "đã hủy" in page and "Hủy lịch phát" not in page


def test_a_viewer_sees_calendars_and_details_but_no_forms(container, client, commune):
    sign_in(client, "can-bo-hk")
    sid = int(send(client, "/lich-phat/moi", weekly(commune)).headers["location"].rsplit("/", 1)[1])
    client.cookies.clear()
    add_user(container, "xem-hk", "viewer", HOAN_KIEM)
    sign_in(client, "xem-hk")
    calendar = client.get("/lich-phat")
    assert calendar.status_code == 200 and 'href="/lich-phat"' in calendar.text  # in the menu
    assert "Tạo lịch phát" not in calendar.text and 'href="/duyet-lich"' not in calendar.text
    detail = client.get(f"/lich-phat/{sid}")
    assert detail.status_code == 200 and WEEKLY_SENTENCE in text_of(detail.text)
    assert detail.text.count("<form") == 1 and 'action="/dang-xuat"' in detail.text  # signing out only
    for path in ("/lich-phat/moi", f"/lich-phat/{sid}/sua", "/duyet-lich"):
        refused = client.get(path)
        assert refused.status_code == 403, path
    assert send(client, f"/lich-phat/{sid}/huy", {}, page=f"/lich-phat/{sid}").status_code == 403


def test_an_editor_of_another_commune_is_refused(container, client, commune):
    sign_in(client, "can-bo-hk")
    sid = int(send(client, "/lich-phat/moi", weekly(commune)).headers["location"].rsplit("/", 1)[1])
    client.cookies.clear()
    add_user(container, "can-bo-cn", "editor", CUA_NAM)
    sign_in(client, "can-bo-cn")
    assert client.get(f"/lich-phat/{sid}").status_code == 403
    assert "Luật Hòa giải ở cơ sở" not in client.get("/lich-phat", params={"ngay": "30/11/2026"}).text
    own = client.get("/lich-phat/moi").text
    assert f'value="{CUA_NAM}"' in own and f'value="{HOAN_KIEM}"' not in own
    foreign = send(client, "/lich-phat/moi", weekly(commune))
    assert foreign.status_code == 403 and "không có quyền" in text_of(foreign.text)
    token = csrf_of(client.get("/lich-phat/moi").text)
    peek = client.post("/lich-phat/xem-truoc", data=weekly(commune), headers={"X-CSRF-Token": token})
    assert peek.status_code == 403
    for action in (f"/lich-phat/{sid}/huy", f"/lich-phat/{sid}/gui-duyet", f"/lich-phat/{sid}/sua"):
        assert send(client, action, weekly(commune)).status_code == 403, action
    assert [s["status"] for s in schedules(client, commune["editor"])] == ["submitted"]


def test_without_javascript_choosing_a_commune_reloads_the_form_as_typed(container, client, commune):
    add_user(container, "can-bo-ha-noi", "editor", HANOI)  # a province officer: every ward of Hà Nội
    sign_in(client, "can-bo-ha-noi")
    first = client.get("/lich-phat/moi").text
    assert f'value="{CUA_NAM}"' in first and f'value="{HOAN_KIEM}"' in first and 'formmethod="get"' in first
    again = client.get("/lich-phat/moi", params={"area_code": HOAN_KIEM, "start_date": "2026-12-02",
                                                  "start_time": "07:15", "repeat": "daily", "end": "count",
                                                  "count": "5", "programme_id": str(commune["programme"])})
    assert again.status_code == 200
    assert re.search(rf'<option value="{HOAN_KIEM}" selected>', again.text)
    assert "Tổ dân phố số 1" in again.text and 'value="07:15"' in again.text
    assert "Hằng ngày lúc 07:15, 5 lần" in text_of(again.text)
