"""The ack document (spec section 6): build and parse."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, NotRequired, TypedDict

from broadcast.protocol.wire import (
    ACK_STAGES,
    CMD_ID_RE,
    ITEM_ID_RE,
    AckStage,
    ProtocolError,
    _device,
    _int,
    _require,
    _str,
    _time,
    _time_str,
    _type,
    decode_object,
    parse_time,
)

AckRef = dict[str, int] | dict[str, str]
RefKind = Literal["schedule", "command"]


class Ack(TypedDict):
    type: Literal["ack"]
    device_id: str
    ref: AckRef
    stage: AckStage
    at: str
    item_id: str | None
    reason: str | None
    started_at: NotRequired[str]
    ended_at: NotRequired[str]


@dataclass(frozen=True, slots=True)
class AckValue:
    """An ack from the wire, checked once and typed: what the server stores, without reading the JSON again."""

    device_id: str
    ref_kind: RefKind
    ref_id: str  # the schedule version in decimal, or the command id
    stage: AckStage
    at: datetime
    item_id: str | None = None
    reason: str | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None


def build_ack(
    device_id: str,
    ref: AckRef,
    stage: AckStage,
    *,
    at: str | datetime,
    item_id: str | None = None,
    reason: str | None = None,
    started_at: str | datetime | None = None,
    ended_at: str | datetime | None = None,
) -> Ack:
    doc: Ack = {
        "type": "ack", "device_id": device_id, "ref": dict(ref), "stage": stage,  # type: ignore[typeddict-item]
        "at": _time_str(at), "item_id": item_id, "reason": reason,
    }
    if started_at is not None:
        doc["started_at"] = _time_str(started_at)
    if ended_at is not None:
        doc["ended_at"] = _time_str(ended_at)
    return doc


_NEEDS_ITEM = {"playing", "played", "preempted", "missed"}


def parse_ack(payload: bytes | bytearray, expected_device_id: str | None = None) -> AckValue:
    """Untrusted bytes -> a typed ack, or ProtocolError(code, Vietnamese detail)."""
    doc = decode_object(payload)
    _type(doc, "ack")
    device_id = _device(doc, expected_device_id)
    ref = _require(doc, "ref")
    if not isinstance(ref, dict) or len(ref) != 1:
        raise ProtocolError("bad_ref", "trường 'ref' phải có đúng một khóa 'schedule' hoặc 'command'")
    ref_kind: RefKind
    if "schedule" in ref:
        ref_kind, ref_id = "schedule", str(_int(ref, "schedule", lo=0))
    elif "command" in ref:
        ref_kind, ref_id = "command", str(_str(ref, "command", pattern=CMD_ID_RE))
    else:
        raise ProtocolError("bad_ref", "trường 'ref' phải là 'schedule' hoặc 'command'")
    stage = _require(doc, "stage")
    if stage not in ACK_STAGES:
        raise ProtocolError("bad_stage", f"giai đoạn xác nhận không hợp lệ: {stage!r}")
    at = parse_time(_require(doc, "at"), "at")
    item_id = _str(doc, "item_id", nullable=True, pattern=ITEM_ID_RE)
    reason = _str(doc, "reason", nullable=True, max_len=1000)
    if stage in ("rejected", "failed") and reason is None:
        raise ProtocolError("missing_field", f"xác nhận {stage} phải có 'reason'")
    if ref_kind == "schedule" and stage in _NEEDS_ITEM and item_id is None:
        raise ProtocolError("missing_field", f"xác nhận {stage} của lịch phát phải có 'item_id'")
    started_at = _time(doc, "started_at") if stage in ("playing", "played", "preempted") else None
    ended_at = _time(doc, "ended_at") if stage in ("played", "preempted") else None
    return AckValue(device_id, ref_kind, ref_id, stage, at, item_id, reason, started_at, ended_at)
