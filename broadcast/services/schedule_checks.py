"""What submitting or approving a schedule would find, without refusing anything: the devices it reaches (the
dispatcher's own resolution), timing and audio problems, quiet-hour and cap violations, overlaps with approved
schedules. The web form shows this to the author before submitting, and the approver sees the same list.

It runs the functions the workflow's gate runs (services/schedules.py `_gate`: planning.load_plan,
policy_violations, conflicts_for), so what the preview says is what submission will say.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from broadcast.domain.auth import Action, Principal
from broadcast.domain.conflicts import ScheduleConflict
from broadcast.domain.devices import Device
from broadcast.domain.errors import DomainError, PermissionDenied
from broadcast.domain.policy import Violation
from broadcast.domain.scheduling import Programme, Schedule, TargetSet
from broadcast.scheduler.compiler import DeviceIndex
from broadcast.services.planning import (
    compiler_targets,
    conflicts_for,
    device_info,
    load_plan,
    policy_violations,
    target_chains,
)
from broadcast.services.ports import ScheduleUnitOfWork
from broadcast.services.programmes import may_read_programme, playable

NO_DEVICE = ("Lịch phát này chưa tới được cụm loa nào: hãy chọn xã, phường có thiết bị, một vùng phát có thiết bị "
             "hoặc chọn thiết bị cụ thể.")


def device_index(directory: Sequence[Device]) -> DeviceIndex:
    """Every device by area and zone, once, for callers that count the reach of many schedules."""
    return DeviceIndex({d.id: device_info(d) for d in directory})


def devices_reached(uow: ScheduleUnitOfWork, targets: TargetSet,
                    index: DeviceIndex | None = None) -> tuple[str, ...]:
    """Ids of the enabled devices the targets reach, as the compiler resolves them: through `index` when the
    caller built one (many schedules), else in the database (one schedule)."""
    if index is None:
        with uow:
            return tuple(uow.devices.reached_by(targets))
    return tuple(sorted(index.resolve(compiler_targets(targets))))


# Up to this many target sets, one reach query each beats loading every device once (about ten queries' worth at
# 10,000 devices); more, and one pass over the directory serves them all.
DIRECTORY_FROM = 10


def _area_only(targets: TargetSet) -> bool:
    return not (targets.zones or targets.devices or targets.exclude_zones or targets.exclude_devices)


def _area_reach(per_commune: Sequence[tuple[str, str | None, int]], targets: TargetSet) -> int:
    """The compiler's area rule (a device is in its commune and in the commune's province) over grouped counts."""
    wanted, unwanted = set(targets.areas), set(targets.exclude_areas)
    return sum(count for commune, parent, count in per_commune
               if {commune, parent} & wanted and not {commune, parent} & unwanted)


def reach_counts(uow: ScheduleUnitOfWork, target_sets: Sequence[TargetSet]) -> list[int]:
    """How many enabled devices each target set reaches, for a page that counts many schedules. Area-only sets (the
    usual schedule: communes or the province) are sums over one grouped count; the others are resolved one by one
    in the database, or through one device index when there are many of them."""
    with uow:
        per_commune = uow.devices.enabled_per_commune() if any(map(_area_only, target_sets)) else []
        others = [t for t in target_sets if not _area_only(t)]
        index = device_index(uow.devices.directory()) if len(others) > DIRECTORY_FROM else None
        return [_area_reach(per_commune, t) if _area_only(t) else len(devices_reached(uow, t, index))
                for t in target_sets]


def require_on_targets(uow: ScheduleUnitOfWork, principal: Principal, action: Action, targets: TargetSet) -> None:
    """The principal may do `action` where every target lies (unknown or missing targets raise as in planning)."""
    with uow:
        chains = target_chains(uow, targets)
    for chain in chains:
        principal.require(action, chain)


@dataclass(frozen=True)
class Overlap:
    """Every overlap with one other schedule: what the officer decides about, once rather than per occurrence."""

    other: str  # the other schedule's id
    title: str
    conflicts: tuple[ScheduleConflict, ...]
    candidate: str

    @property
    def first(self) -> datetime:
        """The first of the candidate's occurrences that overlaps."""
        c = self.conflicts[0]
        return c.winner_start if c.winner_schedule_id == self.candidate else c.loser_start

    @property
    def devices(self) -> int:
        return max(len(c.devices) for c in self.conflicts)

    @property
    def needs_decision(self) -> bool:
        return any(c.needs_decision for c in self.conflicts)

    @property
    def candidate_plays(self) -> bool:
        return all(c.winner_schedule_id == self.candidate for c in self.conflicts)


