"""Programmes, schedules, approval, policy and conflicts through the API (SQLite and PostgreSQL)."""
from __future__ import annotations

import pytest
from icalendar import Calendar
from sqlalchemy import func, select

from broadcast.persistence.models import AuditRow, ScheduleRow
from tests.support.app import CUA_NAM, HANOI, HCMC, HOAN_KIEM, VUNG_TAU, user

pytestmark = pytest.mark.integration
TOMORROW_6 = "2026-11-29T06:00"  # the test clock is 2026-11-28 21:00 local


@pytest.fixture
def people(container, client):
    return {
        "editor": user(container, client, "can-bo-vh", "editor", HOAN_KIEM),
        "approver": user(container, client, "chu-tich", "approver", HOAN_KIEM),
        "other_approver": user(container, client, "chu-tich-cn", "approver", CUA_NAM),
        "admin": user(container, client, "quan-tri", "admin", HANOI),
        "viewer": user(container, client, "tu-phap", "viewer", HANOI),
    }


def programme(client, who, priority="normal", title="Tiếp sóng chương trình pháp luật", seconds=900,
              area=HOAN_KIEM):
    response = client.post("/api/v1/programmes", headers=who.headers, json={
        "title": title, "area_code": area, "topic": "grassroots_mediation", "priority": priority,
        "stream_url": "http://127.0.0.1:9/vov1", "stream_duration_s": seconds,
        "legal_refs": [{"law": "Luật Hòa giải ở cơ sở", "number": "35/2013/QH13", "article": "Điều 9"}]})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def schedule(client, who, programme_id, start=TOMORROW_6, targets=None, **extra):
    return client.post("/api/v1/schedules", headers=who.headers, json={
        "programme_id": programme_id, "targets": {"areas": [HOAN_KIEM]} if targets is None else targets,
        "start": start, **extra})


def act(client, who, schedule_id, verb, body=None):
    return client.post(f"/api/v1/schedules/{schedule_id}/{verb}", headers=who.headers, json=body)


def count(container, model) -> int:
    with container.engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(model))


def test_draft_submit_approve_edit_cancel(client, people):
    pid = programme(client, people["editor"])
    created = schedule(client, people["editor"], pid, rrule="FREQ=WEEKLY;BYDAY=MO,WE,FR;COUNT=12", volume=70)
    assert created.status_code == 201, created.text
    sid = created.json()["id"]
    assert created.json()["status"] == "draft" and created.json()["status_label"] == "bản nháp"

    assert act(client, people["approver"], sid, "approve").status_code == 409  # not submitted yet
    assert act(client, people["editor"], sid, "submit").json()["status"] == "submitted"
    assert act(client, people["editor"], sid, "approve").status_code == 403  # an editor is no approver
    assert act(client, people["other_approver"], sid, "approve").status_code == 403  # another commune
    approved = act(client, people["approver"], sid, "approve")
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    assert approved.json()["approver"] == "chu-tich"

    body = {"programme_id": pid, "targets": {"areas": [HOAN_KIEM]}, "start": "2026-11-30T17:00",
            "rrule": "FREQ=WEEKLY;BYDAY=MO,WE,FR;COUNT=12", "volume": 75}
    edited = client.put(f"/api/v1/schedules/{sid}", headers=people["editor"].headers, json=body)
    assert edited.status_code == 200 and edited.json()["status"] == "submitted"  # back to the approver
    assert edited.json()["approver"] is None
    occurrences = client.get(f"/api/v1/schedules/{sid}/occurrences", params={"days": 14},
                             headers=people["viewer"].headers).json()
    assert [o["start"][:16] for o in occurrences[:3]] == ["2026-11-30T17:00", "2026-12-02T17:00", "2026-12-04T17:00"]

    cancelled = act(client, people["editor"], sid, "cancel")
    assert cancelled.json()["status"] == "cancelled"
    assert act(client, people["editor"], sid, "submit").status_code == 409


def test_approver_cannot_approve_own_schedule(container, client, people):
    admin = people["admin"]
    pid = programme(client, admin)
    sid = schedule(client, admin, pid).json()["id"]
    act(client, admin, sid, "submit")
    own = act(client, admin, sid, "approve")
    assert own.status_code == 403 and own.json()["error"]["code"] == "self_approval"
    assert act(client, people["approver"], sid, "approve").status_code == 200


