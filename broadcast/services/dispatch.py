"""Approved schedules -> one compiled timeline per device -> a new signed version where it changed.

Runs on the timer (horizon roll) and right after approvals or cancellations. The compiler shares the work
between devices with the same targets; stage_schedule writes a version only for devices whose timeline changed.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from broadcast import protocol
from broadcast.domain.timeline import TimelineItem
from broadcast.scheduler.compiler import CompileResult, DeviceInfo, ScheduleSpec, compile_all, recompile
from broadcast.services.delivery import stage_schedule
from broadcast.services.planning import Plan, load_plan
from broadcast.services.ports import Clock, Signer, UnitOfWork

STAGE_BATCH = 500


@dataclass(frozen=True)
class DispatchSettings:
    tz: str
    horizon_days: int
    public_url: str
    status_interval_s: int = 60


@dataclass(frozen=True)
class DispatchReport:
    devices: int  # devices whose timeline was (re)compiled and checked
    staged: int  # of those, devices that got a new version
    groups: int
    dropped: int
    incremental: bool = False


@dataclass(frozen=True)
class Compiled:
    """The last compilation and what it was made from, so the next change recompiles only what it touches."""

    result: CompileResult
    specs: dict[str, ScheduleSpec]
    directory: dict[str, DeviceInfo]


def _changed(old: dict, new: dict) -> set[str]:
    return {key for key in old.keys() | new.keys() if old.get(key) != new.get(key)}


def document_item(item: TimelineItem, plan: Plan, public_url: str) -> protocol.ScheduleItem:
    """A protocol v1 item, plus our optional schedule_id / programme_id fields for the play log."""
    programme = plan.programmes[int(item.programme_id)]
    ready = plan.playables[programme.id]
    media = [protocol.build_media(m.sha256, protocol.media_url(public_url, m.sha256), m.bytes, m.duration_ms)
             for m in ready.media] if not ready.stream_url else None
    doc = protocol.build_item(item.item_id, item.start, item.end, priority=item.priority.value, volume=item.volume,
                              media=media, stream_url=ready.stream_url, title=programme.title)
    doc["schedule_id"] = item.schedule_id
    doc["programme_id"] = item.programme_id
    return doc


def dispatch(uow_factory: Callable[[], UnitOfWork], clock: Clock, signer: Signer, settings: DispatchSettings,
             previous: Compiled | None = None) -> tuple[DispatchReport, Compiled]:
    """Compile and stage. With `previous` (same horizon), only schedules and devices that changed are recompiled
    and only the devices whose timeline changed are checked; without it, everything (the horizon roll)."""
    now: datetime = clock.now()
    uow = uow_factory()
    with uow:
        plan = load_plan(uow, settings.tz)
    if previous is None:
        result = compile_all(plan.specs, plan.directory, now, timedelta(days=settings.horizon_days), settings.tz)
        device_ids = sorted(plan.devices)
    else:
        result = recompile(previous.result, plan.specs, plan.directory, _changed(previous.specs, plan.specs),
                           _changed(previous.directory, plan.directory))
        device_ids = sorted(result.changed_devices & plan.devices.keys())
    cache: dict[int, list[protocol.ScheduleItem]] = {}  # devices of one group share the same timeline object
    staged = 0
    for start in range(0, len(device_ids), STAGE_BATCH):
        with uow:
            for device_id in device_ids[start:start + STAGE_BATCH]:
                timeline = result.timelines[device_id]
                items = cache.get(id(timeline))
                if items is None:
                    items = cache[id(timeline)] = [document_item(i, plan, settings.public_url) for i in timeline]
                if stage_schedule(uow, clock, signer, plan.devices[device_id], items, horizon_end=result.horizon_end,
                                  status_interval_s=settings.status_interval_s):
                    staged += 1
            uow.commit()
    report = DispatchReport(len(device_ids), staged, len(result.groups), len(result.conflicts()), previous is not None)
    return report, Compiled(result, dict(plan.specs), dict(plan.directory))
