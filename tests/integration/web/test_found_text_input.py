"""Names, titles and free texts on the real app and database (SQLite and PostgreSQL): control and invisible
formatting characters are refused with a Vietnamese 422 and nothing stored, text is stored in NFC and unique names
compare in NFC; the iCalendar feed escapes what it carries."""
from __future__ import annotations

import unicodedata

import pytest
from icalendar import Calendar
from sqlalchemy import func, select, update

from broadcast.persistence.models import (
    AreaRow,
    AudioAssetRow,
    AuditRow,
    DeviceRow,
    EmergencyRow,
    ProgrammeRow,
    ScheduleRow,
    UserRow,
    ZoneRow,
)
from tests.support.app import HANOI, HOAN_KIEM, PASSWORD, user

pytestmark = pytest.mark.integration
TITLE = "Tiếp sóng chương trình pháp luật"
TOMORROW_6 = "2026-11-29T06:00"  # the test clock is 2026-11-28 21:00 local


def count(container, model) -> int:
    with container.engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(model))


def programme_body(title=TITLE, law="Luật Hòa giải ở cơ sở") -> dict:
    return {"title": title, "area_code": HOAN_KIEM, "topic": "grassroots_mediation",
            "stream_url": "http://127.0.0.1:9/vov1", "stream_duration_s": 600,
            "legal_refs": [{"law": law, "number": "35/2013/QH13", "article": "Điều 9"}]}


def emergency_body(reason="Bão số 3 đổ bộ", text=None) -> dict:
    source = {"text": text} if text is not None else {"stream_url": "http://127.0.0.1:9/vov1", "stream_minutes": 5}
    return {"targets": {"areas": [HOAN_KIEM]}, "reason": reason, "expires_in_minutes": 30, **source}


ZONE = {"commune_code": HOAN_KIEM, "name": "Thôn Đông", "kind": "village"}
DEVICE = {"id": "hk-0009", "name": "Cụm loa chợ", "area_code": HOAN_KIEM}
NEW_USER = {"username": "can-bo-moi", "password": PASSWORD, "role": "viewer", "area_code": HOAN_KIEM}
TTS = {"text": "Xin chào bà con", "title": "Bản tin sáng", "area_code": HOAN_KIEM}
# role, path, body, table, the offending character
REFUSED = {
    "zone name NUL": ("admin", "/api/v1/zones", {**ZONE, "name": "Thôn\x00 Đông"}, ZoneRow, "U+0000"),
    "zone name bidi override": ("admin", "/api/v1/zones", {**ZONE, "name": "Thôn \u202eĐông"}, ZoneRow, "U+202E"),
    "zone description isolate": ("admin", "/api/v1/zones", {**ZONE, "description": "Gần chợ\u2066"}, ZoneRow,
                                 "U+2066"),
    "programme title bidi": ("editor", "/api/v1/programmes", programme_body(title="Luật \u202eHòa giải"),
                             ProgrammeRow, "U+202E"),
    "programme legal basis NUL": ("editor", "/api/v1/programmes", programme_body(law="Luật\x00"), ProgrammeRow,
                                  "U+0000"),
    "device name NUL": ("admin", "/api/v1/devices", {**DEVICE, "name": "Cụm loa\x00 chợ"}, DeviceRow, "U+0000"),
    "device vendor mark": ("admin", "/api/v1/devices", {**DEVICE, "vendor": "ABC\u200f"}, DeviceRow, "U+200F"),
    "full name mark": ("admin", "/api/v1/users", {**NEW_USER, "full_name": "Nguyễn\u200e Văn An"}, UserRow,
                       "U+200E"),
    "audio title BOM": ("editor", "/api/v1/audio/tts", {**TTS, "title": "\ufeffBản tin sáng"}, AudioAssetRow,
                        "U+FEFF"),
    "text to read ESC": ("editor", "/api/v1/audio/tts", {**TTS, "text": "Xin chào\x1b[2J bà con"}, AudioAssetRow,
                         "U+001B"),
    "emergency reason bidi": ("operator", "/api/v1/emergencies", emergency_body(reason="Bão \u202eđổ bộ"),
                              EmergencyRow, "U+202E"),
    "emergency text NUL": ("operator", "/api/v1/emergencies", emergency_body(text="Sơ tán\x00 ngay"), EmergencyRow,
                           "U+0000"),
}


@pytest.fixture
def people(container, client):
    return {"admin": user(container, client, "quan-tri", "admin", HANOI),
            "editor": user(container, client, "can-bo-vh", "editor", HOAN_KIEM),
            "approver": user(container, client, "chu-tich", "approver", HOAN_KIEM),
            "operator": user(container, client, "truc-ban", "emergency_operator", HOAN_KIEM)}


def refused_as_invalid_characters(response, character: str) -> None:
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_characters"
    assert "chứa ký tự điều khiển hoặc ký tự định dạng ẩn" in error["message"] and character in error["message"]


@pytest.mark.parametrize("case", REFUSED, ids=list(REFUSED))
def test_control_and_bidi_characters_are_refused_and_nothing_stored(container, client, people, case):
    role, path, body, table, character = REFUSED[case]
    before = count(container, table), count(container, AuditRow)
    response = client.post(path, headers=people[role].headers, json=body)
    refused_as_invalid_characters(response, character)
    assert (count(container, table), count(container, AuditRow)) == before