def test_reject_needs_a_reason_and_returns_to_draft_on_edit(client, people):
    pid = programme(client, people["editor"])
    sid = schedule(client, people["editor"], pid).json()["id"]
    act(client, people["editor"], sid, "submit")
    assert act(client, people["approver"], sid, "reject", {"reason": " "}).status_code == 422
    rejected = act(client, people["approver"], sid, "reject", {"reason": "Nội dung chưa phù hợp"})
    assert rejected.json()["status"] == "rejected" and rejected.json()["rejection_reason"] == "Nội dung chưa phù hợp"
    body = {"programme_id": pid, "targets": {"areas": [HOAN_KIEM]}, "start": "2026-11-29T06:30"}
    edited = client.put(f"/api/v1/schedules/{sid}", headers=people["editor"].headers, json=body)
    assert edited.json()["status"] == "draft"


def test_quiet_hours_refuse_with_the_offending_occurrences(container, client, people):
    pid = programme(client, people["editor"])
    sid = schedule(client, people["editor"], pid, start="2026-11-30T03:15",
                   rrule="FREQ=DAILY;COUNT=3").json()["id"]
    refused = act(client, people["editor"], sid, "submit")
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert error["code"] == "policy_violation" and len(error["details"]) == 3
    assert all(v["code"] == "policy.outside_window" for v in error["details"])
    assert "03:15" in error["details"][0]["message"]
    with container.engine.connect() as connection:
        assert connection.scalar(select(ScheduleRow.status).where(ScheduleRow.id == sid)) == "draft"

    emergency = programme(client, people["admin"], priority="emergency", title="Cảnh báo lũ")
    night = schedule(client, people["admin"], emergency, start="2026-11-30T03:15").json()["id"]
    assert act(client, people["admin"], night, "submit").status_code == 200  # emergencies are exempt


def test_area_policy_is_inherited_and_overridable(client, people):
    admin = people["admin"]
    assert client.put(f"/api/v1/policies/{HANOI}", headers=admin.headers,
                      json={"windows": ["05:30-07:00", "17:00-19:00"], "weekdays": [0, 1, 2, 3, 4]}).status_code == 200
    inherited = client.get(f"/api/v1/policies/{HOAN_KIEM}", headers=people["viewer"].headers).json()
    assert inherited["effective"]["windows"][0] == ["05:30-07:00", "17:00-19:00"]
    assert inherited["effective"]["weekdays"] == [0, 1, 2, 3, 4]
    pid = programme(client, people["editor"])
    saturday = schedule(client, people["editor"], pid, start="2026-12-05T06:00").json()["id"]
    refused = act(client, people["editor"], saturday, "submit")
    assert refused.json()["error"]["details"][0]["code"] == "policy.weekday_not_allowed"
    assert client.put(f"/api/v1/policies/{HOAN_KIEM}", headers=admin.headers,
                      json={"weekdays": [0, 1, 2, 3, 4, 5, 6]}).status_code == 200
    assert act(client, people["editor"], saturday, "submit").status_code == 200
    assert client.put(f"/api/v1/policies/{HOAN_KIEM}", headers=people["editor"].headers,
                      json={"weekdays": [0]}).status_code == 403
    bad = client.put(f"/api/v1/policies/{HOAN_KIEM}", headers=admin.headers, json={"windows": ["25:00-26:00"]})
    assert bad.status_code == 422


def test_daily_minutes_cap(client, people):
    admin = people["admin"]
    client.put(f"/api/v1/policies/{HOAN_KIEM}", headers=admin.headers, json={"max_minutes_per_day": 20})
    pid = programme(client, people["editor"], seconds=900)
    first = schedule(client, people["editor"], pid, start="2026-11-29T06:00").json()["id"]
    act(client, people["editor"], first, "submit")
    assert act(client, people["approver"], first, "approve").status_code == 200
    second = schedule(client, people["editor"], pid, start="2026-11-29T17:00").json()["id"]
    refused = act(client, people["editor"], second, "submit")
    assert refused.status_code == 422 and refused.json()["error"]["details"][0]["code"] == "policy.daily_cap_exceeded"


def test_same_class_overlap_is_409_until_the_approver_orders_it(container, client, people, ):

    pid = programme(client, people["editor"])
    first = schedule(client, people["editor"], pid).json()["id"]
    act(client, people["editor"], first, "submit")
    act(client, people["approver"], first, "approve")
    # A device so that the two schedules share a loudspeaker.
    client.post("/api/v1/devices", headers=people["admin"].headers,
                json={"id": "hk-0001", "name": "Cụm loa 1", "area_code": HOAN_KIEM})
    second = schedule(client, people["editor"], pid, start="2026-11-29T06:10").json()["id"]
    clash = act(client, people["editor"], second, "submit")
    assert clash.status_code == 409, clash.text
    details = clash.json()["error"]["details"]
    assert details[0]["devices"] == ["hk-0001"] and details[0]["needs_decision"] is True
    assert {details[0]["winner_schedule_id"], details[0]["loser_schedule_id"]} == {str(first), str(second)}
    assert act(client, people["editor"], second, "submit", {"leave_order_to_approver": True}).status_code == 200
    assert act(client, people["approver"], second, "approve").status_code == 409
    ordered = act(client, people["approver"], second, "approve", {"rank": -1})
    assert ordered.status_code == 200 and ordered.json()["conflicts"][0]["decided_by"] == "rank"

    priority = programme(client, people["editor"], priority="priority", title="Thông báo ưu tiên")
    higher = schedule(client, people["editor"], priority, start="2026-11-29T06:05").json()["id"]
    wins = act(client, people["editor"], higher, "submit")
    assert wins.status_code == 200 and {c["decided_by"] for c in wins.json()["conflicts"]} == {"priority"}


