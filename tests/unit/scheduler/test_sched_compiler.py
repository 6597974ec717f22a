"""The compiler: per-device truth (checked against the unshared reference), sharing, determinism, increments."""
from __future__ import annotations

import dataclasses
import itertools
import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from broadcast.domain.conflicts import Decision
from broadcast.domain.priority import Priority
from broadcast.domain.recurrence import Timing
from broadcast.domain.timeline import canonical_json, timeline_fingerprint
from broadcast.scheduler.compiler import (
    DeviceInfo,
    ScheduleSpec,
    Targets,
    compile_all,
    compile_per_device,
    hits,
    recompile,
)

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 3, 2, 5, 0, tzinfo=HCM)
PROVINCES = {"01": ["00004", "00008"], "79": ["26734", "26737", "26740"]}


def _world(rng: random.Random, n_devices: int = 60) -> dict[str, DeviceInfo]:
    directory = {}
    communes = [(p, c) for p, cs in PROVINCES.items() for c in cs]
    for i in range(n_devices):
        province, commune = rng.choice(communes)
        zones = frozenset({f"{province}-{commune}", f"{province}-{commune}-thon-{rng.randint(1, 3)}"})
        device_id = f"c{commune}-{i:03d}"
        directory[device_id] = DeviceInfo(device_id, commune, province, zones)
    return directory


def _targets(rng: random.Random, directory: dict[str, DeviceInfo]) -> Targets:
    devices = list(directory.values())
    pick = lambda n: rng.sample(devices, min(n, len(devices)))  # noqa: E731
    codes = [p for p in PROVINCES] + [c for cs in PROVINCES.values() for c in cs]
    areas = frozenset(rng.sample(codes, rng.randint(0, 2)))
    zones = frozenset(rng.choice(sorted(d.zones)) for d in pick(rng.randint(0, 2)))
    return Targets(
        areas=areas,
        zones=zones,
        devices=(frozenset(d.device_id for d in pick(rng.randint(0, 3)))
                 | ({"unknown-device"} if rng.random() < 0.1 else set())),
        exclude_areas=frozenset(rng.sample(sorted(areas), 1)) if areas and rng.random() < 0.1 else frozenset(),
        exclude_zones=frozenset(sorted(d.zones)[-1] for d in pick(1)) if rng.random() < 0.2 else frozenset(),
        exclude_devices=frozenset(d.device_id for d in pick(2)) if rng.random() < 0.2 else frozenset(),
    )


def _schedule(rng: random.Random, sid: str, directory: dict[str, DeviceInfo]) -> ScheduleSpec:
    start = datetime(2026, 3, 1, rng.randint(5, 20), rng.choice([0, 10, 20, 30, 45]))
    if rng.random() < 0.3:
        timing = Timing.once(start + timedelta(days=rng.randint(0, 8)))
    else:
        rule = rng.choice(["FREQ=DAILY", "FREQ=WEEKLY;BYDAY=MO,WE,FR", "FREQ=DAILY;INTERVAL=2",
                           "FREQ=WEEKLY;BYDAY=SA,SU"])
        timing = Timing.recurring(start, rule + ";COUNT=40")
    return ScheduleSpec(
        id=sid,
        programme_id=f"p-{sid}",
        priority=rng.choice([Priority.NORMAL] * 4 + [Priority.PRIORITY, Priority.EMERGENCY]),
        timing=timing,
        duration_ms=rng.randint(30, 45 * 60) * 1000 + rng.choice([0, 1, 999]),
        volume=rng.randint(40, 100),
        targets=_targets(rng, directory),
        rank=rng.randint(0, 2),
    )


def _scenario(seed: int) -> tuple[dict[str, ScheduleSpec], dict[str, DeviceInfo]]:
    rng = random.Random(seed)
    directory = _world(rng)
    schedules = {f"s{i:02d}": _schedule(rng, f"s{i:02d}", directory) for i in range(25)}
    return schedules, directory


@pytest.mark.parametrize("seed", range(6))
def test_shared_compile_equals_per_device_reference(seed: int) -> None:
    schedules, directory = _scenario(seed)
    result = compile_all(schedules.values(), directory, NOW)
    reference = compile_per_device(schedules.values(), directory, NOW)
    assert result.timelines == reference
    for device_id, info in directory.items():
        expected = frozenset(sid for sid, spec in schedules.items() if hits(spec.targets, info))
        assert result.signatures[device_id] == expected
        timeline = result.timelines[device_id]
        assert all(a.end <= b.start for a, b in itertools.pairwise(timeline))
        assert all(item.end > NOW and item.start < NOW + timedelta(days=7) for item in timeline)
        assert result.fingerprints[device_id] == timeline_fingerprint(timeline)
    # Sharing: one timeline object per signature, not per device.
    assert len(result.groups) == len(set(result.signatures.values())) < len(directory)
    assert len({id(t) for t in result.timelines.values()}) == len(result.groups)


def test_output_is_byte_identical_whatever_the_input_order() -> None:
    schedules, directory = _scenario(11)
    first = compile_all(schedules.values(), directory, NOW)
    shuffled = list(schedules.values())
    random.Random(3).shuffle(shuffled)
    devices = list(directory.items())
    random.Random(4).shuffle(devices)
    second = compile_all(shuffled, dict(devices), NOW)
    for device_id in directory:
        assert canonical_json(first.timelines[device_id]) == canonical_json(second.timelines[device_id])
    assert first.conflicts() == second.conflicts()


