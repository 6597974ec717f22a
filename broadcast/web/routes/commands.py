"""Remote commands to loudspeakers by area, zone or device (spec sections 4 and 9.2)."""
from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from broadcast.services import remote_commands as service
from broadcast.web.deps import ActorDep, ContainerDep, PrincipalDep, UowDep
from broadcast.web.openapi import errors
from broadcast.web.schemas import StrictModel

router = APIRouter(prefix="/commands", tags=["commands"])


class CommandIn(StrictModel):
    action: Literal["set_volume", "set_power", "reboot", "resync"]
    areas: list[str] = Field(default_factory=list, max_length=1000)
    zones: list[str] = Field(default_factory=list, max_length=1000)
    devices: list[str] = Field(default_factory=list, max_length=10000)
    volume: int | None = Field(default=None, ge=0, le=100, description="set_volume")
    power: Literal["on", "off"] | None = Field(default=None, description="set_power")


class CommandSentOut(BaseModel):
    cmd_id: str
    devices: int


@router.post("", response_model=CommandSentOut, status_code=202, responses=errors(403, 404, 422))
def send(body: CommandIn, container: ContainerDep, uow: UowDep, actor: ActorDep) -> CommandSentOut:
    """Signed and sent at once; each device answers `received`, then `played` when done (GET to follow)."""
    sent = service.send_command(uow, container.clock, container.signer, actor, action=body.action, areas=body.areas,
                                zones=body.zones, devices=body.devices, volume=body.volume, power=body.power)
    container.wake_delivery()
    return CommandSentOut(cmd_id=sent.cmd_id, devices=sent.devices)


@router.get("/{cmd_id}", responses=errors(404))
def status(cmd_id: str, uow: UowDep, principal: PrincipalDep) -> dict[str, Any]:
    """Where the command stands on each device the caller may see: `sent` until its first ack."""
    return service.command_status(uow, principal, cmd_id)
