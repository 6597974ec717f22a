"""An iCalendar feed of approved schedules for an area, so officers can see the plan in any calendar app.

RFC 5545: every DTSTART carries TZID=<zone> and the calendar holds that zone's VTIMEZONE (a phone does not have to
know the name); a recurrence's UNTIL is then a UTC date-time (YYYYMMDDTHHMMSSZ), whatever local form the schedule
stored it in. Categories are the programme's topic in Vietnamese.

icalendar escapes backslashes, commas, semicolons and line breaks of known text properties (SUMMARY, DESCRIPTION),
not of X- properties, and passes control characters through: both are handled here.
"""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, Timezone, vRecur, vText

from broadcast.domain.audio import TOPICS
from broadcast.domain.auth import Action, Principal
from broadcast.domain.recurrence import RRule, parse_rrule
from broadcast.domain.scheduling import Schedule
from broadcast.domain.text import printable
from broadcast.services.areas import get_area
from broadcast.services.ports import UnitOfWork
from broadcast.services.programmes import playable, programme_of


def _relevant(schedule: Schedule, area_codes: set[str]) -> bool:
    return schedule.area_code in area_codes or bool(area_codes.intersection(schedule.targets.areas))


def utc_until(until: datetime | date, zone: tzinfo) -> datetime:
    """UNTIL as an instant: a local date means its last second (the rule's UNTIL is inclusive), a naive time is
    local wall-clock time, an aware one is kept; all in UTC."""
    if isinstance(until, datetime):
        moment = until if until.tzinfo is not None else until.replace(tzinfo=zone)
    else:
        moment = datetime.combine(until, time(23, 59, 59), tzinfo=zone)
    return moment.astimezone(UTC)


def recurrence(rule: RRule, zone: tzinfo) -> vRecur:
    """The schedule's rule for a calendar: the canonical text with UNTIL in UTC."""
    recur = vRecur.from_ical(rule.to_string())
    if rule.until is not None:
        recur["UNTIL"] = [utc_until(rule.until, zone)]
    return recur


def category(topic: str) -> str:
    return TOPICS.get(topic, topic)


def calendar_for_area(uow: UnitOfWork, principal: Principal, area_code: str, tz: str, *, host: str) -> bytes:
    with uow:
        area = get_area(uow, area_code)
        principal.require(Action.READ, area.chain())
        codes = set(area.chain()) | {a.code for a in uow.areas.list(parent_code=area.code, limit=10_000)}
        schedules = [s for s in uow.schedules.approved() if _relevant(s, codes)]
        programmes = {s.programme_id: programme_of(uow, s.programme_id) for s in schedules}
        ready = playable(uow, list(programmes.values()))
    zone = ZoneInfo(tz)
    calendar = Calendar()
    calendar.add("prodid", "-//LoaXa//Lich phat thanh//VI")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", vText(printable(f"Lịch phát thanh - {area.name}")))
    calendar.add("x-wr-timezone", tz)
    starts = {s.id: datetime.fromisoformat(s.start_local).replace(tzinfo=zone) for s in schedules}
    # The zone's rules from the first event on (from the tz database), before the events that name it.
    first = min(starts.values(), default=None)
    calendar.add_component(Timezone.from_tzid(tz, first_date=first.date() - timedelta(days=1)) if first
                           else Timezone.from_tzid(tz))
    for schedule in schedules:
        programme = programmes[schedule.programme_id]
        start = starts[schedule.id]
        event = Event()
        event.add("uid", f"schedule-{schedule.id}@{host}")
        event.add("summary", printable(programme.title))  # titles stored before they were checked
        event.add("dtstart", start)
        event.add("duration", timedelta(seconds=max(1, -(-ready[programme.id].duration_ms // 1000))))
        event.add("dtstamp", (schedule.decided_at or schedule.created_at).astimezone(UTC))
        event.add("categories", [category(programme.topic)])
        event.add("description", f"Mức ưu tiên: {programme.priority.label_vi}. Âm lượng: {schedule.volume}. "
                                 f"Duyệt bởi: {schedule.approver or ''}.")
        if schedule.rrule:
            event.add("rrule", recurrence(parse_rrule(schedule.rrule), zone))
        for exdate in schedule.exdates:
            event.add("exdate", datetime.fromisoformat(exdate).replace(tzinfo=zone))
        calendar.add_component(event)
    return calendar.to_ical()
