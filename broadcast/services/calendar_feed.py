"""An iCalendar feed of approved schedules for an area, so officers can see the plan in any calendar app.

icalendar escapes backslashes, commas, semicolons and line breaks of known text properties (SUMMARY, DESCRIPTION),
not of X- properties, and passes control characters through: both are handled here.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from icalendar import Calendar, Event, vRecur, vText

from broadcast.domain.auth import Action, Principal
from broadcast.domain.scheduling import Schedule
from broadcast.domain.text import printable
from broadcast.services.areas import get_area
from broadcast.services.ports import UnitOfWork
from broadcast.services.programmes import playable, programme_of


def _relevant(schedule: Schedule, area_codes: set[str]) -> bool:
    return schedule.area_code in area_codes or bool(area_codes.intersection(schedule.targets.areas))


def calendar_for_area(uow: UnitOfWork, principal: Principal, area_code: str, tz: str, *, host: str) -> bytes:
    with uow:
        area = get_area(uow, area_code)
        principal.require(Action.READ, area.chain())
        codes = set(area.chain()) | {a.code for a in uow.areas.list(parent_code=area.code, limit=10_000)}
        schedules = [s for s in uow.schedules.approved() if _relevant(s, codes)]
        programmes = {s.programme_id: programme_of(uow, s.programme_id) for s in schedules}
        ready = playable(uow, list(programmes.values()))
    calendar = Calendar()
    calendar.add("prodid", "-//LoaXa//Lich phat thanh//VI")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", vText(printable(f"Lịch phát thanh - {area.name}")))
    calendar.add("x-wr-timezone", tz)
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(tz)
    for schedule in schedules:
        programme = programmes[schedule.programme_id]
        start = datetime.fromisoformat(schedule.start_local).replace(tzinfo=zone)
        event = Event()
        event.add("uid", f"schedule-{schedule.id}@{host}")
        event.add("summary", printable(programme.title))  # titles stored before they were checked
        event.add("dtstart", start)
        event.add("duration", timedelta(seconds=max(1, -(-ready[programme.id].duration_ms // 1000))))
        event.add("dtstamp", schedule.decided_at or schedule.created_at)
        event.add("categories", [programme.topic])
        event.add("description", f"Mức ưu tiên: {programme.priority.label_vi}. Âm lượng: {schedule.volume}. "
                                 f"Duyệt bởi: {schedule.approver or ''}.")
        if schedule.rrule:
            event.add("rrule", vRecur.from_ical(schedule.rrule))
        for exdate in schedule.exdates:
            event.add("exdate", datetime.fromisoformat(exdate).replace(tzinfo=zone))
        calendar.add_component(event)
    return calendar.to_ical()
