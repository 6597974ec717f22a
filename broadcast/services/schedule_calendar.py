"""The schedules page's calendar: every occurrence of approved and waiting schedules that play in the user's areas
between two instants, and the schedules still being worked on (drafts, waiting, rejected)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from broadcast.domain.auth import Action, Principal
from broadcast.domain.priority import Priority
from broadcast.domain.scheduling import Schedule, ScheduleStatus
from broadcast.services.overview import reaches, top_areas
from broadcast.services.ports import UnitOfWork
from broadcast.services.programmes import playable

MAX_WAITING = 500  # submitted schedules drawn in the calendar; the approvals inbox lists them all
UNFINISHED = (ScheduleStatus.DRAFT, ScheduleStatus.SUBMITTED, ScheduleStatus.REJECTED)


@dataclass(frozen=True)
class CalendarSlot:
    schedule_id: int
    title: str
    priority: Priority
    status: ScheduleStatus
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Unfinished:
    schedule: Schedule
    title: str


def calendar_slots(uow: UnitOfWork, principal: Principal, start: datetime, end: datetime,
                   tz: str) -> list[CalendarSlot]:
    """Occurrences in [start, end) of the schedules that play in the principal's areas (a target inside one, or a
    province-wide target above one), approved or waiting for approval, in time order."""
    with uow:
        areas = top_areas(uow, principal.areas_for(Action.READ))
        waiting = uow.schedules.list(within_areas=frozenset(principal.areas_for(Action.READ)),
                                     status=ScheduleStatus.SUBMITTED.value, limit=MAX_WAITING)
        schedules = [s for s in (*uow.schedules.approved(), *waiting) if reaches(uow, s, areas)]
        programmes = {pid: p for pid in {s.programme_id for s in schedules}
                      if (p := uow.programmes.get(pid)) is not None}
        lengths = {pid: timedelta(milliseconds=max(ready.duration_ms, 1000))
                   for pid, ready in playable(uow, list(programmes.values())).items()}
        slots: list[CalendarSlot] = []
        for schedule in schedules:
            programme = programmes.get(schedule.programme_id)
            if programme is None:
                continue
            length = lengths[programme.id]
            slots.extend(CalendarSlot(schedule.id, programme.title, programme.priority, schedule.status, when,
                                      when + length)
                         for when in schedule.timing(tz).occurrences(start - length, end) if when + length > start)
    return sorted(slots, key=lambda s: (s.start, -s.priority.level, s.schedule_id))


def unfinished_schedules(uow: UnitOfWork, principal: Principal, *, limit: int = 20) -> list[Unfinished]:
    """Drafts, schedules waiting for approval and rejected ones in the principal's areas, newest first."""
    with uow:
        found: list[Schedule] = []
        for status in UNFINISHED:
            found.extend(uow.schedules.list(within_areas=frozenset(principal.areas_for(Action.READ)),
                                            status=status.value, limit=limit))
        found.sort(key=lambda s: s.id, reverse=True)
        return _titled(uow, found[:limit])


def _titled(uow: UnitOfWork, schedules: Sequence[Schedule]) -> list[Unfinished]:
    titles: dict[int, str] = {}
    for schedule in schedules:
        if schedule.programme_id not in titles:
            programme = uow.programmes.get(schedule.programme_id)
            titles[schedule.programme_id] = programme.title if programme else f"Chương trình số {schedule.programme_id}"
    return [Unfinished(s, titles[s.programme_id]) for s in schedules]
