"""From stored schedules to what the pure scheduler works on: specs, device directory, policy and conflicts."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from broadcast.domain.areas import AreaLevel
from broadcast.domain.conflicts import Occurrence, ScheduleConflict, conflict_between, find_overlaps
from broadcast.domain.devices import Device
from broadcast.domain.errors import InvalidInput, NotFound
from broadcast.domain.policy import Violation, check_policy, effective_policy
from broadcast.domain.priority import Priority
from broadcast.domain.scheduling import Programme, Schedule, TargetSet
from broadcast.scheduler.compiler import DeviceInfo, ScheduleSpec, Targets, hits
from broadcast.services.areas import get_area
from broadcast.services.ports import ScheduleUnitOfWork
from broadcast.services.programmes import Playable, playable, programme_of

CONFLICT_WINDOW = timedelta(days=35)  # five weeks shows every weekly pattern's overlaps
POLICY_WINDOW = timedelta(days=366)


def target_chains(uow: ScheduleUnitOfWork, targets: TargetSet) -> list[tuple[str, ...]]:
    """The area chain of every target (areas, zones' communes, devices' communes); unknown targets are refused."""
    if targets.empty:
        raise InvalidInput("Lịch phát phải có ít nhất một nơi phát (khu vực, vùng hoặc thiết bị).", code="no_targets")
    chains = []
    for code in (*targets.areas, *targets.exclude_areas):
        chains.append(get_area(uow, code).chain())
    for zone_id in (*targets.zones, *targets.exclude_zones):
        zone = uow.zones.get(zone_id)
        if zone is None:
            raise NotFound(f"Không tìm thấy vùng phát {zone_id}.", code="zone_not_found")
        chains.append(get_area(uow, zone.commune_code).chain())
    for device_id in (*targets.devices, *targets.exclude_devices):
        device = uow.devices.get(device_id)
        if device is None:
            raise NotFound(f"Không tìm thấy thiết bị {device_id}.", code="device_not_found")
        chains.append(device.area_chain())
    return chains


def compiler_targets(targets: TargetSet) -> Targets:
    return Targets(*(frozenset(v) for v in (targets.areas, targets.zones, targets.devices, targets.exclude_areas,
                                            targets.exclude_zones, targets.exclude_devices)))


def device_info(device: Device) -> DeviceInfo:
    return DeviceInfo(device.id, device.commune_code, device.province_code, frozenset(device.zones))


def spec_for(schedule: Schedule, programme: Programme, ready: Playable, tz: str) -> ScheduleSpec:
    return ScheduleSpec(id=str(schedule.id), programme_id=str(programme.id), priority=programme.priority,
                        timing=schedule.timing(tz), duration_ms=max(ready.duration_ms, 1000), volume=schedule.volume,
                        targets=compiler_targets(schedule.targets), rank=schedule.rank)


@dataclass
class Plan:
    """Approved schedules (plus an optional candidate) as specs, with their programmes and the device directory."""

    specs: dict[str, ScheduleSpec]
    programmes: dict[int, Programme]
    playables: dict[int, Playable]
    directory: dict[str, DeviceInfo]
    devices: dict[str, Device]


def load_plan(uow: ScheduleUnitOfWork, tz: str, *, candidate: Schedule | None = None) -> Plan:
    schedules = [s for s in uow.schedules.approved() if candidate is None or s.id != candidate.id]
    if candidate is not None:
        schedules.append(candidate)
    programmes: dict[int, Programme] = {}
    for schedule in schedules:
        if schedule.programme_id not in programmes:
            programmes[schedule.programme_id] = programme_of(uow, schedule.programme_id)
    playables = playable(uow, list(programmes.values()))
    specs: dict[str, ScheduleSpec] = {}
    for schedule in schedules:
        ready = playables[schedule.programme_id]
        if ready.not_ready and schedule is not candidate:
            continue  # an approved schedule whose audio vanished plays nothing rather than silence
        specs[str(schedule.id)] = spec_for(schedule, programmes[schedule.programme_id], ready, tz)
    devices = {d.id: d for d in uow.devices.directory()}
    return Plan(specs, programmes, playables, {i: device_info(d) for i, d in devices.items()}, devices)


def occurrences(spec: ScheduleSpec, start: datetime, end: datetime) -> list[Occurrence]:
    length = timedelta(seconds=-(-spec.duration_ms // 1000))
    return [Occurrence(spec.id, when, when + length, spec.priority, spec.rank)
            for when in spec.timing.occurrences(start, end)]


def hit_devices(plan: Plan, spec: ScheduleSpec) -> set[str]:
    return {d for d, info in plan.directory.items() if hits(spec.targets, info)}


def conflicts_for(plan: Plan, candidate_id: str, now: datetime) -> list[ScheduleConflict]:
    """Overlaps between the candidate and approved schedules on devices they share."""
    candidate = plan.specs[candidate_id]
    mine = hit_devices(plan, candidate)
    if not mine:
        return []
    end = now + CONFLICT_WINDOW
    own = occurrences(candidate, now, end)
    found = []
    for other_id, other in plan.specs.items():
        if other_id == candidate_id:
            continue
        shared = mine & hit_devices(plan, other)
        if not shared:
            continue
        theirs = occurrences(other, now, end)
        for a, b in find_overlaps(own + theirs):
            if {a.schedule_id, b.schedule_id} == {candidate_id, other_id}:
                found.append(conflict_between(a, b, tuple(sorted(shared))))
    return found


def unresolved(conflicts: Iterable[ScheduleConflict]) -> list[ScheduleConflict]:
    """Same class and same rank: nobody has decided which plays; the approver must (rank or shifted start)."""
    return [c for c in conflicts if c.needs_decision]


def policy_violations(uow: ScheduleUnitOfWork, plan: Plan, candidate_id: str, now: datetime,
                      tz: str) -> list[Violation]:
    """Check the candidate against the policy of every commune it reaches (inherited from the province)."""
    candidate = plan.specs[candidate_id]
    if candidate.priority is Priority.EMERGENCY:
        return []
    communes: dict[str, str | None] = {}
    for device_id in hit_devices(plan, candidate):
        info = plan.directory[device_id]
        communes[info.commune] = info.province
    for code in candidate.targets.areas:
        area = get_area(uow, code)
        if area.level is AreaLevel.COMMUNE:
            communes.setdefault(area.code, area.parent_code)
        elif not any(p == area.code for p in communes.values()):
            communes.setdefault(area.code, None)  # a province with no devices yet: its own policy
    end = now + POLICY_WINDOW
    own = occurrences(candidate, now, end)
    found: dict[tuple, Violation] = {}
    for commune, province in sorted(communes.items()):
        chain = [uow.policies.get(province)] if province else []
        policy = effective_policy([*chain, uow.policies.get(commune)])
        sharing = [s for sid, s in plan.specs.items() if sid != candidate_id
                   and (commune in s.targets.areas or (province and province in s.targets.areas))]
        others = [o for s in sharing for o in occurrences(s, now, end)]
        for violation in check_policy(own + others, policy, tz):
            if violation.schedule_id == candidate_id:
                found.setdefault((violation.code, violation.start), violation)
    return sorted(found.values(), key=lambda v: (v.start, v.code))


def conflict_dicts(conflicts: Sequence[ScheduleConflict]) -> list[dict]:
    return [{"winner_schedule_id": c.winner_schedule_id, "winner_start": c.winner_start.isoformat(),
             "loser_schedule_id": c.loser_schedule_id, "loser_start": c.loser_start.isoformat(),
             "decided_by": c.decided_by.value, "needs_decision": c.needs_decision, "message": c.message,
             "suggested_start": c.suggested_start.isoformat(), "devices": list(c.devices)[:50],
             "device_count": len(c.devices)}
            for c in conflicts]


def violation_dicts(violations: Sequence[Violation]) -> list[dict]:
    return [{"code": v.code, "start": v.start.isoformat(), "end": v.end.isoformat(), "message": v.message}
            for v in violations]
