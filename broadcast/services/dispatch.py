"""Approved schedules -> one compiled timeline per device -> a new signed version where it changed.

Runs on the timer (horizon roll) and right after approvals or cancellations. The compiler shares the work
between devices with the same targets; stage_schedule writes a version only for devices whose timeline changed.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from broadcast.devices import protocol
from broadcast.domain.timeline import TimelineItem
from broadcast.scheduler.compiler import compile_all
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
    devices: int
    staged: int
    groups: int
    dropped: int


def document_item(item: TimelineItem, plan: Plan, public_url: str) -> dict:
    """A protocol v1 item, plus our optional schedule_id / programme_id fields for the play log."""
    programme = plan.programmes[int(item.programme_id)]
    ready = plan.playables[programme.id]
    media = [protocol.build_media(m.sha256, f"{public_url}/media/{m.sha256}.mp3", m.bytes, m.duration_ms)
             for m in ready.media] if not ready.stream_url else None
    doc = protocol.build_item(item.item_id, item.start, item.end, priority=item.priority.value, volume=item.volume,
                              media=media, stream_url=ready.stream_url, title=programme.title)
    doc["schedule_id"] = item.schedule_id
    doc["programme_id"] = item.programme_id
    return doc


def dispatch(uow_factory: Callable[[], UnitOfWork], clock: Clock, signer: Signer, settings: DispatchSettings) -> DispatchReport:
    now: datetime = clock.now()
    uow = uow_factory()
    with uow:
        plan = load_plan(uow, settings.tz)
    result = compile_all(plan.specs, plan.directory, now, timedelta(days=settings.horizon_days), settings.tz)
    cache: dict[int, list[dict]] = {}  # devices of one group share the same timeline object
    staged = 0
    device_ids = sorted(plan.devices)
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
    return DispatchReport(len(device_ids), staged, len(result.groups), len(result.conflicts()))