def test_a_rejection_reason_may_span_lines_but_not_hide_characters(container, client, people):
    pid = client.post("/api/v1/programmes", headers=people["editor"].headers, json=programme_body()).json()["id"]
    sid = client.post("/api/v1/schedules", headers=people["editor"].headers, json={
        "programme_id": pid, "targets": {"areas": [HOAN_KIEM]}, "start": TOMORROW_6}).json()["id"]
    assert client.post(f"/api/v1/schedules/{sid}/submit", headers=people["editor"].headers).status_code == 200
    url = f"/api/v1/schedules/{sid}/reject"
    refused = client.post(url, headers=people["approver"].headers, json={"reason": "Chưa phù hợp\x00"})
    refused_as_invalid_characters(refused, "U+0000")
    with container.engine.connect() as connection:
        assert connection.scalar(select(ScheduleRow.status).where(ScheduleRow.id == sid)) == "submitted"
    rejected = client.post(url, headers=people["approver"].headers,
                           json={"reason": "Chưa phù hợp.\r\nCần đổi giờ phát."})
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["rejection_reason"] == "Chưa phù hợp.\nCần đổi giờ phát."


def test_decomposed_text_is_stored_composed(container, client, people):
    nfd = unicodedata.normalize("NFD", TITLE)
    created = client.post("/api/v1/programmes", headers=people["editor"].headers, json=programme_body(title=nfd))
    assert created.status_code == 201, created.text
    assert created.json()["title"] == TITLE
    zone = client.post("/api/v1/zones", headers=people["admin"].headers,
                       json={**ZONE, "name": unicodedata.normalize("NFD", "Tổ dân phố số 3")})
    assert zone.status_code == 201 and zone.json()["name"] == "Tổ dân phố số 3"
    with container.engine.connect() as connection:
        assert connection.scalar(select(ProgrammeRow.title)) == TITLE
        assert connection.scalar(select(ZoneRow.name)) == "Tổ dân phố số 3"


def test_the_decomposed_twin_of_a_zone_name_is_the_same_name(container, client, people):
    admin = people["admin"].headers
    assert client.post("/api/v1/zones", headers=admin, json=ZONE).status_code == 201
    twin = {**ZONE, "name": unicodedata.normalize("NFD", ZONE["name"]), "slug": "thon-dong-moi"}
    assert twin["name"] != ZONE["name"]
    again = client.post("/api/v1/zones", headers=admin, json=twin)
    assert again.status_code == 409, again.text
    assert again.json()["error"]["code"] == "zone_exists"
    assert count(container, ZoneRow) == 1


def test_calendar_feed_escapes_what_it_carries(container, client, people):
    title = '=HYPERLINK("http://x.example";"Bấm"), tập 1; phần 2'
    pid = client.post("/api/v1/programmes", headers=people["editor"].headers,
                      json=programme_body(title=title)).json()["id"]
    legacy = client.post("/api/v1/programmes", headers=people["editor"].headers,
                         json=programme_body(title="Bản tin cũ")).json()["id"]
    with container.engine.begin() as connection:  # stored before titles were checked
        connection.execute(update(ProgrammeRow).where(ProgrammeRow.id == legacy).values(title="Bản tin\x1b[2J cũ"))
    for programme_id, start in ((pid, TOMORROW_6), (legacy, "2026-11-29T07:00")):
        sid = client.post("/api/v1/schedules", headers=people["editor"].headers, json={
            "programme_id": programme_id, "targets": {"areas": [HOAN_KIEM]}, "start": start}).json()["id"]
        client.post(f"/api/v1/schedules/{sid}/submit", headers=people["editor"].headers)
        assert client.post(f"/api/v1/schedules/{sid}/approve", headers=people["approver"].headers).status_code == 200
    with container.engine.begin() as connection:
        name = connection.scalar(select(AreaRow.name).where(AreaRow.code == HOAN_KIEM))
        connection.execute(update(AreaRow).where(AreaRow.code == HOAN_KIEM).values(name="Hoàn Kiếm, Hà Nội; thử"))
    try:
        response = client.get("/api/v1/schedules/calendar.ics", params={"area": HOAN_KIEM},
                              headers=people["editor"].headers)
    finally:  # areas are shared by the whole session
        with container.engine.begin() as connection:
            connection.execute(update(AreaRow).where(AreaRow.code == HOAN_KIEM).values(name=name))
    assert response.status_code == 200, response.text
    raw = response.content.decode()
    assert 'SUMMARY:=HYPERLINK("http://x.example"\\;"Bấm")\\, tập 1\\; phần 2' in raw.replace("\r\n ", "")
    assert "X-WR-CALNAME:Lịch phát thanh - Hoàn Kiếm\\, Hà Nội\\; thử" in raw.replace("\r\n ", "")
    assert "\x1b" not in raw
    calendar = Calendar.from_ical(response.content)
    assert sorted(str(e["summary"]) for e in calendar.walk("VEVENT")) == sorted([title, "Bản tin[2J cũ"])
