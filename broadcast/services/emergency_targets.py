"""Where an operator may send an emergency, and how many devices a choice of targets would sound on.

The choices are the areas of the operator's emergency grants (a province's communes under it), their zones, then
their devices. The count is the emergency service's own plan (`plan_targets`): the same resolution and the same
authorization as sending, without writing anything, so the confirmation names exactly the devices that will sound.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from broadcast.domain.areas import Area, Zone
from broadcast.domain.auth import Action, Principal
from broadcast.domain.devices import Device, DeviceQuery
from broadcast.services.area_scope import areas_within
from broadcast.services.context import Actor
from broadcast.services.emergencies import plan_targets
from broadcast.services.ports import UnitOfWork

MAX_ZONES = 2000
MAX_DEVICES = 500  # listed one by one; whole areas and zones reach any number


@dataclass(frozen=True)
class TargetChoices:
    areas: tuple[Area, ...]  # granted areas first, each province followed by its communes
    zones: tuple[Zone, ...]
    devices: tuple[Device, ...]
    more_devices: bool  # more devices than listed: choose their commune or zone instead


@dataclass(frozen=True)
class TargetSummary:
    names: tuple[str, ...]  # what was chosen, by name
    devices: int  # devices that will sound


def target_choices(uow: UnitOfWork, principal: Principal) -> TargetChoices:
    granted = principal.areas_for(Action.SEND_EMERGENCY)
    areas = areas_within(uow, granted)
    with uow:
        scope = frozenset(granted)
        zones = tuple(uow.zones.list(within_areas=scope, limit=MAX_ZONES)) if scope else ()
        listed = uow.devices.list_plain(DeviceQuery(within_areas=scope, include_disabled=False,
                                                    limit=MAX_DEVICES + 1)) if scope else []
    return TargetChoices(areas, zones, tuple(listed[:MAX_DEVICES]), len(listed) > MAX_DEVICES)


def summarize_targets(uow: UnitOfWork, actor: Actor, *, areas: Sequence[str], zones: Sequence[str],
                      devices: Sequence[str]) -> TargetSummary:
    """Raises as sending would (unknown target, no right on one); writes nothing."""
    with uow:
        plan = plan_targets(uow, actor, areas=areas, zones=zones, devices=devices, test_only=False)
        names = [a.name for a in (uow.areas.get(code) for code in dict.fromkeys(areas)) if a is not None]
        names += [z.name for z in (uow.zones.get(zone_id) for zone_id in dict.fromkeys(zones)) if z is not None]
        names += [d.name for d in (uow.devices.get(device_id) for device_id in dict.fromkeys(devices))
                  if d is not None]
    return TargetSummary(tuple(names), len(plan.tracked))
