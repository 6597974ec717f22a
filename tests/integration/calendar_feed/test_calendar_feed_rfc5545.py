"""The schedules' iCalendar feed follows RFC 5545 where phone calendars are strict: the zone's VTIMEZONE is in the
file, a recurrence's UNTIL is a UTC date-time, and categories are Vietnamese (SQLite and PostgreSQL)."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Calendar

from tests.support.app import HANOI, HOAN_KIEM, user
from tests.support.web import approved_schedule

pytestmark = pytest.mark.integration
ZONE = "Asia/Ho_Chi_Minh"


@pytest.fixture
def feed(container, client) -> str:
    editor = user(container, client, "can-bo-hk", "editor", HOAN_KIEM)
    approver = user(container, client, "chu-tich-hk", "approver", HOAN_KIEM)
    viewer = user(container, client, "tu-phap", "viewer", HANOI)
    approved_schedule(client, editor, approver, title="Luật Hòa giải ở cơ sở", start="2026-11-29T06:00",
                      rrule="FREQ=DAILY;UNTIL=20261210")  # a local date: its last second counts
    approved_schedule(client, editor, approver, title="Bản tin thứ Hai", start="2026-11-30T17:00",
                      rrule="FREQ=WEEKLY;BYDAY=MO;UNTIL=20261214T170000")  # local wall-clock time
    approved_schedule(client, editor, approver, title="Tin một lần", start="2026-12-01T07:00")
    response = client.get("/api/v1/schedules/calendar.ics", params={"area": HOAN_KIEM}, headers=viewer.headers)
    assert response.status_code == 200, response.text
    return response.text


def test_the_feed_carries_the_zone_it_names(feed):
    calendar = Calendar.from_ical(feed)
    zones = list(calendar.walk("VTIMEZONE"))
    assert [str(z["tzid"]) for z in zones] == [ZONE]
    rules = zones[0].subcomponents
    assert rules and rules[-1].decoded("tzoffsetto") == timedelta(hours=7)  # in force for every event
    assert feed.index("BEGIN:VTIMEZONE") < feed.index("BEGIN:VEVENT")
    events = feed[feed.index("BEGIN:VEVENT"):]
    starts = re.findall(r"^DTSTART[^\r\n]*", events, flags=re.M)
    assert len(starts) == 3 and all(s.startswith(f"DTSTART;TZID={ZONE}:") for s in starts)


def test_until_is_a_utc_date_time(feed):
    rules = re.findall(r"^RRULE:([^\r\n]*)", feed, flags=re.M)
    assert len(rules) == 2
    untils = sorted(re.search(r"UNTIL=([0-9TZ]+)", r).group(1) for r in rules)
    # 10/12/2026 23:59:59 and 14/12/2026 17:00 in Hà Nội, in UTC.
    assert untils == ["20261210T165959Z", "20261214T100000Z"]
    events = {str(e["summary"]): e for e in Calendar.from_ical(feed).walk("VEVENT")}
    daily = events["Luật Hòa giải ở cơ sở"]["rrule"]
    assert daily["UNTIL"] == [datetime(2026, 12, 10, 16, 59, 59, tzinfo=UTC)] and daily["FREQ"] == ["DAILY"]
    assert "rrule" not in events["Tin một lần"]


def test_categories_are_vietnamese(feed):
    events = list(Calendar.from_ical(feed).walk("VEVENT"))
    categories = {str(e["summary"]): [str(c) for c in e["categories"].cats] for e in events}
    assert categories["Luật Hòa giải ở cơ sở"] == ["Hòa giải ở cơ sở"]  # the topic grassroots_mediation
    assert "grassroots_mediation" not in feed
