"""The JSON mapping between the central system and our names (docs/bridge.md has the table and examples)."""
from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal, overload

from broadcast.domain.audio import LANGUAGES, TOPICS
from broadcast.services.bridge.ports import Bulletin, Malformed

# The central names of the three classes (Circular 39/2020), in English or as Vietnamese slugs.
PRIORITIES = {"normal": "normal", "thong_thuong": "normal", "priority": "priority", "uu_tien": "priority",
              "emergency": "emergency", "khan_cap": "emergency"}
AREA_CODE_RE = re.compile(r"^(\d{2}|\d{5})$")
MAX_TEXT = 20_000
MAX_AREAS = 5000


class _Bad(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


@overload
def _str(data: Mapping[str, Any], key: str, *, required: Literal[True], limit: int = 1000) -> str: ...
@overload
def _str(data: Mapping[str, Any], key: str, *, required: bool = False, limit: int = 1000) -> str | None: ...
def _str(data: Mapping[str, Any], key: str, *, required: bool = False, limit: int = 1000) -> str | None:
    value = data.get(key)
    if value is None or value == "":
        if required:
            raise _Bad("missing_field", f"Bản tin thiếu trường bắt buộc “{key}”.")
        return None
    if not isinstance(value, str):
        raise _Bad("invalid_field", f"Trường “{key}” phải là chuỗi ký tự.")
    value = value.strip()
    if len(value) > limit:
        raise _Bad("invalid_field", f"Trường “{key}” dài quá {limit} ký tự.")
    return value


def _time(data: Mapping[str, Any], key: str) -> datetime | None:
    text = _str(data, key, limit=64)
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise _Bad("invalid_time", f"Trường “{key}” phải là thời điểm có múi giờ, ví dụ 2026-11-29T06:00:00+07:00.")
    return value


def parse_bulletin(data: Any) -> Bulletin | Malformed:
    """One bulletin object as the central system sends it; shape problems become Malformed (never raise)."""
    if not isinstance(data, Mapping):
        return Malformed(None, "invalid_bulletin", "Bản tin phải là một đối tượng JSON.")
    raw_id = data.get("id")
    bulletin_id = raw_id.strip() if isinstance(raw_id, str) and 0 < len(raw_id.strip()) <= 128 else None
    try:
        if bulletin_id is None:
            raise _Bad("invalid_id", "Mã bản tin (“id”) phải là chuỗi 1–128 ký tự.")
        priority = PRIORITIES.get(str(data.get("priority", "")).strip().lower())
        if priority is None:
            raise _Bad("invalid_priority", "Mức độ ưu tiên phải là normal (thông thường), priority (ưu tiên) "
                                           "hoặc emergency (khẩn cấp).")
        areas = data.get("areas")
        if not isinstance(areas, list) or not areas or len(areas) > MAX_AREAS:
            raise _Bad("no_areas", "Bản tin phải có danh sách địa bàn nhận (“areas”) không rỗng.")
        for code in areas:
            if not isinstance(code, str) or not AREA_CODE_RE.match(code):
                raise _Bad("invalid_area_code", f"Mã địa bàn {code!r} không hợp lệ: cần mã tỉnh 2 chữ số hoặc "
                                                "mã xã 5 chữ số.")
        duration = data.get("duration_s")
        if duration is not None and (not isinstance(duration, (int, float)) or isinstance(duration, bool)
                                     or not 0 < duration <= 24 * 3600):
            raise _Bad("invalid_field", "Thời lượng (“duration_s”) phải là số giây dương.")
        audio_url = _str(data, "audio_url", limit=1000)
        if audio_url is not None and not re.match(r"^https?://", audio_url):
            raise _Bad("invalid_audio_url", "Địa chỉ tệp âm thanh phải là URL http(s).")
        topic = _str(data, "topic", limit=64) or "other"
        language = _str(data, "language", limit=16) or "vi"
        return Bulletin(
            id=bulletin_id, title=_str(data, "title", required=True, limit=500), priority=priority,
            target_areas=tuple(dict.fromkeys(areas)), text=_str(data, "content", limit=MAX_TEXT),
            audio_url=audio_url, duration_ms=round(duration * 1000) if duration is not None else None,
            topic=topic if topic in TOPICS else "other", language=language if language in LANGUAGES else "other",
            agency=_str(data, "issuer", limit=300) or "", valid_from=_time(data, "valid_from"),
            valid_until=_time(data, "valid_to"), issued_at=_time(data, "issued_at"), payload=dict(data))
    except _Bad as bad:
        return Malformed(bulletin_id, bad.code, bad.message, dict(data))


def parse_page(data: Any) -> tuple[list[Bulletin | Malformed], str | None]:
    """A page of the pull feed: {"items": [...], "next_cursor": "..."}; raises ValueError when it is not one."""
    if not isinstance(data, Mapping) or not isinstance(data.get("items"), list):
        raise ValueError("not a bulletin page")
    cursor = data.get("next_cursor")
    if cursor is not None and (not isinstance(cursor, str) or len(cursor) > 1000):
        raise ValueError("bad next_cursor")
    return [parse_bulletin(item) for item in data["items"]], cursor