@pytest.mark.parametrize("extra,code", [
    ({"targets": {"areas": ["99999"]}}, "area_not_found"),
    ({"targets": {"zones": ["01-00070-khong-co"]}}, "zone_not_found"),
    ({"targets": {"devices": ["no-such-device"]}}, "device_not_found"),
    ({"targets": {}}, "no_targets"),
    ({"start": "2026-11-01T06:00"}, "timing.start_in_past"),
    ({"start": "ngày mai"}, "timing.invalid_start"),
    ({"rrule": "FREQ=DAILY"}, "recurrence.unbounded"),
    ({"rrule": "FREQ=DAILY;COUNT=100000"}, "recurrence.too_many"),
    ({"rrule": "FREQ=WEEKLY;BYDAY=MO;UNTIL=20261101"}, "recurrence.empty"),
    ({"rrule": "FREQ=MONTHLY;BYMONTHDAY=1;COUNT=2"}, None),
    ({"volume": 150}, "invalid_input"),
])
def test_impossible_schedules_change_nothing(container, client, people, extra, code):
    pid = programme(client, people["editor"])
    before = count(container, ScheduleRow), count(container, AuditRow)
    response = schedule(client, people["editor"], pid, **extra)
    assert 400 <= response.status_code < 500, response.text
    if code:
        assert response.json()["error"]["code"] == code
    assert (count(container, ScheduleRow), count(container, AuditRow)) == before


def test_programme_with_audio_not_ready_cannot_be_submitted(container, client, people, tmp_path):
    from tests.support.audio_fixtures import generate

    class Hold:  # the render has not run yet
        def submit(self, job):
            pass

        def shutdown(self):
            pass

    container.jobs = Hold()
    wav = generate(tmp_path / "a.wav", seconds=2, rate=16000)
    with wav.open("rb") as fh:
        asset = client.post("/api/v1/audio", headers=people["editor"].headers,
                            data={"title": "Bài 1", "area_code": HOAN_KIEM}, files={"file": ("a.wav", fh)}).json()
    pid = client.post("/api/v1/programmes", headers=people["editor"].headers, json={
        "title": "Bài 1", "area_code": HOAN_KIEM, "audio_ids": [asset["id"]]}).json()["id"]
    sid = schedule(client, people["editor"], pid).json()["id"]
    refused = act(client, people["editor"], sid, "submit")
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "audio_not_ready"
    used = client.delete(f"/api/v1/audio/{asset['id']}", headers=people["editor"].headers)
    assert used.status_code == 409 and used.json()["error"]["code"] == "audio_in_use"


def test_calendar_feed_parses(client, people):
    pid = programme(client, people["editor"])
    sid = schedule(client, people["editor"], pid, rrule="FREQ=WEEKLY;BYDAY=TU,TH;COUNT=6",
                   exdates=["2026-12-03T06:00"]).json()["id"]
    act(client, people["editor"], sid, "submit")
    act(client, people["approver"], sid, "approve")
    draft = schedule(client, people["editor"], pid, start="2026-12-01T17:00").json()["id"]
    response = client.get("/api/v1/schedules/calendar.ics", params={"area": HOAN_KIEM},
                          headers=people["viewer"].headers)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/calendar")
    calendar = Calendar.from_ical(response.content)
    events = list(calendar.walk("VEVENT"))
    assert [str(e["summary"]) for e in events] == ["Tiếp sóng chương trình pháp luật"]
    event = events[0]
    assert event["rrule"]["FREQ"] == ["WEEKLY"] and event["rrule"]["COUNT"] == [6]
    assert event.decoded("dtstart").isoformat() == "2026-11-29T06:00:00+07:00"
    assert event.decoded("duration").total_seconds() == 900
    assert str(event["uid"]) == f"schedule-{sid}@localhost"
    assert f"schedule-{draft}@" not in response.text  # a draft is not planned


def _row(container, schedule_id):
    with container.engine.connect() as connection:
        return connection.execute(select(ScheduleRow).where(ScheduleRow.id == schedule_id)).one()


