"""The status document (spec sections 5, 9.1): build and parse."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, NotRequired, TypedDict

from broadcast.protocol.wire import (
    CMD_ID_RE,
    ITEM_ID_RE,
    ProtocolError,
    _device,
    _int,
    _require,
    _str,
    _time,
    _time_str,
    _type,
    decode_object,
)


class Playing(TypedDict):
    item_id: str | None
    since: str
    cmd_id: NotRequired[str]


class HealthDoc(TypedDict, total=False):
    temperature_c: int
    supply_mv: int
    amplifier: Literal["ok", "fault", "off"]
    speaker_line: Literal["ok", "open", "short", "unknown"]
    rssi_dbm: int
    network: Literal["cellular", "ethernet", "wifi", "other"]
    uptime_s: int
    power: Literal["on", "off"]


AMPLIFIER_STATES = ("ok", "fault", "off")
SPEAKER_LINE_STATES = ("ok", "open", "short", "unknown")
NETWORKS = ("cellular", "ethernet", "wifi", "other")
POWER_STATES = ("on", "off")
_HEALTH_NUMBERS = {"temperature_c": (-60, 150), "supply_mv": (0, 100_000), "rssi_dbm": (-200, 0),
                   "uptime_s": (0, 10 * 365 * 86_400)}


@dataclass(frozen=True, slots=True)
class HealthValue:
    """Section 9.1: every member optional (a device reports what it can measure)."""

    temperature_c: int | None = None
    supply_mv: int | None = None
    amplifier: str | None = None
    speaker_line: str | None = None
    rssi_dbm: int | None = None
    network: str | None = None
    uptime_s: int | None = None
    power: str | None = None


class Status(TypedDict):
    type: Literal["status"]
    device_id: str
    online: bool
    at: NotRequired[str]
    firmware: NotRequired[str]
    schedule_version: NotRequired[int | None]
    volume: NotRequired[int]
    playing: NotRequired[Playing | None]
    clock_offset_ms: NotRequired[int]
    storage_free_bytes: NotRequired[int]
    capabilities: NotRequired[list[str]]
    health: NotRequired[HealthDoc]


@dataclass(frozen=True, slots=True)
class StatusValue:
    """A status from the wire, checked once and typed. Offline (the last will) carries nothing but the flag."""

    device_id: str
    online: bool
    at: datetime | None = None
    firmware: str | None = None
    schedule_version: int | None = None
    volume: int | None = None
    playing_item: str | None = None
    playing_since: datetime | None = None
    playing_command: str | None = None
    clock_offset_ms: int | None = None
    storage_free_bytes: int | None = None
    capabilities: tuple[str, ...] = ()
    health: HealthValue | None = None
    # A malformed `health` loses only itself: the rest of the status (online, playing, version) still counts.
    health_problem: str | None = None


def _word(doc: dict[str, object], name: str, allowed: tuple[str, ...]) -> str | None:
    word = doc.get(name)
    if word is None:
        return None
    if not isinstance(word, str) or word not in allowed:
        raise ProtocolError("bad_field", f"trường 'health.{name}' phải là một trong: {', '.join(allowed)}")
    return word


def parse_health(doc: object) -> HealthValue:
    """The `health` object of a status (section 9.1), or ProtocolError naming the bad member."""
    if not isinstance(doc, dict):
        raise ProtocolError("bad_field", "trường 'health' phải là đối tượng")
    number = {name: _int(doc, name, lo=lo, hi=hi, optional=True) for name, (lo, hi) in _HEALTH_NUMBERS.items()}
    return HealthValue(temperature_c=number["temperature_c"], supply_mv=number["supply_mv"],
                       amplifier=_word(doc, "amplifier", AMPLIFIER_STATES),
                       speaker_line=_word(doc, "speaker_line", SPEAKER_LINE_STATES),
                       rssi_dbm=number["rssi_dbm"], network=_word(doc, "network", NETWORKS),
                       uptime_s=number["uptime_s"], power=_word(doc, "power", POWER_STATES))


def build_status(
    device_id: str,
    *,
    at: str | datetime,
    schedule_version: int | None,
    volume: int,
    playing: Playing | None = None,
    firmware: str = "unknown",
    clock_offset_ms: int = 0,
    storage_free_bytes: int = 0,
    capabilities: Sequence[str] = ("audio",),
    health: HealthDoc | None = None,
) -> Status:
    status: Status = {
        "type": "status", "device_id": device_id, "online": True, "at": _time_str(at),
        "firmware": firmware, "schedule_version": schedule_version, "volume": volume,
        "playing": playing, "clock_offset_ms": clock_offset_ms,
        "storage_free_bytes": storage_free_bytes, "capabilities": list(capabilities),
    }
    if health is not None:
        status["health"] = health
    return status


def offline_status(device_id: str) -> Status:
    """The MQTT last will (retained) of a device."""
    return {"type": "status", "device_id": device_id, "online": False}


def parse_status(payload: bytes | bytearray, expected_device_id: str | None = None) -> StatusValue:
    """Untrusted bytes -> a typed status, or ProtocolError(code, Vietnamese detail)."""
    doc = decode_object(payload)
    _type(doc, "status")
    device_id = _device(doc, expected_device_id)
    online = _require(doc, "online")
    if not isinstance(online, bool):
        raise ProtocolError("bad_field", "trường 'online' phải là true hoặc false")
    if not online:
        return StatusValue(device_id, online=False)  # the LWT carries nothing else
    at = _time(doc, "at")
    firmware = _str(doc, "firmware", optional=True, max_len=200)
    version = _int(doc, "schedule_version", lo=0, optional=True, nullable=True)
    volume = _int(doc, "volume", lo=0, hi=100, optional=True)
    clock_offset = _int(doc, "clock_offset_ms", optional=True)
    storage_free = _int(doc, "storage_free_bytes", lo=0, optional=True)
    playing = doc.get("playing")
    item = since = command = None
    if playing is not None:
        if not isinstance(playing, dict):
            raise ProtocolError("bad_field", "trường 'playing' phải là đối tượng hoặc null")
        item = _str(playing, "item_id", nullable=True, pattern=ITEM_ID_RE)
        since = _time(playing, "since")
        command = _str(playing, "cmd_id", optional=True, pattern=CMD_ID_RE)
    caps = doc.get("capabilities", [])
    if not isinstance(caps, list) or not all(isinstance(c, str) for c in caps):
        raise ProtocolError("bad_field", "trường 'capabilities' phải là danh sách chuỗi")
    health = problem = None
    if "health" in doc:
        try:
            health = parse_health(doc["health"])
        except ProtocolError as exc:
            problem = exc.detail
    return StatusValue(device_id, True, at, firmware, version, volume, item, since, command, clock_offset,
                       storage_free, tuple(caps), health, problem)
