"""The schedule document (spec section 3): build, parse, verify."""
from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import datetime
from typing import Literal, NotRequired, TypedDict

from broadcast.protocol.signing import PublicKeyLike, verify_or_raise
from broadcast.protocol.wire import (
    ITEM_ID_RE,
    ZONE_ID_RE,
    Priority,
    ProtocolError,
    _device,
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


class Media(TypedDict):
    sha256: str
    url: str
    bytes: int
    duration_ms: int


class ScheduleItem(TypedDict):
    item_id: str
    start: str
    end: str
    priority: Priority
    volume: int
    title: NotRequired[str]
    media: NotRequired[list[Media]]
    stream_url: NotRequired[str]
    # The server's own fields (devices ignore unknown ones): what the item plays, for the play log.
    schedule_id: NotRequired[str]
    programme_id: NotRequired[str]


class Schedule(TypedDict):
    type: Literal["schedule"]
    device_id: str
    version: int
    issued_at: str
    horizon_end: str
    zones: list[str]
    status_interval_s: int
    items: list[ScheduleItem]
    sig: NotRequired[str]


def media_url(public_url: str, sha256: str) -> str:
    """Where a device downloads a rendition (spec section 7): content-addressed, so a URL never changes meaning."""
    return f"{public_url.rstrip('/')}/media/{sha256}.mp3"


def build_media(sha256: str, url: str, size: int, duration_ms: int) -> Media:
    return {"sha256": sha256, "url": url, "bytes": size, "duration_ms": duration_ms}


def build_item(
    item_id: str,
    start: str | datetime,
    end: str | datetime,
    *,
    priority: Priority = "normal",
    volume: int = 80,
    media: Sequence[Media] | None = None,
    stream_url: str | None = None,
    title: str | None = None,
) -> ScheduleItem:
    item: ScheduleItem = {
        "item_id": item_id, "start": _time_str(start), "end": _time_str(end),
        "priority": priority, "volume": volume,
    }
    if title is not None:
        item["title"] = title
    if media is not None:
        item["media"] = list(media)
    if stream_url is not None:
        item["stream_url"] = stream_url
    return item


def build_schedule(
    device_id: str,
    version: int,
    *,
    issued_at: str | datetime,
    horizon_end: str | datetime,
    zones: Sequence[str] = (),
    items: Sequence[ScheduleItem] = (),
    status_interval_s: int = 60,
) -> Schedule:
    return {
        "type": "schedule", "device_id": device_id, "version": version,
        "issued_at": _time_str(issued_at), "horizon_end": _time_str(horizon_end),
        "zones": list(zones), "status_interval_s": status_interval_s, "items": list(items),
    }


def schedule_ref(version: int) -> dict[str, int]:
    return {"schedule": version}


def parse_schedule(payload: bytes, expected_device_id: str | None = None) -> Schedule:
    """Validate a schedule's shape (the signature is checked separately)."""
    doc = decode_object(payload)
    _type(doc, "schedule")
    _device(doc, expected_device_id)
    _int(doc, "version", lo=0)
    _time(doc, "issued_at")
    _time(doc, "horizon_end")
    zones = _require(doc, "zones")
    if not isinstance(zones, list) or not all(isinstance(z, str) and ZONE_ID_RE.match(z) for z in zones):
        raise ProtocolError("bad_zone_id", "trường 'zones' phải là danh sách mã vùng hợp lệ")
    _int(doc, "status_interval_s", lo=1, hi=86400)
    items = _require(doc, "items")
    if not isinstance(items, list):
        raise ProtocolError("bad_field", "trường 'items' phải là danh sách")
    spans: list[tuple[datetime, datetime]] = []
    seen: set[str] = set()
    for item in items:
        if not isinstance(item, dict):
            raise ProtocolError("bad_field", "mỗi mục trong 'items' phải là một đối tượng")
        item_id = _str(item, "item_id", pattern=ITEM_ID_RE)
        if item_id in seen:
            raise ProtocolError("bad_field", f"mục {item_id!r} bị lặp")
        seen.add(item_id)  # type: ignore[arg-type]
        start, end = _time(item, "start"), _time(item, "end")
        assert start is not None and end is not None
        if end <= start:
            raise ProtocolError("bad_field", f"mục {item_id!r} kết thúc không sau lúc bắt đầu")
        _priority(item)
        _int(item, "volume", lo=0, hi=100)
        _str(item, "title", optional=True, max_len=1000)
        _media_or_stream(item, f"mục {item_id!r}")
        spans.append((start, end))
    spans.sort()
    for (_, prev_end), (next_start, _) in itertools.pairwise(spans):
        if next_start < prev_end:
            raise ProtocolError("overlap", "các mục của lịch phát bị chồng lên nhau")
    _str(doc, "sig", optional=True)
    return doc  # type: ignore[return-value]


def parse_signed_schedule(payload: bytes, public_key: PublicKeyLike, expected_device_id: str) -> Schedule:
    """What a device does with its schedule topic: shape, device id, signature."""
    doc = parse_schedule(payload, expected_device_id)
    verify_or_raise(doc, public_key)
    return doc