def test_a_schedule_uses_only_programmes_its_author_and_approver_may_read(container, client, people):
    editor, approver = people["editor"], people["approver"]
    outsider = user(container, client, "quan-tri-hcm", "admin", HCMC)
    foreign = {"province": programme(client, outsider, area=HCMC, title="Chương trình của TP Hồ Chí Minh"),
               "commune": programme(client, outsider, area=VUNG_TAU, title="Chương trình của phường Vũng Tàu"),
               "sibling": programme(client, people["admin"], area=CUA_NAM, title="Chương trình của phường Cửa Nam")}
    own = programme(client, editor)
    shared = programme(client, people["admin"], area=HANOI, title="Chương trình của thành phố")  # reused by communes
    assert client.get(f"/api/v1/programmes/{shared}", headers=editor.headers).status_code == 200
    assert client.get(f"/api/v1/programmes/{foreign['sibling']}", headers=editor.headers).status_code == 403

    before = count(container, ScheduleRow), count(container, AuditRow)
    for name, pid in foreign.items():
        refused = schedule(client, editor, pid, area_code=HOAN_KIEM)
        assert refused.status_code == 403, (name, refused.text)
        assert refused.json()["error"]["code"] == "programme_not_readable"
        assert f"chương trình số {pid}" in refused.json()["error"]["message"]
    assert (count(container, ScheduleRow), count(container, AuditRow)) == before

    sid = schedule(client, editor, own).json()["id"]
    assert schedule(client, editor, shared, area_code=HOAN_KIEM).status_code == 201
    for pid in foreign.values():
        body = {"programme_id": pid, "targets": {"areas": [HOAN_KIEM]}, "start": TOMORROW_6}
        moved = client.put(f"/api/v1/schedules/{sid}", headers=editor.headers, json=body)
        assert moved.status_code == 403 and moved.json()["error"]["code"] == "programme_not_readable"
    assert _row(container, sid).programme_id == own and count(container, AuditRow) == before[1] + 2

    # A province editor may read every programme of Hà Nội; Cửa Nam's approver may not read Hoàn Kiếm's.
    province_editor = user(container, client, "can-bo-so", "editor", HANOI)
    across = schedule(client, province_editor, own, targets={"areas": [CUA_NAM]}, area_code=CUA_NAM)
    assert across.status_code == 201, across.text
    assert act(client, province_editor, across.json()["id"], "submit").status_code == 200
    refused = act(client, people["other_approver"], across.json()["id"], "approve")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "programme_not_readable"
    assert _row(container, across.json()["id"]).status == "submitted"
    city_approver = user(container, client, "lanh-dao-tp", "approver", HANOI)
    assert act(client, city_approver, across.json()["id"], "approve").status_code == 200
    assert approver.username not in _row(container, across.json()["id"]).editors


def test_whoever_edited_a_schedule_cannot_approve_it(container, client, people):
    editor, admin = people["editor"], people["admin"]
    pid = programme(client, editor)
    created = schedule(client, editor, pid)
    sid = created.json()["id"]
    submitted = act(client, editor, sid, "submit")

    body = {"programme_id": pid, "targets": {"areas": [HOAN_KIEM]}, "start": "2026-11-29T06:30", "volume": 100}
    edited = client.put(f"/api/v1/schedules/{sid}", headers=admin.headers, json=body)
    assert edited.status_code == 200 and edited.json()["status"] == "submitted"
    refused = act(client, admin, sid, "approve")  # the admin may approve in Hà Nội, but not what it changed
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "self_approval"
    assert "sửa" in refused.json()["error"]["message"]
    assert _row(container, sid).status == "submitted"
    assert created.json()["editors"] == submitted.json()["editors"] == ["can-bo-vh"]
    assert edited.json()["editors"] == ["can-bo-vh", "quan-tri"]

    approved = act(client, people["approver"], sid, "approve", {"rank": 3})  # ordering is the approver's decision
    assert approved.status_code == 200 and approved.json()["editors"] == ["can-bo-vh", "quan-tri"]
    assert act(client, editor, sid, "cancel").json()["editors"] == ["can-bo-vh", "quan-tri"]
    assert client.get(f"/api/v1/schedules/{sid}", headers=people["viewer"].headers).json()["editors"] == \
        ["can-bo-vh", "quan-tri"]

    other = schedule(client, editor, pid, start="2026-11-29T17:00").json()["id"]
    act(client, editor, other, "submit")
    rejected = act(client, people["approver"], other, "reject", {"reason": "Chưa phù hợp"})
    assert rejected.json()["editors"] == ["can-bo-vh"]
    assert _row(container, other).editors == ["can-bo-vh"]
