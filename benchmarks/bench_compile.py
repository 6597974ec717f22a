"""Compile 10,000 devices in 100 communes for 7 days: shared (by target signature) vs naive per-device.

Run: .venv/bin/python benchmarks/bench_compile.py [--province 40] [--repeat 3]   (about 3-4 minutes:
the per-device reference is the slow part)

World: the first 100 communes of a province from the official 2025 list (vietnam-provinces), 100 devices
each in 4 villages (thôn). Per commune and day, 30 distinct items: 2 province-wide (one of them a
`priority` bulletin that collides with a commune item), 24 commune-wide, 4 village-only, mixing DAILY and
WEEKLY;BYDAY=MO,WE,FR rules. Goals: full compile < 5 s, one-commune change < 200 ms, < 1 GB.
"""
from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from broadcast.domain.priority import Priority  # noqa: E402
from broadcast.domain.recurrence import Timing  # noqa: E402
from broadcast.domain.timeline import timeline_fingerprint  # noqa: E402
from broadcast.scheduler.compiler import (  # noqa: E402
    DeviceInfo,
    ScheduleSpec,
    Targets,
    compile_all,
    compile_per_device,
    recompile,
)

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 3, 2, 4, 0, tzinfo=HCM)
COMMUNES = 100
DEVICES_PER_COMMUNE = 100
VILLAGES = 4


def commune_codes(province: str) -> list[str]:
    try:
        import vietnam_provinces as vp

        codes = sorted(
            f"{int(getattr(w.code, 'value', w.code)):05d}"
            for w in vp.Ward.iter_all()
            if f"{int(getattr(w.province_code, 'value', w.province_code)):02d}" == province
        )
    except ImportError:
        codes = []
    if len(codes) < COMMUNES:  # a small province: pad with made-up codes of the same shape
        codes += [f"9{i:04d}" for i in range(COMMUNES - len(codes))]
    return codes[:COMMUNES]


