"""Remote control of loudspeakers by area, zone or device (spec sections 4 and 9.2): set the volume, switch the
amplifier relay on or off, reboot, resync. Authorized like emergencies' targets but with the right to manage
devices, audited, published through the command outbox and tracked per device by its acks."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from broadcast import protocol
from broadcast.domain.auth import Action, Principal
from broadcast.domain.errors import InvalidInput, NotFound
from broadcast.services.context import Actor, audit
from broadcast.services.delivery.commands import CommandRequest, stage_command
from broadcast.services.emergencies import plan_targets
from broadcast.services.ports import Clock, Signer, UnitOfWork

REMOTE_ACTIONS = ("set_volume", "set_power", "reboot", "resync")
COMMAND_TTL = timedelta(minutes=10)  # a device offline longer acts on its next schedule instead


@dataclass(frozen=True)
class SentCommand:
    cmd_id: str
    devices: int  # tracked: whose acks tell where it stands


def send_command(uow: UnitOfWork, clock: Clock, signer: Signer, actor: Actor, *, action: str,
                 areas: Sequence[str] = (), zones: Sequence[str] = (), devices: Sequence[str] = (),
                 volume: int | None = None, power: str | None = None) -> SentCommand:
    if action not in REMOTE_ACTIONS:
        raise InvalidInput(f"Lệnh phải là một trong: {', '.join(REMOTE_ACTIONS)}.", code="invalid_action")
    if action == "set_volume" and (isinstance(volume, bool) or not isinstance(volume, int) or not 0 <= volume <= 100):
        raise InvalidInput("Âm lượng phải là số nguyên từ 0 đến 100.", code="invalid_volume")
    if action == "set_power" and power not in protocol.POWER_STATES:
        raise InvalidInput("Nguồn phải là 'on' (bật) hoặc 'off' (tắt).", code="invalid_power")
    if not (areas or zones or devices):
        raise InvalidInput("Hãy chọn ít nhất một địa bàn, vùng phát hoặc thiết bị.", code="no_targets")
    with uow:
        plan = plan_targets(uow, actor, areas=areas, zones=zones, devices=devices, test_only=False,
                            action=Action.MANAGE_DEVICES)
        if not plan.tracked:
            raise InvalidInput("Không có thiết bị nào ở nơi đã chọn.", code="no_devices")
        cmd_id = stage_command(uow, clock, signer, CommandRequest(
            action=action,  # type: ignore[arg-type]  # checked against REMOTE_ACTIONS above
            zones=plan.publish_zones, devices=plan.publish_devices, tracked_devices=plan.tracked,
            volume=volume if action == "set_volume" else None,
            power=power if action == "set_power" else None,  # type: ignore[arg-type]
            ttl=COMMAND_TTL), created_by=actor.name)
        audit(uow, clock, actor, f"command.{action}", "command", cmd_id, area_code=plan.owner, areas=list(areas),
              zones=list(zones), devices=list(devices), tracked=len(plan.tracked),
              **({"volume": volume} if action == "set_volume" else {}),
              **({"power": power} if action == "set_power" else {}))
        uow.commit()
        return SentCommand(cmd_id, len(plan.tracked))


def command_status(uow: UnitOfWork, principal: Principal, cmd_id: str) -> dict[str, Any]:
    """The command and the stage of each tracked device the principal may read."""
    with uow:
        info = uow.commands.info(cmd_id)
        scope = frozenset(principal.areas_for(Action.READ))
        deliveries = uow.commands.deliveries(cmd_id, scope) if info is not None else []
        if info is None or (not deliveries and info.created_by != principal.username):
            raise NotFound(f"Không tìm thấy lệnh {cmd_id}.", code="command_not_found")
    stages: dict[str, int] = {}
    for _device, stage in deliveries:
        stages[stage or "sent"] = stages.get(stage or "sent", 0) + 1
    return {"cmd_id": info.cmd_id, "action": info.action, "issued_at": info.issued_at,
            "expires_at": info.expires_at, "created_by": info.created_by, "stages": stages,
            "devices": [{"device_id": d, "stage": s} for d, s in deliveries]}