def _dev(device_id: str, commune: str = "26734", zones: tuple[str, ...] = ()) -> DeviceInfo:
    return DeviceInfo(device_id, commune, "79", frozenset(zones))


def _spec(sid: str, hhmm: str, minutes: int, priority: Priority = Priority.NORMAL, **targets) -> ScheduleSpec:
    h, m = (int(x) for x in hhmm.split(":"))
    timing = Timing.recurring(datetime(2026, 3, 2, h, m), "FREQ=DAILY;COUNT=30")
    return ScheduleSpec(sid, "prog-" + sid, priority, timing, minutes * 60_000, 80, Targets(**{
        k: frozenset(v) for k, v in targets.items()
    }))


def test_higher_class_drops_the_overlapped_item_and_reports_it_per_device_group() -> None:
    directory = {d.device_id: d
                 for d in [_dev("a-1", zones=("thon-1",)), _dev("a-2", zones=("thon-2",)), _dev("b-1", "26737")]}
    schedules = [
        _spec("commune-morning", "06:00", 30, areas={"26734"}),
        _spec("province-alert", "06:20", 10, Priority.PRIORITY, areas={"79"}, exclude_zones={"thon-2"}),
    ]
    result = compile_all(schedules, directory, NOW, horizon=timedelta(days=1))
    assert [i.schedule_id for i in result.timelines["a-1"]] == ["province-alert"]
    assert [i.schedule_id for i in result.timelines["a-2"]] == ["commune-morning"]
    assert [i.schedule_id for i in result.timelines["b-1"]] == ["province-alert"]
    (conflict,) = result.conflicts()
    assert (conflict.winner_schedule_id, conflict.loser_schedule_id, conflict.devices, conflict.decided_by) == (
        "province-alert", "commune-morning", ("a-1",), Decision.PRIORITY,
    )


def test_an_item_playing_at_now_is_kept_and_times_are_whole_seconds() -> None:
    directory = {"a-1": _dev("a-1")}
    spec = _spec("s", "04:50", 10, areas={"26734"})
    spec = dataclasses.replace(spec, duration_ms=10 * 60_000 + 1)
    ended = _spec("t", "04:40", 20, areas={"26734"})  # ends exactly at NOW
    result = compile_all([spec, ended], directory, NOW, horizon=timedelta(hours=2))
    (item,) = result.timelines["a-1"]
    assert item.start == datetime(2026, 3, 2, 4, 50, tzinfo=HCM)
    assert item.to_dict()["end"] == "2026-03-02T05:00:01+07:00"


def _mutate(rng: random.Random, schedules: dict, directory: dict) -> tuple[set[str], set[str]]:
    changed: set[str] = set()
    for _ in range(rng.randint(1, 3)):
        action = rng.choice(["edit", "add", "remove", "retarget"])
        sid = rng.choice(sorted(schedules))
        if action == "edit":
            schedules[sid] = dataclasses.replace(schedules[sid], volume=rng.randint(0, 100), rank=rng.randint(0, 3))
        elif action == "retarget":
            schedules[sid] = dataclasses.replace(schedules[sid], targets=_targets(rng, directory))
        elif action == "remove":
            del schedules[sid]
        else:
            sid = f"n{rng.randint(0, 10**6)}"
            schedules[sid] = _schedule(rng, sid, directory)
        changed.add(sid)
    changed_devices: set[str] = set()
    if rng.random() < 0.5:
        device_id = rng.choice(sorted(directory))
        if rng.random() < 0.5:
            del directory[device_id]
        else:
            info = directory[device_id]
            directory[device_id] = dataclasses.replace(info, zones=info.zones | {f"79-26734-thon-{rng.randint(1, 3)}"})
        changed_devices.add(device_id)
    if rng.random() < 0.3:
        new = _dev(f"new-{rng.randint(0, 10**6)}", rng.choice(["26734", "26740"]), ("79-26740-thon-1",))
        directory[new.device_id] = new
        changed_devices.add(new.device_id)
    return changed, changed_devices


@pytest.mark.parametrize("seed", range(6))
def test_recompile_equals_a_full_compile_and_reports_exactly_the_changed_devices(seed: int) -> None:
    rng = random.Random(100 + seed)
    schedules, directory = _scenario(seed)
    result = compile_all(schedules.values(), directory, NOW)
    for _ in range(5):
        before = result
        changed, changed_devices = _mutate(rng, schedules, directory)
        result = recompile(before, schedules, directory, changed, changed_devices)
        full = compile_all(schedules.values(), directory, NOW)
        assert result.timelines == full.timelines
        assert result.signatures == full.signatures
        assert result.fingerprints == full.fingerprints
        assert result.conflicts() == full.conflicts()
        assert result.changed_devices == {
            d for d in directory if before.fingerprints.get(d) != full.fingerprints[d]
        }
        assert result.removed_devices == set(before.timelines) - set(directory)
        assert set(result.groups) == set(full.signatures.values())
        # Devices no changed schedule touched keep the very same timeline object.
        touched = set(changed_devices).union(*(before.schedule_devices.get(s, ()) for s in changed),
                                             *(full.schedule_devices.get(s, ()) for s in changed))
        for device_id in set(directory) - touched:
            assert result.timelines[device_id] is before.timelines[device_id]


def test_duplicate_schedule_ids_are_refused() -> None:
    spec = _spec("s", "06:00", 5, areas={"26734"})
    with pytest.raises(Exception) as info:
        compile_all([spec, spec], {}, NOW)
    assert info.value.code == "compile.duplicate_schedule"