@dataclass(frozen=True)
class Checks:
    candidate: str = "0"  # the checked schedule's id in the overlaps ("0": not stored yet)
    reached: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()  # what makes submission fail before policy and overlaps: targets, timing, audio
    violations: tuple[Violation, ...] = ()
    conflicts: tuple[ScheduleConflict, ...] = ()
    titles: dict[str, str] = field(default_factory=dict)  # schedule id -> programme title, for the overlaps
    ranks: dict[str, int] = field(default_factory=dict)  # schedule id -> rank of the approved schedules overlapped
    upcoming: tuple[datetime, ...] = ()  # the next occurrences

    @property
    def blocking(self) -> list[ScheduleConflict]:
        """Same-class overlaps nobody ordered: submitting needs "leave the order to the approver", approving a rank."""
        return [c for c in self.conflicts if c.needs_decision]

    @property
    def overlaps(self) -> list[Overlap]:
        """The conflicts grouped by the other schedule, in the order they first happen."""
        groups: dict[str, list[ScheduleConflict]] = {}
        for c in self.conflicts:
            other = c.loser_schedule_id if c.winner_schedule_id == self.candidate else c.winner_schedule_id
            groups.setdefault(other, []).append(c)
        return [Overlap(other, self.titles.get(other, f"Lịch số {other}"), tuple(found), self.candidate)
                for other, found in groups.items()]

    @property
    def passes(self) -> bool:
        """Nothing stops submission (same-class overlaps aside, which the approver may order)."""
        return bool(self.reached) and not self.problems and not self.violations


def _titles(uow: ScheduleUnitOfWork, ids: Iterable[str], candidate: Schedule, programme: Programme) -> dict[str, str]:
    titles = {str(candidate.id): programme.title}
    for sid in ids:
        if sid not in titles and (other := uow.schedules.get(int(sid))) is not None:
            found = uow.programmes.get(other.programme_id)
            titles[sid] = found.title if found else f"Lịch số {sid}"
    return titles


def check_schedule(uow: ScheduleUnitOfWork, principal: Principal, schedule: Schedule, programme: Programme,
                   tz: str, now: datetime, *, shown: int = 5) -> Checks:
    """Everything submission would check, for `schedule` as it is or as a form would save it (id 0: not stored).

    The principal must be allowed to read every target and the programme; other failures are reported."""
    problems: list[str] = []
    me = str(schedule.id)
    with uow:
        try:
            require_on_targets(uow, principal, Action.READ, schedule.targets)
        except PermissionDenied:
            raise
        except DomainError as exc:
            return Checks(me, problems=(exc.message,))
        reached = devices_reached(uow, schedule.targets)
        if not reached:
            problems.append(NO_DEVICE)
        if not may_read_programme(uow, principal, programme):
            raise PermissionDenied(f"Tài khoản {principal.username} không có quyền xem chương trình số "
                                   f"{programme.id}.", code="programme_not_readable")
        ready = playable(uow, [programme])[programme.id]
        if ready.not_ready:
            problems.append("Âm thanh của chương trình chưa sẵn sàng (tệp số "
                            + ", ".join(map(str, ready.not_ready)) + ").")
        try:
            timing = schedule.timing(tz)
            timing.validate(now)
        except DomainError as exc:
            return Checks(me, reached, (*problems, exc.message))
        upcoming = tuple(occurrence for _, occurrence in zip(range(shown), timing.occurrences(now, None),
                                                             strict=False))
        plan = load_plan(uow, tz, candidate=schedule)
        violations = policy_violations(uow, plan, me, now, tz)
        conflicts = sorted(conflicts_for(plan, me, now), key=ScheduleConflict.sort_key)
        others = {sid for c in conflicts for sid in (c.winner_schedule_id, c.loser_schedule_id)}
        return Checks(me, reached, tuple(problems), tuple(violations), tuple(conflicts),
                      _titles(uow, others, schedule, programme),
                      {sid: plan.specs[sid].rank for sid in others if sid in plan.specs}, upcoming)


def describe_targets(uow: ScheduleUnitOfWork, targets: TargetSet) -> list[str]:
    """Where a schedule plays, in words: "Toàn Phường Hoàn Kiếm", a village's name, "Cụm loa 1 (loa-hk-1)"."""
    names = []
    with uow:
        for code in targets.areas:
            area = uow.areas.get(code)
            names.append(f"Toàn {area.name}" if area else f"Khu vực {code}")
        for zone_id in targets.zones:
            zone = uow.zones.get(zone_id)
            names.append(zone.name if zone else f"Vùng {zone_id}")
        for device_id in targets.devices:
            device = uow.devices.get(device_id)
            names.append(f"{device.name} ({device.id})" if device else f"Thiết bị {device_id}")
        for label, excluded in (("vùng", targets.exclude_zones), ("thiết bị", targets.exclude_devices),
                                ("khu vực", targets.exclude_areas)):
            if excluded:
                names.append(f"trừ {label} " + ", ".join(excluded))
    return names
