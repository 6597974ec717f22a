"""Priority bulletins (ưu tiên) go into the next allowed window of each target area, approved by the system.

A slot is the earliest start, at least `lead` from now and inside the bulletin's validity, that fits entirely
in an allowed window of the area's policy (inherited from the province) and breaks no rule of any commune it
reaches (daily cap included). If it overlaps one of the commune's own priority items of the same rank,
Circular 39 lets the commune decide the order: the schedule is left submitted, with the overlaps listed, for
the commune's approver (who approves with a rank or shifts the start).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from broadcast.domain.areas import Area, AreaLevel
from broadcast.domain.policy import effective_policy
from broadcast.domain.scheduling import Programme, Schedule, ScheduleStatus, TargetSet
from broadcast.services.context import Actor, audit
from broadcast.services.planning import (
    conflict_dicts,
    conflicts_for,
    load_plan,
    policy_violations,
    spec_for,
    unresolved,
)
from broadcast.services.ports import Clock, UnitOfWork
from broadcast.services.programmes import playable

HORIZON = timedelta(days=7)  # a priority bulletin without an end of validity is placed within a week
MAX_TRIES = 60  # candidate windows examined per area
CANDIDATE = "0"  # spec id of the schedule being placed (no stored schedule has id 0)
VOLUME = 80


class NoWindow(Exception):
    def __init__(self, area: Area):
        super().__init__(area.code)
        self.area = area


@dataclass(frozen=True)
class Placement:
    area_code: str
    schedule_id: int
    start: datetime
    status: str  # approved | submitted (awaiting the commune's decision)
    conflicts: tuple[dict, ...] = ()

    def to_dict(self) -> dict:
        return {"area_code": self.area_code, "schedule_id": self.schedule_id, "start": self.start.isoformat(),
                "status": self.status, "conflicts": list(self.conflicts)}


def disjoint(areas: Sequence[Area]) -> list[Area]:
    """Drop communes whose province is targeted too: one bulletin must not collide with itself."""
    provinces = {a.code for a in areas if a.level is AreaLevel.PROVINCE}
    return [a for a in areas if a.level is AreaLevel.PROVINCE or a.parent_code not in provinces]


def _ceil_minute(value: datetime) -> datetime:
    floor = value.replace(second=0, microsecond=0)
    return floor if floor == value else floor + timedelta(minutes=1)


def _candidates(uow: UnitOfWork, area: Area, earliest: datetime, deadline: datetime, length: timedelta, tz: str):
    """Window starts (or `earliest` inside a window) where the whole bulletin fits, in time order."""
    chain = [uow.policies.get(area.parent_code)] if area.parent_code else []
    policy = effective_policy([*chain, uow.policies.get(area.code)])
    zone = ZoneInfo(tz)
    day: date = earliest.astimezone(zone).date()
    while True:
        midnight = datetime(day.year, day.month, day.day, tzinfo=zone)
        if midnight > deadline:
            return
        if day.weekday() in policy.allowed_weekdays:
            for window in policy.windows[day.weekday()]:
                start = max(midnight + timedelta(minutes=window.start_minute), earliest)
                end = midnight + timedelta(minutes=window.end_minute)
                if start + length <= end and start + length <= deadline:
                    yield start
        day += timedelta(days=1)


def place_priority(uow: UnitOfWork, clock: Clock, actor: Actor, programme: Programme, areas: Sequence[Area], *,
                   tz: str, lead: timedelta, valid_from: datetime | None, valid_until: datetime | None,
                   bulletin_id: str) -> list[Placement]:
    """Write one schedule per target area, inside the caller's transaction; NoWindow when an area has no slot."""
    now = clock.now()
    plan = load_plan(uow, tz)
    ready = playable(uow, [programme])[programme.id]
    plan.programmes[programme.id], plan.playables[programme.id] = programme, ready
    length = timedelta(seconds=-(-max(ready.duration_ms, 1000) // 1000))
    earliest = _ceil_minute(max(now + lead, valid_from or now))
    deadline = valid_until or now + HORIZON
    zone = ZoneInfo(tz)
    placements = []
    for area in disjoint(areas):
        chosen = None
        for tries, start in enumerate(_candidates(uow, area, earliest, deadline, length, tz)):
            if tries >= MAX_TRIES:
                break
            candidate = Schedule(id=0, programme_id=programme.id, status=ScheduleStatus.SUBMITTED,
                                 targets=TargetSet(areas=(area.code,)),
                                 start_local=start.astimezone(zone).strftime("%Y-%m-%dT%H:%M:%S"), volume=VOLUME,
                                 area_code=area.code, author=actor.name, created_at=now)
            plan.specs[CANDIDATE] = spec_for(candidate, programme, ready, tz)
            if not policy_violations(uow, plan, CANDIDATE, now, tz):
                chosen = (candidate, start)
                break
        plan.specs.pop(CANDIDATE, None)
        if chosen is None:
            raise NoWindow(area)
        candidate, start = chosen
        plan.specs[CANDIDATE] = spec_for(candidate, programme, ready, tz)
        blocking = unresolved(conflicts_for(plan, CANDIDATE, now))
        plan.specs.pop(CANDIDATE)
        if blocking:
            schedule = uow.schedules.add(Schedule(**{**candidate.__dict__, "submitted_at": now}))
            audit(uow, clock, actor, "schedule.submit", "schedule", schedule.id, area_code=area.code,
                  bulletin_id=bulletin_id, overlaps=len(blocking))
        else:
            schedule = uow.schedules.add(Schedule(**{**candidate.__dict__, "status": ScheduleStatus.APPROVED,
                                                     "submitted_at": now, "approver": actor.name,
                                                     "decided_at": now}))
            audit(uow, clock, actor, "schedule.approve", "schedule", schedule.id, area_code=area.code,
                  bulletin_id=bulletin_id, overlaps=0)
            plan.specs[str(schedule.id)] = spec_for(schedule, programme, ready, tz)  # later areas see it
        placements.append(Placement(area.code, schedule.id, start, schedule.status.value,
                                    tuple(conflict_dicts(blocking))))
    return placements
