"""The status document (spec sections 5, 9.1): build and parse."""
from __future__ import annotations

from collections.abc import Sequence
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
) -> Status:
    return {
        "type": "status", "device_id": device_id, "online": True, "at": _time_str(at),
        "firmware": firmware, "schedule_version": schedule_version, "volume": volume,
        "playing": playing, "clock_offset_ms": clock_offset_ms,
        "storage_free_bytes": storage_free_bytes, "capabilities": list(capabilities),
    }


def offline_status(device_id: str) -> Status:
    """The MQTT last will (retained) of a device."""
    return {"type": "status", "device_id": device_id, "online": False}


def parse_status(payload: bytes | bytearray, expected_device_id: str | None = None) -> Status:
    doc = decode_object(payload)
    _type(doc, "status")
    _device(doc, expected_device_id)
    online = _require(doc, "online")
    if not isinstance(online, bool):
        raise ProtocolError("bad_field", "trường 'online' phải là true hoặc false")
    if not online:
        return doc  # type: ignore[return-value]  # the LWT carries nothing else
    _time(doc, "at")
    _str(doc, "firmware", optional=True, max_len=200)
    _int(doc, "schedule_version", lo=0, optional=True, nullable=True)
    _int(doc, "volume", lo=0, hi=100, optional=True)
    _int(doc, "clock_offset_ms", optional=True)
    _int(doc, "storage_free_bytes", lo=0, optional=True)
    playing = doc.get("playing")
    if playing is not None:
        if not isinstance(playing, dict):
            raise ProtocolError("bad_field", "trường 'playing' phải là đối tượng hoặc null")
        _str(playing, "item_id", nullable=True, pattern=ITEM_ID_RE)
        _time(playing, "since")
        _str(playing, "cmd_id", optional=True, pattern=CMD_ID_RE)
    caps = doc.get("capabilities", [])
    if not isinstance(caps, list) or not all(isinstance(c, str) for c in caps):
        raise ProtocolError("bad_field", "trường 'capabilities' phải là danh sách chuỗi")
    return doc  # type: ignore[return-value]
