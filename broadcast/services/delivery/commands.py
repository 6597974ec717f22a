"""Live actions for devices (play now, stop, volume, resync): signed, fanned out per zone topic, tracked per device.

Like schedules they go through an outbox: staged in the caller's transaction, published right after.
"""
from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from broadcast import protocol
from broadcast.domain.delivery import CommandPublication
from broadcast.domain.errors import InvalidInput
from broadcast.services.ports import Clock, CommandStaging, DeliveryUnitOfWork, DevicePublisher, Signer

MAX_TTL = timedelta(hours=24)


@dataclass(frozen=True)
class CommandRequest:
    action: protocol.Action  # checked again at run time: callers may pass what a user typed
    zones: Sequence[str] = ()  # fast fan-out: one publish per zone topic
    devices: Sequence[str] = ()  # per-device topics (devices outside any targeted zone)
    tracked_devices: Sequence[str] = ()  # whose acks count for reach
    priority: protocol.Priority | None = None
    volume: int | None = None
    power: protocol.Power | None = None  # set_power (spec 9.2)
    media: Sequence[protocol.Media] | None = None
    stream_url: str | None = None
    end: datetime | None = None
    ref_cmd_id: str | None = None
    ttl: timedelta = timedelta(minutes=10)
    extra: dict[str, Any] = field(default_factory=dict)


def stage_command(uow: CommandStaging, clock: Clock, signer: Signer, request: CommandRequest, *, created_by: str,
                  emergency_id: int | None = None) -> str:
    """Write the command and one signed document per target topic; returns the cmd_id. No commit here."""
    if request.action not in protocol.ACTIONS:
        raise InvalidInput(f"Lệnh không hợp lệ: {request.action!r}.", code="invalid_action")
    if not request.zones and not request.devices:
        raise InvalidInput("Lệnh phải có ít nhất một vùng hoặc thiết bị nhận.", code="no_targets")
    if not timedelta(seconds=5) <= request.ttl <= MAX_TTL:
        raise InvalidInput("Thời hạn hiệu lực của lệnh phải từ 5 giây đến 24 giờ.", code="invalid_ttl")
    now = clock.now()
    cmd_id = uuid.uuid4().hex
    base = protocol.build_command(cmd_id, request.action, issued_at=now, expires_at=now + request.ttl,
                                  priority=request.priority, volume=request.volume, power=request.power,
                                  media=request.media,
                                  stream_url=request.stream_url, end=request.end, ref_cmd_id=request.ref_cmd_id)
    publications = [
        CommandPublication(cmd_id, kind, target, signer.sign({**base, "target": {kind: target}}))
        for kind, targets in (("zone", request.zones), ("device", request.devices)) for target in targets
    ]
    uow.commands.add(cmd_id=cmd_id, action=request.action, priority=request.priority, issued_at=now,
                     expires_at=now + request.ttl, created_by=created_by, emergency_id=emergency_id,
                     publications=publications, tracked_devices=request.tracked_devices)
    return cmd_id


def flush_commands(uow_factory: Callable[[], DeliveryUnitOfWork], clock: Clock, publisher: DevicePublisher, *,
                   batch_size: int = 500, publish_timeout_s: float = 10.0,
                   fence: Callable[[DeliveryUnitOfWork], None] | None = None) -> int:
    """Publish staged command documents that have not expired; each at most once after the broker took it.
    `fence`: the leader lease's check, as in `flush_outbox`."""
    uow = uow_factory()
    with uow:
        if fence is not None:
            fence(uow)
        due = uow.commands.due(now=clock.now(), limit=batch_size)
    if not due:
        return 0
    accepted = publisher.publish_commands(due, timeout=publish_timeout_s)
    now = clock.now()
    with uow:
        if fence is not None:
            fence(uow)
        for publication, ok in zip(due, accepted, strict=True):
            if ok:
                uow.commands.mark_published(publication.cmd_id, publication.target_kind, publication.target_id, at=now)
        uow.commit()
    return sum(accepted)
