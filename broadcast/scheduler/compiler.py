"""Compile approved schedules into one non-overlapping timeline per device for a horizon. Pure.

Sharing: a device's timeline depends only on the set of schedules that hit it (its target signature), so
devices are grouped by signature and each group's timeline is computed once; every schedule is expanded once
per compilation. A commune's 30-100 devices usually share one or a few signatures.

Incremental: `recompile` takes the previous result and the ids of schedules (and devices) that changed,
recomputes the target sets of those schedules only, re-groups only the devices they touch (old or new
targets), and reuses the cached expansion of every other schedule and the timeline of every untouched group.
Its `changed_devices` lists the devices whose timeline fingerprint changed: the dispatcher publishes those.

An occurrence already playing at the horizon start is kept (a new document must not cancel it).
Overlaps: see broadcast.domain.timeline (the loser is dropped and reported, never truncated).
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from broadcast.domain.conflicts import ScheduleConflict
from broadcast.domain.errors import InvalidInput
from broadcast.domain.priority import Priority
from broadcast.domain.recurrence import DEFAULT_TZ, Timing, zone_for
from broadcast.domain.timeline import TimelineItem, item_id_for, resolve, timeline_fingerprint

DEFAULT_HORIZON = timedelta(days=7)

Timeline = tuple[TimelineItem, ...]
Signature = frozenset[str]


@dataclass(frozen=True)
class Targets:
    """Where a schedule plays: union of areas (province or commune codes), zones and devices, minus exclusions."""

    areas: frozenset[str] = frozenset()
    zones: frozenset[str] = frozenset()
    devices: frozenset[str] = frozenset()
    exclude_areas: frozenset[str] = frozenset()
    exclude_zones: frozenset[str] = frozenset()
    exclude_devices: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ScheduleSpec:
    id: str
    programme_id: str
    priority: Priority
    timing: Timing
    duration_ms: int
    volume: int
    targets: Targets
    rank: int = 0  # within one class, lower plays first (the approver's explicit order)

    def __post_init__(self) -> None:
        if self.duration_ms <= 0:
            raise InvalidInput("Thời lượng phát phải lớn hơn 0", code="schedule.invalid_duration")
        if not 0 <= self.volume <= 100:
            raise InvalidInput("Âm lượng phải từ 0 đến 100", code="schedule.invalid_volume")


@dataclass(frozen=True)
class DeviceInfo:
    device_id: str
    commune: str
    province: str
    zones: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Group:
    timeline: Timeline
    fingerprint: str
    dropped: tuple[ScheduleConflict, ...]


@dataclass
class CompileResult:
    horizon_start: datetime
    horizon_end: datetime
    tz: str
    timelines: dict[str, Timeline]  # device id -> timeline; devices of one group share the tuple
    fingerprints: dict[str, str]
    signatures: dict[str, Signature]
    groups: dict[Signature, Group]
    group_sizes: dict[Signature, int]
    schedule_devices: dict[str, frozenset[str]]
    occurrences: dict[str, Timeline]  # schedule id -> its candidate items in the horizon (cache)
    changed_devices: frozenset[str] = field(default_factory=frozenset)
    removed_devices: frozenset[str] = field(default_factory=frozenset)

    def conflicts(self) -> list[ScheduleConflict]:
        """Every dropped occurrence, with the devices it was dropped on (merged across groups)."""
        members: dict[Signature, list[str]] = defaultdict(list)
        for device_id, signature in self.signatures.items():
            if self.groups[signature].dropped:
                members[signature].append(device_id)
        merged: dict[tuple, tuple[ScheduleConflict, list[str]]] = {}
        for signature, devices in members.items():
            for c in self.groups[signature].dropped:
                key = c.sort_key()
                merged.setdefault(key, (c, []))[1].extend(devices)
        out = [
            ScheduleConflict(c.winner_schedule_id, c.winner_start, c.winner_end, c.loser_schedule_id, c.loser_start,
                     c.loser_end, c.decided_by, tuple(sorted(devices)))
            for c, devices in merged.values()
        ]
        return sorted(out, key=ScheduleConflict.sort_key)


class DeviceIndex:
    def __init__(self, directory: Mapping[str, DeviceInfo]):
        self.by_area: dict[str, set[str]] = defaultdict(set)
        self.by_zone: dict[str, set[str]] = defaultdict(set)
        self.known = directory
        for device_id, info in directory.items():
            self.by_area[info.commune].add(device_id)
            self.by_area[info.province].add(device_id)
            for zone in info.zones:
                self.by_zone[zone].add(device_id)

    def resolve(self, targets: Targets) -> frozenset[str]:
        hit: set[str] = set()
        for code in targets.areas:
            hit.update(self.by_area.get(code, ()))
        for zone in targets.zones:
            hit.update(self.by_zone.get(zone, ()))
        hit.update(d for d in targets.devices if d in self.known)
        for code in targets.exclude_areas:
            hit.difference_update(self.by_area.get(code, ()))
        for zone in targets.exclude_zones:
            hit.difference_update(self.by_zone.get(zone, ()))
        hit.difference_update(targets.exclude_devices)
        return frozenset(hit)


def hits(targets: Targets, device: DeviceInfo) -> bool:
    """Whether one device is targeted (the per-device form of DeviceIndex.resolve)."""
    included = (
        device.commune in targets.areas
        or device.province in targets.areas
        or not targets.zones.isdisjoint(device.zones)
        or device.device_id in targets.devices
    )
    excluded = (
        device.commune in targets.exclude_areas
        or device.province in targets.exclude_areas
        or not targets.exclude_zones.isdisjoint(device.zones)
        or device.device_id in targets.exclude_devices
    )
    return included and not excluded


def _expand(spec: ScheduleSpec, start: datetime, end: datetime, tz: str) -> Timeline:
    """Candidate items of one schedule: every occurrence still playing at `start` or beginning before `end`."""
    zone = zone_for(tz)
    length = timedelta(seconds=-(-spec.duration_ms // 1000))  # protocol times have second precision
    items = []
    for when in spec.timing.occurrences(start - length + timedelta(seconds=1), end):
        local = when if when.tzinfo is zone else when.astimezone(zone)
        items.append(
            TimelineItem(item_id_for(spec.id, when.timestamp()), local, local + length, spec.priority, spec.volume,
                         spec.id, spec.programme_id, spec.rank)
        )
    return tuple(items)


def _build_group(signature: Signature, occurrences: Mapping[str, Timeline]) -> Group:
    candidates = [item for sid in signature for item in occurrences[sid]]
    kept, dropped = resolve(candidates)
    timeline = tuple(kept)
    return Group(timeline, timeline_fingerprint(timeline), tuple(dropped))


def _by_id(schedules: Iterable[ScheduleSpec] | Mapping[str, ScheduleSpec]) -> dict[str, ScheduleSpec]:
    if isinstance(schedules, Mapping):
        return dict(schedules)
    out: dict[str, ScheduleSpec] = {}
    for spec in schedules:
        if spec.id in out:
            raise InvalidInput(f"Lịch {spec.id} bị lặp trong dữ liệu biên dịch", code="compile.duplicate_schedule")
        out[spec.id] = spec
    return out


def _check_now(now: datetime) -> None:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")


def compile_all(
    schedules: Iterable[ScheduleSpec] | Mapping[str, ScheduleSpec],
    directory: Mapping[str, DeviceInfo],
    now: datetime,
    horizon: timedelta = DEFAULT_HORIZON,
    tz: str = DEFAULT_TZ,
) -> CompileResult:
    """Timelines for every device in `directory` over [now, now + horizon)."""
    _check_now(now)
    specs = _by_id(schedules)
    end = now + horizon
    index = DeviceIndex(directory)
    schedule_devices = {sid: index.resolve(spec.targets) for sid, spec in specs.items()}
    hit_by: dict[str, list[str]] = defaultdict(list)
    for sid in sorted(schedule_devices):
        for device_id in schedule_devices[sid]:
            hit_by[device_id].append(sid)
    signatures = {device_id: frozenset(hit_by.get(device_id, ())) for device_id in directory}
    needed = {sid for sid, devices in schedule_devices.items() if devices}
    occurrences = {sid: _expand(specs[sid], now, end, tz) for sid in sorted(needed)}
    groups: dict[Signature, Group] = {}
    sizes: dict[Signature, int] = defaultdict(int)
    timelines: dict[str, Timeline] = {}
    fingerprints: dict[str, str] = {}
    for device_id in sorted(directory):
        signature = signatures[device_id]
        group = groups.get(signature)
        if group is None:
            group = groups[signature] = _build_group(signature, occurrences)
        sizes[signature] += 1
        timelines[device_id] = group.timeline
        fingerprints[device_id] = group.fingerprint
    return CompileResult(
        now, end, tz, timelines, fingerprints, signatures, groups, dict(sizes), schedule_devices, occurrences,
        changed_devices=frozenset(directory),
    )


def recompile(
    previous: CompileResult,
    schedules: Iterable[ScheduleSpec] | Mapping[str, ScheduleSpec],
    directory: Mapping[str, DeviceInfo],
    changed_schedule_ids: Iterable[str],
    changed_device_ids: Iterable[str] = (),
) -> CompileResult:
    """Re-plan only what changed. `schedules` and `directory` are the complete current sets; a changed id
    absent from `schedules` was removed. For a new horizon (time moved on), call compile_all instead."""
    specs = _by_id(schedules)
    changed = frozenset(changed_schedule_ids)
    changed_dev = frozenset(changed_device_ids)
    start, end, tz = previous.horizon_start, previous.horizon_end, previous.tz
    index = DeviceIndex(directory)

    schedule_devices = dict(previous.schedule_devices)
    occurrences = dict(previous.occurrences)
    touched: set[str] = set(changed_dev)
    for sid in changed:
        touched.update(schedule_devices.pop(sid, ()))
        occurrences.pop(sid, None)
        if sid in specs:
            devices = index.resolve(specs[sid].targets)
            schedule_devices[sid] = devices
            touched.update(devices)
            if devices:
                occurrences[sid] = _expand(specs[sid], start, end, tz)
    if changed_dev:
        # A device that moved or appeared can enter any schedule's targets: re-resolve all, cheaply by index.
        for sid, spec in specs.items():
            if sid in changed:
                continue
            devices = index.resolve(spec.targets)
            if devices != schedule_devices.get(sid, frozenset()):
                schedule_devices[sid] = devices
                if devices and sid not in occurrences:
                    occurrences[sid] = _expand(spec, start, end, tz)

    timelines = dict(previous.timelines)
    fingerprints = dict(previous.fingerprints)
    signatures = dict(previous.signatures)
    groups = dict(previous.groups)
    sizes = dict(previous.group_sizes)
    rebuilt: dict[Signature, Group] = {}
    changed_out: set[str] = set()
    removed: set[str] = set()
    for device_id in sorted(touched):
        old_signature = signatures.pop(device_id, None)
        if old_signature is not None:
            sizes[old_signature] -= 1
        if device_id not in directory:
            if old_signature is not None:
                removed.add(device_id)
                timelines.pop(device_id, None)
                fingerprints.pop(device_id, None)
            continue
        if device_id in changed_dev or old_signature is None:
            signature = frozenset(sid for sid, devices in schedule_devices.items() if device_id in devices)
        else:
            signature = frozenset(
                [sid for sid in old_signature if sid not in changed]
                + [sid for sid in changed if device_id in schedule_devices.get(sid, ())]
            )
        group = rebuilt.get(signature)
        if group is None:
            group = groups.get(signature)
            # A previous group is still right unless one of its schedules changed.
            if group is None or not signature.isdisjoint(changed):
                group = rebuilt[signature] = groups[signature] = _build_group(signature, occurrences)
        signatures[device_id] = signature
        sizes[signature] = sizes.get(signature, 0) + 1
        timelines[device_id] = group.timeline
        if fingerprints.get(device_id) != group.fingerprint:
            changed_out.add(device_id)
        fingerprints[device_id] = group.fingerprint
    for signature in [s for s, n in sizes.items() if n <= 0]:
        del sizes[signature]
        groups.pop(signature, None)
    return CompileResult(
        start, end, tz, timelines, fingerprints, signatures, groups, sizes, schedule_devices, occurrences,
        changed_devices=frozenset(changed_out), removed_devices=frozenset(removed),
    )


def compile_per_device(
    schedules: Iterable[ScheduleSpec] | Mapping[str, ScheduleSpec],
    directory: Mapping[str, DeviceInfo],
    now: datetime,
    horizon: timedelta = DEFAULT_HORIZON,
    tz: str = DEFAULT_TZ,
) -> dict[str, Timeline]:
    """Reference without sharing: each device expands every schedule that targets it, itself.

    Kept as the oracle in tests and the baseline in benchmarks/bench_compile.py.
    """
    _check_now(now)
    specs = _by_id(schedules)
    end = now + horizon
    index = DeviceIndex(directory)
    hit_by: dict[str, list[str]] = defaultdict(list)
    for sid, spec in specs.items():
        for device_id in index.resolve(spec.targets):
            hit_by[device_id].append(sid)
    out: dict[str, Timeline] = {}
    for device_id in sorted(directory):
        candidates = [item for sid in hit_by.get(device_id, ()) for item in _expand(specs[sid], now, end, tz)]
        out[device_id] = tuple(resolve(candidates)[0])
    return out
