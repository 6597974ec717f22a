"""Remote actions on one loudspeaker: set its volume, or have it fetch its schedule again (resync).

Both are protocol v1 commands (section 4) sent on the device's own topic through the command outbox, like an
emergency's play_now: signed, staged in the caller's transaction, published right after, the device's acks
tracked. The device answers `received` when it acted; its next status shows the new volume.
"""
from __future__ import annotations

from datetime import timedelta

from broadcast import protocol
from broadcast.domain.auth import Action
from broadcast.domain.devices import Device
from broadcast.domain.errors import InvalidInput, NotFound
from broadcast.services.context import Actor, audit
from broadcast.services.delivery.commands import CommandRequest, stage_command
from broadcast.services.ports import Clock, Signer, UnitOfWork

COMMAND_TTL = timedelta(minutes=10)  # a device offline longer acts on the change at its next schedule instead


def _send(uow: UnitOfWork, clock: Clock, signer: Signer, actor: Actor, device_id: str, action: protocol.Action,
          volume: int | None = None) -> str:
    with uow:
        device: Device | None = uow.devices.get(device_id)
        if device is None:
            raise NotFound(f"Không tìm thấy thiết bị {device_id}.", code="device_not_found")
        actor.require(Action.MANAGE_DEVICES, device.area_chain())
        if device.disabled:
            raise InvalidInput(f"Thiết bị {device_id} đang bị vô hiệu hóa.", code="device_disabled")
        cmd_id = stage_command(uow, clock, signer, CommandRequest(
            action=action, devices=[device.id], tracked_devices=[device.id], volume=volume, ttl=COMMAND_TTL),
            created_by=actor.name)
        details = {"cmd_id": cmd_id} if volume is None else {"cmd_id": cmd_id, "volume": volume}
        audit(uow, clock, actor, f"device.{action}", "device", device.id, area_code=device.commune_code, **details)
        uow.commit()
        return cmd_id


def set_volume(uow: UnitOfWork, clock: Clock, signer: Signer, actor: Actor, device_id: str, volume: int) -> str:
    """Returns the command's id."""
    if isinstance(volume, bool) or not isinstance(volume, int) or not 0 <= volume <= 100:
        raise InvalidInput("Âm lượng phải là số nguyên từ 0 đến 100.", code="invalid_volume")
    return _send(uow, clock, signer, actor, device_id, "set_volume", volume)


def resync(uow: UnitOfWork, clock: Clock, signer: Signer, actor: Actor, device_id: str) -> str:
    """Returns the command's id."""
    return _send(uow, clock, signer, actor, device_id, "resync")
