"""Device health as officers read it: a device's current values and its history, and the nightly purge of the
history (the inbox stores both as statuses arrive: services/delivery/inbox.py)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo

from broadcast.domain.auth import Action
from broadcast.domain.errors import InvalidInput, NotFound
from broadcast.domain.health import CommuneFleet, HealthBucket
from broadcast.protocol.status import HealthValue
from broadcast.services.context import Actor
from broadcast.services.ports import Clock, UnitOfWork

MAX_HISTORY = timedelta(days=31)  # a month of 5-minute buckets is 8,928 points: enough for one chart


@dataclass(frozen=True)
class DeviceHealth:
    at: datetime | None  # when the newest values arrived; None: the device never sent health
    current: HealthValue | None
    history: tuple[HealthBucket, ...]


def device_health(uow: UnitOfWork, clock: Clock, actor: Actor, device_id: str, *, start: datetime | None = None,
                  end: datetime | None = None, history: bool = True) -> DeviceHealth:
    """The device's health, for whoever may read its area; the history of the last day unless asked otherwise
    (`history` False: the current values alone)."""
    end = end or clock.now()
    start = start or end - timedelta(days=1)
    if start >= end:
        raise InvalidInput("Thời điểm bắt đầu phải trước thời điểm kết thúc.", code="invalid_range")
    if end - start > MAX_HISTORY:
        raise InvalidInput("Chỉ xem được lịch sử tối đa 31 ngày mỗi lần.", code="range_too_long")
    with uow:
        device = uow.devices.get(device_id)
        if device is None:
            raise NotFound(f"Không tìm thấy thiết bị {device_id}.", code="device_not_found")
        actor.require(Action.READ, device.area_chain())
        found = uow.health.current(device_id)
        buckets = uow.health.history(device_id, start, end) if history else []
    at, current = found if found is not None else (None, None)
    return DeviceHealth(at, current, tuple(buckets))


def fleet_figures(uow_factory: Callable[[], UnitOfWork], clock: Clock, tz: tzinfo) -> list[CommuneFleet]:
    """Every commune's devices online, in fault, powered off, with a stale schedule, and today's misses and
    failures (local day)."""
    now = clock.now()
    since = datetime.combine(now.astimezone(tz).date(), time(), tz)
    uow = uow_factory()
    with uow:
        return uow.health.fleet(since)


def purge_health_history(uow_factory: Callable[[], UnitOfWork], clock: Clock, retention_days: int) -> int:
    uow = uow_factory()
    with uow:
        deleted = uow.health.purge(before=clock.now() - timedelta(days=retention_days))
        uow.commit()
    return deleted
