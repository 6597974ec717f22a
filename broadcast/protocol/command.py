"""The command document (spec sections 4, 9.2): build, parse, verify, and whether it is addressed to a device."""
from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal, NotRequired, TypedDict

from broadcast.protocol.schedule import Media
from broadcast.protocol.signing import PublicKeyLike, verify_or_raise
from broadcast.protocol.topics import _check_device_id, _check_zone_id
from broadcast.protocol.wire import (
    ACTIONS,
    CMD_ID_RE,
    POWER_STATES,
    Action,
    Power,
    Priority,
    ProtocolError,
    _int,
    _media_or_stream,
    _priority,
    _require,
    _str,
    _time,
    _time_str,
    _type,
    decode_object,
)


class Command(TypedDict):
    type: Literal["command"]
    cmd_id: str
    action: Action
    issued_at: str
    expires_at: str
    priority: NotRequired[Priority]
    volume: NotRequired[int]
    power: NotRequired[Power]
    media: NotRequired[list[Media]]
    stream_url: NotRequired[str]
    end: NotRequired[str]
    ref_cmd_id: NotRequired[str]
    target: NotRequired[dict[str, str]]
    sig: NotRequired[str]


def build_command(
    cmd_id: str,
    action: Action,
    *,
    issued_at: str | datetime,
    expires_at: str | datetime,
    priority: Priority | None = None,
    volume: int | None = None,
    power: Power | None = None,
    media: Sequence[Media] | None = None,
    stream_url: str | None = None,
    end: str | datetime | None = None,
    ref_cmd_id: str | None = None,
    target: Mapping[str, str] | None = None,
) -> Command:
    doc: Command = {
        "type": "command", "cmd_id": cmd_id, "action": action,
        "issued_at": _time_str(issued_at), "expires_at": _time_str(expires_at),
    }
    if priority is not None:
        doc["priority"] = priority
    if volume is not None:
        doc["volume"] = volume
    if power is not None:
        doc["power"] = power
    if media is not None:
        doc["media"] = list(media)
    if stream_url is not None:
        doc["stream_url"] = stream_url
    if end is not None:
        doc["end"] = _time_str(end)
    if ref_cmd_id is not None:
        doc["ref_cmd_id"] = ref_cmd_id
    if target is not None:
        doc["target"] = dict(target)
    return doc


def command_ref(cmd_id: str) -> dict[str, str]:
    return {"command": cmd_id}


def parse_command(payload: bytes) -> Command:
    doc = decode_object(payload)
    _type(doc, "command")
    _str(doc, "cmd_id", pattern=CMD_ID_RE)
    action = _require(doc, "action")
    if action not in ACTIONS:
        raise ProtocolError("unknown_action", f"lệnh không hỗ trợ: {action!r}")
    _time(doc, "issued_at")
    _time(doc, "expires_at")
    _priority(doc, optional=action != "play_now")
    _int(doc, "volume", lo=0, hi=100, optional=action != "set_volume")
    if action == "set_power" or "power" in doc:
        if action != "set_power" or _require(doc, "power") not in POWER_STATES:
            raise ProtocolError("bad_field", "trường 'power' chỉ có ở lệnh set_power, là 'on' hoặc 'off'")
    if action == "play_now":
        _media_or_stream(doc, "lệnh play_now")
        _time(doc, "end", optional=True)
    elif "media" in doc or "stream_url" in doc:
        raise ProtocolError("bad_field", f"lệnh {action} không được có 'media' hay 'stream_url'")
    _str(doc, "ref_cmd_id", optional=True, pattern=CMD_ID_RE)
    if "target" in doc:
        target = doc["target"]
        if not isinstance(target, dict) or len(target) != 1 or not target.keys() <= {"device", "zone"}:
            raise ProtocolError("bad_field", "trường 'target' phải là {\"device\": mã} hoặc {\"zone\": mã}")
        if "zone" in target:
            _check_zone_id(target["zone"])
        else:
            _check_device_id(target["device"])
    _str(doc, "sig", optional=True)
    return doc  # type: ignore[return-value]


def addressed_to(command: Mapping[str, Any], device_id: str, zones: Collection[str]) -> bool:
    """Whether a device may act on a command: its `target` is the device itself or one of `zones`, the zones of
    the device's newest verified schedule. Whatever topic it came on: a signed command republished elsewhere
    is still bound to where the server sent it. O(1) for a set of zones (a zone command reaches 10k devices)."""
    target = command.get("target")
    if not isinstance(target, Mapping):
        return False  # a command that names no target is bound to nothing
    if "device" in target:
        return bool(target["device"] == device_id)
    zone = target.get("zone")
    return isinstance(zone, str) and zone in zones


def parse_signed_command(payload: bytes, public_key: PublicKeyLike) -> Command:
    doc = parse_command(payload)
    verify_or_raise(doc, public_key)
    return doc
