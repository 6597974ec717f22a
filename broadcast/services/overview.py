"""The home page's figures for a signed-in user: what plays in their areas now, next and today, how many devices are
online, which schedules wait for approval, and what failed or was missed in the last day."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from broadcast.domain.areas import Area
from broadcast.domain.auth import Action, Principal
from broadcast.domain.priority import Priority
from broadcast.domain.scheduling import Programme, Schedule, ScheduleStatus, TargetSet
from broadcast.services.areas import get_area
from broadcast.services.ports import PlayLogEntry, PlayLogQuery, UnitOfWork
from broadcast.services.programmes import playable
from broadcast.services.reports.aggregates import day_bounds, local_day

LOOKAHEAD = timedelta(days=7)  # "next" may be later this week
PROBLEM_WINDOW = timedelta(days=1)
PROBLEMS_SHOWN = 5
WAITING_SHOWN = 5
PROBLEM_OUTCOMES = ("failed", "missed")


@dataclass(frozen=True)
class Slot:
    """One occurrence of an approved schedule."""

    schedule_id: int
    title: str
    priority: Priority
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Waiting:
    schedule: Schedule
    title: str


@dataclass(frozen=True)
class Overview:
    now: datetime
    areas: tuple[Area, ...]  # the user's areas, none inside another
    playing: tuple[Slot, ...]
    upcoming: Slot | None
    today: tuple[Slot, ...]
    devices: int
    online: int
    waiting: tuple[Waiting, ...]  # the first few submitted schedules
    waiting_count: int
    may_approve: bool
    failed: int
    missed: int
    problems: tuple[PlayLogEntry, ...]  # the latest failures and misses

    @property
    def offline(self) -> int:
        return self.devices - self.online


def top_areas(uow: UnitOfWork, codes: Iterable[str]) -> tuple[Area, ...]:
    """The areas, without those lying under another one of them (a commune inside a granted province)."""
    areas = {code: get_area(uow, code) for code in codes}
    return tuple(sorted((a for a in areas.values() if not any(c in areas for c in a.chain()[1:])),
                        key=lambda a: a.code))


def _target_chains(uow: UnitOfWork, targets: TargetSet) -> Iterable[tuple[str, ...]]:
    """Area chains of the included targets, lazily: the caller stops at the first that concerns it."""
    for code in targets.areas:
        if (area := uow.areas.get(code)) is not None:
            yield area.chain()
    for zone_id in targets.zones:
        if (zone := uow.zones.get(zone_id)) is not None and (area := uow.areas.get(zone.commune_code)) is not None:
            yield area.chain()
    for device_id in targets.devices:
        if (device := uow.devices.get(device_id)) is not None:
            yield device.area_chain()


def reaches(uow: UnitOfWork, schedule: Schedule, areas: Sequence[Area]) -> bool:
    """Whether the schedule plays somewhere in the areas: a target inside one of them, or above one (a province-wide
    schedule plays in each of its communes)."""
    mine = {a.code for a in areas}
    above = {code for a in areas for code in a.chain()}
    return any(chain[0] in above or mine.intersection(chain) for chain in _target_chains(uow, schedule.targets))


def _slot(schedule: Schedule, programme: Programme, start: datetime, length: timedelta) -> Slot:
    return Slot(schedule.id, programme.title, programme.priority, start, start + length)


def _slots(uow: UnitOfWork, schedules: Sequence[Schedule], tz: str, start: datetime, end: datetime,
           now: datetime) -> tuple[list[Slot], Slot | None]:
    """Occurrences between start and end, and the first one starting after now (within the look-ahead)."""
    programmes = {p.id: p for p in (uow.programmes.get(pid) for pid in {s.programme_id for s in schedules}) if p}
    lengths = {pid: max(ready.duration_ms, 1000) for pid, ready in playable(uow, list(programmes.values())).items()}
    slots: list[Slot] = []
    upcoming: Slot | None = None
    for schedule in schedules:
        programme = programmes.get(schedule.programme_id)
        if programme is None:
            continue
        length = timedelta(milliseconds=lengths[programme.id])
        timing = schedule.timing(tz)
        slots.extend(_slot(schedule, programme, when, length) for when in timing.occurrences(start, end))
        following = next(iter(timing.occurrences(now + timedelta(seconds=1), now + LOOKAHEAD)), None)
        if following is not None and (upcoming is None or following < upcoming.start):
            upcoming = _slot(schedule, programme, following, length)
    slots.sort(key=lambda s: (s.start, -s.priority.level, s.schedule_id))
    return slots, upcoming


def _waiting(uow: UnitOfWork, principal: Principal) -> tuple[list[Waiting], int]:
    found = uow.schedules.list(within_areas=frozenset(principal.areas_for(Action.READ)),
                               status=ScheduleStatus.SUBMITTED.value, limit=100)
    titles = {}
    for schedule in found[:WAITING_SHOWN]:
        if schedule.programme_id not in titles:
            programme = uow.programmes.get(schedule.programme_id)
            titles[schedule.programme_id] = programme.title if programme else ""
    return [Waiting(s, titles[s.programme_id]) for s in found[:WAITING_SHOWN]], len(found)


def _problems(uow: UnitOfWork, principal: Principal, since: datetime, until: datetime) -> list[PlayLogEntry]:
    scope = frozenset(principal.areas_for(Action.READ))
    entries = [e for outcome in PROBLEM_OUTCOMES
               for e in uow.playlog.list(PlayLogQuery(within_areas=scope, outcome=outcome, since=since, until=until,
                                                      limit=PROBLEMS_SHOWN))]
    entries.sort(key=lambda e: e.planned_start or e.recorded_at, reverse=True)
    return entries[:PROBLEMS_SHOWN]


def home_overview(uow: UnitOfWork, principal: Principal, now: datetime, tz: str) -> Overview:
    zone = ZoneInfo(tz)
    with uow:
        areas = top_areas(uow, principal.areas_for(Action.READ))
        schedules = [s for s in uow.schedules.approved() if reaches(uow, s, areas)]
        day_start, day_end = day_bounds(local_day(now, zone), zone)
        today, upcoming = _slots(uow, schedules, tz, day_start, day_end, now)
        counts = [c for area in areas for c in uow.reports.device_counts(area.code)]
        since = now - PROBLEM_WINDOW
        outcomes: dict[str, int] = {}
        for area in areas:
            for (_commune, outcome), n in uow.reports.outcome_counts(since, now, area.code).items():
                outcomes[outcome] = outcomes.get(outcome, 0) + n
        waiting, waiting_count = _waiting(uow, principal)
        return Overview(
            now=now, areas=areas, playing=tuple(s for s in today if s.start <= now < s.end), upcoming=upcoming,
            today=tuple(today), devices=sum(c.devices for c in counts), online=sum(c.online for c in counts),
            waiting=tuple(waiting), waiting_count=waiting_count,
            may_approve=bool(principal.areas_for(Action.APPROVE_SCHEDULES)),
            failed=outcomes.get("failed", 0), missed=outcomes.get("missed", 0),
            problems=tuple(_problems(uow, principal, since, now)))
