"""One loudspeaker as its device page shows it: live state, what it plays now and next by title, its zones, its
newest schedule version, its recent acks.

A status names the playing item by id; the titles are in the signed schedule documents sent to the device (the
newest one first, then the version the device reports), or, for a live command, in the emergency it belongs to.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from broadcast import protocol
from broadcast.domain.areas import Area, Zone
from broadcast.domain.auth import Action, Principal
from broadcast.domain.devices import Device, DeviceState
from broadcast.domain.errors import NotFound
from broadcast.services.ports import UnitOfWork

RECENT_ACKS = 20
LIVE_COMMAND = "Lệnh phát trực tiếp"


@dataclass(frozen=True)
class Playing:
    title: str
    since: datetime | None
    priority: str | None = None
    emergency_id: int | None = None


@dataclass(frozen=True)
class Planned:
    title: str
    start: datetime
    end: datetime
    priority: str | None = None


@dataclass(frozen=True)
class DeviceActivity:
    device: Device
    state: DeviceState
    commune: Area | None
    zones: tuple[Zone, ...]  # the device's own zones (villages...), with their names
    playing: Playing | None
    upcoming: Planned | None
    newest_version: int | None  # newest schedule version sent to it
    may_manage: bool  # volume, resync, zones


def _time(value: Any) -> datetime | None:
    try:
        return protocol.parse_time(value) if value else None
    except protocol.ProtocolError:
        return None


def _items(uow: UnitOfWork, device_id: str, versions: Iterable[int | None]) -> list[list[dict[str, Any]]]:
    """The items of these versions of the device's schedule, in the order asked (unknown versions skipped)."""
    wanted = [v for v in dict.fromkeys(versions) if v is not None]
    found = uow.playlog.schedule_items({(device_id, v) for v in wanted}) if wanted else {}
    return [found[(device_id, v)] for v in wanted if (device_id, v) in found]


def _playing_item(documents: list[list[dict[str, Any]]], item_id: str, since: datetime | None) -> Playing:
    for items in documents:
        for item in items:
            if item.get("item_id") == item_id:
                return Playing(str(item.get("title") or "Chương trình không tên"), since, item.get("priority"))
    return Playing("Chương trình không còn trong lịch phát", since)


def _playing_command(uow: UnitOfWork, acks: Iterable[Mapping[str, Any]], since: datetime | None) -> Playing:
    """The live command the device last reported `playing` for (acks newest first) and has not finished."""
    finished: set[str] = set()
    for ack in acks:
        ref = ack.get("ref") or {}
        cmd_id = ref.get("command")
        if not isinstance(cmd_id, str):
            continue
        if ack.get("stage") in ("played", "preempted", "failed"):
            finished.add(cmd_id)
        elif ack.get("stage") == "playing" and cmd_id not in finished:
            facts = uow.playlog.command_facts([cmd_id]).get(cmd_id)
            if facts is not None and facts.emergency_id is not None:
                emergency = uow.emergencies.get(facts.emergency_id)
                reason = f": {emergency.reason}" if emergency is not None else ""
                return Playing(f"Phát khẩn cấp{reason}", since, facts.priority, facts.emergency_id)
            return Playing(LIVE_COMMAND, since, facts.priority if facts else None)
    return Playing(LIVE_COMMAND, since)


def _upcoming(documents: list[list[dict[str, Any]]], now: datetime, playing_item: str | None) -> Planned | None:
    """The first item of the newest document starting after now (not the one playing)."""
    if not documents:
        return None
    following = []
    for item in documents[0]:
        start, end = _time(item.get("start")), _time(item.get("end"))
        if start is not None and end is not None and start > now and item.get("item_id") != playing_item:
            following.append(Planned(str(item.get("title") or "Chương trình không tên"), start, end,
                                     item.get("priority")))
    return min(following, key=lambda p: p.start, default=None)


def device_activity(uow: UnitOfWork, principal: Principal, device_id: str, now: datetime) -> DeviceActivity:
    with uow:
        device = uow.devices.get(device_id)
        if device is None:
            raise NotFound(f"Không tìm thấy thiết bị {device_id}.", code="device_not_found")
        principal.require(Action.READ, device.area_chain())
        state = uow.devices.state(device_id, recent_acks=RECENT_ACKS)
        latest = uow.delivery.latest_publication(device_id)
        newest = latest.version if latest else None
        documents = _items(uow, device_id, (newest, state.reported_version))
        playing = None
        if state.online and state.playing_item:
            playing = _playing_item(documents, state.playing_item, state.playing_since)
        elif state.online and state.playing_since is not None:
            playing = _playing_command(uow, state.recent_acks, state.playing_since)
        zones = tuple(z for z in (uow.zones.get(zone_id) for zone_id in device.zones) if z is not None)
        return DeviceActivity(
            device=device, state=state, commune=uow.areas.get(device.commune_code), zones=zones, playing=playing,
            upcoming=_upcoming(documents, now, state.playing_item), newest_version=newest,
            may_manage=principal.may(Action.MANAGE_DEVICES, device.area_chain()))
