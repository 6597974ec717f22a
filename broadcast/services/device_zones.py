"""Putting registered devices into the zones (villages, residential groups) of their commune.

Two views of the same membership: a device's zones, or a zone's devices. Either change needs the right to manage
devices in the commune, is audited with what was added and removed, and marks the devices changed, so the next
compilation sends each one a schedule document listing its new zones (devices subscribe to the zones listed there).
"""
from __future__ import annotations

from collections.abc import Sequence

from broadcast.domain.areas import Zone
from broadcast.domain.auth import Action
from broadcast.domain.devices import Device, DeviceQuery
from broadcast.domain.errors import InvalidInput, NotFound
from broadcast.services.context import Actor, audit
from broadcast.services.ports import Clock, UnitOfWork

MAX_ZONE_MEMBERS = 10_000


def _device(uow: UnitOfWork, device_id: str) -> Device:
    device = uow.devices.get(device_id)
    if device is None:
        raise NotFound(f"Không tìm thấy thiết bị {device_id}.", code="device_not_found")
    return device


def _zone(uow: UnitOfWork, zone_id: str) -> Zone:
    zone = uow.zones.get(zone_id)
    if zone is None:
        raise NotFound(f"Không tìm thấy vùng phát {zone_id}.", code="zone_not_found")
    return zone


def set_device_zones(uow: UnitOfWork, clock: Clock, actor: Actor, device_id: str,
                     zone_ids: Sequence[str]) -> Device:
    """The device's own zones become exactly `zone_ids`, each a zone of the device's commune."""
    wanted = list(dict.fromkeys(z.strip() for z in zone_ids if z.strip()))
    with uow:
        device = _device(uow, device_id)
        actor.require(Action.MANAGE_DEVICES, device.area_chain())
        for zone_id in wanted:
            zone = uow.zones.get(zone_id)
            if zone is None or zone.commune_code != device.commune_code:
                raise InvalidInput(f"Vùng phát {zone_id!r} không thuộc xã, phường của thiết bị {device.id}.",
                                   code="unknown_zone")
        before = list(device.zones)
        if before != wanted:
            uow.devices.set_zones(device.id, wanted, at=clock.now())
            audit(uow, clock, actor, "device.zones", "device", device.id, area_code=device.commune_code,
                  zones=wanted, added=[z for z in wanted if z not in before],
                  removed=[z for z in before if z not in wanted])
        uow.commit()
        return _device(uow, device_id)


def set_zone_members(uow: UnitOfWork, clock: Clock, actor: Actor, zone_id: str,
                     device_ids: Sequence[str]) -> list[str]:
    """The zone's devices become exactly `device_ids`, devices of the zone's commune; returns them sorted."""
    wanted = set(d.strip() for d in device_ids if d.strip())
    with uow:
        zone = _zone(uow, zone_id)
        commune = uow.areas.get(zone.commune_code)
        actor.require(Action.MANAGE_DEVICES, commune.chain() if commune else (zone.commune_code,))
        residents = uow.devices.list(DeviceQuery(area_code=zone.commune_code, limit=MAX_ZONE_MEMBERS))
        by_id = {device.id: device for device, _state in residents if device.commune_code == zone.commune_code}
        strangers = sorted(wanted - by_id.keys())
        if strangers:
            raise InvalidInput(f"Thiết bị {', '.join(strangers[:5])} không thuộc xã, phường của vùng phát "
                               f"“{zone.name}”.", code="device_not_in_commune")
        now = clock.now()
        added, removed = [], []
        for device in by_id.values():
            member = zone.id in device.zones
            if device.id in wanted and not member:
                uow.devices.set_zones(device.id, [*device.zones, zone.id], at=now)
                added.append(device.id)
            elif device.id not in wanted and member:
                uow.devices.set_zones(device.id, [z for z in device.zones if z != zone.id], at=now)
                removed.append(device.id)
        if added or removed:
            audit(uow, clock, actor, "zone.devices", "zone", zone.id, area_code=zone.commune_code,
                  added=sorted(added), removed=sorted(removed))
        uow.commit()
        return sorted(wanted)
