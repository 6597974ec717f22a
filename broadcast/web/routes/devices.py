from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from broadcast.domain.devices import DeviceQuery
from broadcast.services import device_zones
from broadcast.services import devices as device_service
from broadcast.services.fleet_health import device_health
from broadcast.services.remote_commands import send_command
from broadcast.web.deps import ActorDep, ContainerDep, PrincipalDep, UowDep
from broadcast.web.openapi import errors
from broadcast.web.schemas import DeviceCredentialsOut, DeviceIn, DeviceOut
from broadcast.web.schemas_devices import CommandOut, DeviceHealthOut, DeviceZonesIn, VolumeIn

router = APIRouter(prefix="/devices", tags=["devices"])


@router.get("/signing-key")
def signing_key(container: ContainerDep, _principal: PrincipalDep) -> dict:
    """The server's Ed25519 public key (raw 32 bytes, base64) that devices verify documents with."""
    return {"algorithm": "Ed25519", "public_key": container.signer.public_key_b64,
            "topic_prefix": container.settings.topic_prefix}


def _credentials(container, device, password: str) -> DeviceCredentialsOut:
    return DeviceCredentialsOut(device=DeviceOut.of(device), mqtt_username=device.id, mqtt_password=password,
                                signing_public_key=container.signer.public_key_b64,
                                topic_prefix=container.settings.topic_prefix)


@router.post("", response_model=DeviceCredentialsOut, status_code=201, responses=errors(403, 404, 409))
def register(body: DeviceIn, uow: UowDep, container: ContainerDep, actor: ActorDep) -> DeviceCredentialsOut:
    spec = device_service.DeviceSpec(**{**body.model_dump(), "zones": tuple(body.zones)})
    registered = device_service.register_device(uow, container.clock, actor, spec)
    container.sync_broker()  # the new device may log in at once
    return _credentials(container, registered.device, registered.mqtt_password)


@router.get("", response_model=list[DeviceOut], responses=errors(403, 404))
def list_devices(uow: UowDep, principal: PrincipalDep, area: str | None = None, zone: str | None = None,
                 online: bool | None = None, stale: bool | None = None,
                 q: Annotated[str | None, Query(max_length=100)] = None,
                 limit: Annotated[int, Query(ge=1, le=10000)] = 100,
                 offset: Annotated[int, Query(ge=0)] = 0) -> list[DeviceOut]:
    """`q`: part of the name or id, case and Vietnamese diacritics ignored."""
    query = DeviceQuery(area_code=area, zone_id=zone, online=online, stale_schedule=stale, search=q, limit=limit,
                        offset=offset)
    return [DeviceOut.of(d, s) for d, s in device_service.list_devices(uow, principal, query)]


@router.get("/{device_id}", response_model=DeviceOut, responses=errors(403, 404))
def get_device(device_id: str, uow: UowDep, container: ContainerDep, principal: PrincipalDep,
               actor: ActorDep) -> DeviceOut:
    device, state = device_service.get_device(uow, principal, device_id)
    out = DeviceOut.of(device, state)
    out.health = DeviceHealthOut.of(device_health(uow, container.clock, actor, device_id,
                                                  history=False)).current
    return out


@router.get("/{device_id}/health", response_model=DeviceHealthOut, responses=errors(403, 404, 422))
def get_health(device_id: str, uow: UowDep, container: ContainerDep, actor: ActorDep,
               start: Annotated[datetime | None, Query(alias="from", description="Mặc định: 24 giờ trước")] = None,
               end: Annotated[datetime | None, Query(alias="to", description="Mặc định: bây giờ")] = None,
               ) -> DeviceHealthOut:
    """The newest health and the history in buckets (LOAXA_HEALTH_BUCKET_MINUTES), at most 31 days at once."""
    return DeviceHealthOut.of(device_health(uow, container.clock, actor, device_id, start=start, end=end))


@router.post("/{device_id}/rotate-secret", response_model=DeviceCredentialsOut, responses=errors(403, 404))
def rotate(device_id: str, uow: UowDep, container: ContainerDep, actor: ActorDep,
           principal: PrincipalDep) -> DeviceCredentialsOut:
    password = device_service.rotate_secret(uow, container.clock, actor, device_id)
    container.sync_broker()  # the old secret stops working, live connections included
    device, _ = device_service.get_device(uow, principal, device_id)
    return _credentials(container, device, password)


@router.post("/{device_id}/disable", response_model=DeviceOut, responses=errors(403, 404))
def disable(device_id: str, uow: UowDep, container: ContainerDep, actor: ActorDep) -> DeviceOut:
    device = device_service.set_disabled(uow, container.clock, actor, device_id, True)
    container.sync_broker()  # the broker drops it now, not at the next manual reload
    return DeviceOut.of(device)


@router.post("/{device_id}/enable", response_model=DeviceOut, responses=errors(403, 404))
def enable(device_id: str, uow: UowDep, container: ContainerDep, actor: ActorDep) -> DeviceOut:
    device = device_service.set_disabled(uow, container.clock, actor, device_id, False)
    container.sync_broker()
    return DeviceOut.of(device)


@router.put("/{device_id}/zones", response_model=DeviceOut, responses=errors(403, 404))
def set_zones(device_id: str, body: DeviceZonesIn, uow: UowDep, container: ContainerDep, actor: ActorDep) -> DeviceOut:
    """The device's zones (villages, residential groups of its commune) become exactly these; audited. Its next
    schedule document lists them, so it starts listening on their command topics."""
    device = device_zones.set_device_zones(uow, container.clock, actor, device_id, body.zones)
    container.wake_compile()
    return DeviceOut.of(device)


@router.post("/{device_id}/volume", response_model=CommandOut, status_code=202, responses=errors(403, 404))
def set_volume(device_id: str, body: VolumeIn, uow: UowDep, container: ContainerDep, actor: ActorDep) -> CommandOut:
    """A signed set_volume command on the device's topic; its next status reports the volume."""
    sent = send_command(uow, container.clock, container.signer, actor, action="set_volume", devices=[device_id],
                        volume=body.volume)
    container.wake_delivery()
    return CommandOut(cmd_id=sent.cmd_id, action="set_volume", device_id=device_id)


@router.post("/{device_id}/resync", response_model=CommandOut, status_code=202, responses=errors(403, 404))
def resync(device_id: str, uow: UowDep, container: ContainerDep, actor: ActorDep) -> CommandOut:
    """A signed resync command: the device fetches its retained schedule again and reports its status."""
    sent = send_command(uow, container.clock, container.signer, actor, action="resync", devices=[device_id])
    container.wake_delivery()
    return CommandOut(cmd_id=sent.cmd_id, action="resync", device_id=device_id)