def build_world(province: str) -> tuple[list[ScheduleSpec], dict[str, DeviceInfo], list[str]]:
    communes = commune_codes(province)
    directory: dict[str, DeviceInfo] = {}
    for commune in communes:
        for i in range(DEVICES_PER_COMMUNE):
            village = f"{province}-{commune}-thon-{i % VILLAGES + 1}"
            device_id = f"c{commune}-{i:03d}"
            directory[device_id] = DeviceInfo(device_id, commune, province,
                                              frozenset({province, f"{province}-{commune}", village}))
    first = datetime(2026, 3, 1)
    schedules = [
        ScheduleSpec("prov-news", "prog-prov-news", Priority.NORMAL,
                     Timing.recurring(first.replace(hour=5, minute=30), "FREQ=DAILY;UNTIL=20261231"),
                     15 * 60_000, 80, Targets(areas=frozenset({province}))),
        ScheduleSpec("prov-law", "prog-prov-law", Priority.PRIORITY,
                     Timing.recurring(first.replace(hour=17, minute=5), "FREQ=DAILY;COUNT=300"),
                     10 * 60_000, 85, Targets(areas=frozenset({province}))),
    ]
    for c_index, commune in enumerate(communes):
        for k in range(24):  # 05:50, 06:20, ... every 30 minutes; one lands on 17:00 and meets prov-law
            minute = 5 * 60 + 50 + 30 * k
            rule = "FREQ=WEEKLY;BYDAY=MO,WE,FR;UNTIL=20261231" if k % 6 == 0 else "FREQ=DAILY;COUNT=365"
            schedules.append(ScheduleSpec(
                f"s-{commune}-{k:02d}", f"prog-{commune}-{k % 8}", Priority.NORMAL,
                Timing.recurring(first.replace(hour=minute // 60, minute=minute % 60), rule),
                (10 + (c_index + k) % 11) * 60_000 + 500, 70 + k % 30, Targets(areas=frozenset({commune})),
                rank=k % 3))
        for v in range(VILLAGES):
            minute = 5 * 60 + 50 + 30 * 24 + 15 * v
            schedules.append(ScheduleSpec(
                f"z-{commune}-{v + 1}", f"prog-{commune}-village", Priority.NORMAL,
                Timing.recurring(first.replace(hour=minute // 60, minute=minute % 60), "FREQ=DAILY;COUNT=200"),
                12 * 60_000, 75, Targets(zones=frozenset({f"{province}-{commune}-thon-{v + 1}"}))))
    return schedules, directory, communes


CPU: dict[str, float] = {}  # label -> median CPU seconds: robust when other work shares the cores


def timed(fn, repeat: int, label: str = "") -> tuple[float, object]:
    """Median wall seconds (and CPU seconds into CPU[label]) over `repeat` runs."""
    runs, cpu = [], []
    result = None
    for _ in range(repeat):
        result = None
        gc.collect()
        began, began_cpu = time.perf_counter(), time.process_time()
        result = fn()
        runs.append(time.perf_counter() - began)
        cpu.append(time.process_time() - began_cpu)
    CPU[label] = statistics.median(cpu)
    return statistics.median(runs), result


def _rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def _digest(timelines: dict) -> str:
    h = hashlib.sha256()
    for device_id in sorted(timelines):
        h.update(device_id.encode() + b"=" + timeline_fingerprint(timelines[device_id]).encode())
    return h.hexdigest()


def measure_in_child(mode: str, province: str) -> dict:
    """Run one compilation in a fresh process: wall time, peak RSS above the built world, result digest.

    A fresh process gives an honest peak (ru_maxrss) without tracemalloc's overhead."""
    out = subprocess.run([sys.executable, __file__, "--child", mode, "--province", province],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def child(mode: str, province: str) -> None:
    schedules, directory, _ = build_world(province)
    gc.collect()
    base = _rss_mib()
    began, began_cpu = time.perf_counter(), time.process_time()
    if mode == "shared":
        timelines = compile_all(schedules, directory, NOW).timelines
    else:
        timelines = compile_per_device(schedules, directory, NOW)
    elapsed, cpu = time.perf_counter() - began, time.process_time() - began_cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": elapsed, "cpu": cpu, "peak_mib": peak - base, "digest": _digest(timelines)}))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--province", default="40", help="province code (default 40, Nghệ An)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", choices=["shared", "naive"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.province)
        return

    schedules, directory, communes = build_world(args.province)
    by_id = {s.id: s for s in schedules}
    print(f"world: {len(directory)} devices, {len(communes)} communes ({communes[0]}..{communes[-1]}), "
          f"{len(schedules)} schedules, horizon 7 days", flush=True)

    t_full, full = timed(lambda: compile_all(schedules, directory, NOW), args.repeat, "full")
    items = sum(len(t) for t in full.timelines.values())
    print(f"full compile, shared: {t_full:.3f} s (median of {args.repeat}); items on devices: {items} "
          f"({items / len(directory):.0f} per device), groups: {len(full.groups)}, dropped occurrences: "
          f"{sum(len(c.devices) for c in full.conflicts())} in {len(full.conflicts())} conflicts", flush=True)

    # One commune's officer moves an item by 7 minutes: recompile only what it touches.
    target = communes[len(communes) // 2]
    sid = f"s-{target}-03"
    moved = replace(by_id[sid], timing=replace(by_id[sid].timing, start=by_id[sid].timing.start + timedelta(minutes=7)))
    changed_specs = dict(by_id, **{sid: moved})
    repeat_inc = max(args.repeat, 7)
    t_inc, inc = timed(partial(recompile, full, changed_specs, directory, [sid]), repeat_inc, "inc")
    commune_devices = {d: info for d, info in directory.items() if info.commune == target}
    t_naive_commune, naive_commune = timed(
        lambda: compile_per_device(changed_specs.values(), commune_devices, NOW), repeat_inc, "naive_commune")
    full_again = compile_all(changed_specs.values(), directory, NOW)
    assert inc.timelines == full_again.timelines, "incremental and full compilation disagree"
    assert all(naive_commune[d] == inc.timelines[d] for d in commune_devices)
    print(f"one-commune change, incremental: {t_inc * 1000:.1f} ms (median of {repeat_inc}); "
          f"{len(inc.changed_devices)} devices to republish, all in commune {target}: "
          f"{all(directory[d].commune == target for d in inc.changed_devices)}", flush=True)
    gc.collect()
    tracemalloc.start()
    recompile(full, changed_specs, directory, [sid])
    m_inc = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    del full, inc, full_again
    gc.collect()

    print("measuring peak memory in fresh processes (the per-device one takes a few minutes)...", flush=True)
    shared = measure_in_child("shared", args.province)
    naive = measure_in_child("naive", args.province)
    assert shared["digest"] == naive["digest"], "shared and per-device compilation disagree"
    print("shared and per-device timelines are identical (digest of all device fingerprints)", flush=True)

    def row(name: str, ours: float, reference: float, note: str) -> None:
        print(f"{name:<36}{ours:>12.3f}{reference:>14.3f}   x{reference / ours:>8.1f}   {note}")

    print(f"\n{'':<36}{'shared':>12}{'per-device':>14}   {'ratio':>9}")
    row("full compile, wall (s)", t_full, naive["seconds"], "goal < 5 s: " + ("met" if t_full < 5 else "MISSED"))
    row("full compile, CPU (s)", CPU["full"], naive["cpu"], "per-device run once, in a fresh process")
    row("full compile, fresh process, CPU (s)", shared["cpu"], naive["cpu"], f"wall {shared['seconds']:.2f} s")
    row("one-commune change, wall (s)", t_inc, t_naive_commune,
        "goal < 0.2 s: " + ("met" if t_inc < 0.2 else "MISSED") + "; per-device = re-expanding that commune only")
    row("one-commune change, CPU (s)", CPU["inc"], CPU["naive_commune"], "")
    row("one-commune change vs full, CPU (s)", CPU["inc"], CPU["full"], "incremental vs a full shared recompile")
    row("peak RSS above world, full (MiB)", shared["peak_mib"], naive["peak_mib"],
        "goal < 1024 MiB: " + ("met" if shared["peak_mib"] < 1024 else "MISSED"))
    print(f"peak traced allocation, one-commune change: {m_inc:.1f} MiB; "
          f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
