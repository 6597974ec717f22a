"""Protocol v1 on the wire: constants, the error type, RFC 3339 times, canonical JSON, the strict decoder and the
field checks every message parser shares."""
from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

DEFAULT_PREFIX = "loaxa/v1"


MAX_PAYLOAD_BYTES = 64 * 1024


DEVICE_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{2,63}\Z")


ZONE_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}\Z")


# RFC 3339 with an explicit offset and whole seconds only.
TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})\Z")


SHA256_RE = re.compile(r"^[0-9a-f]{64}\Z")


CMD_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}\Z")


ITEM_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}\Z")


PRIORITIES: tuple[str, ...] = ("normal", "priority", "emergency")


ACTIONS: tuple[str, ...] = ("play_now", "stop", "set_volume", "resync", "set_power", "reboot")  # 9.2: the last two
POWER_STATES: tuple[str, ...] = ("on", "off")


ACK_STAGES: tuple[str, ...] = (
    "received", "rejected", "ready", "failed", "playing",
    "played", "preempted", "missed", "expired",
)


TOPIC_KINDS: tuple[str, ...] = ("schedule", "command", "status", "ack")


VIETNAM_TZ = timezone(timedelta(hours=7))


Priority = Literal["normal", "priority", "emergency"]


Action = Literal["play_now", "stop", "set_volume", "resync", "set_power", "reboot"]
Power = Literal["on", "off"]


AckStage = Literal[
    "received", "rejected", "ready", "failed", "playing",
    "played", "preempted", "missed", "expired",
]


TopicKind = Literal["schedule", "command", "status", "ack"]


class ProtocolError(ValueError):
    """A document or topic that breaks protocol v1.

    `code` is a stable machine token (it goes into `rejected` acks as the
    reason); `detail` is a Vietnamese sentence for people reading logs/reports.
    """

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


def format_time(dt: datetime) -> str:
    """RFC 3339, second precision, with the datetime's own offset."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("format_time needs an aware datetime")
    return dt.replace(microsecond=0).isoformat()


def now_rfc3339(tz: timezone = VIETNAM_TZ) -> str:
    return format_time(datetime.now(tz))


def epoch_to_rfc3339(epoch_s: float, tz: timezone = VIETNAM_TZ) -> str:
    return format_time(datetime.fromtimestamp(int(epoch_s // 1), tz))


def parse_time(value: Any, field: str = "time") -> datetime:
    """Strict RFC 3339 (offset required, whole seconds) -> aware datetime."""
    if not isinstance(value, str) or not TIME_RE.match(value):
        raise ProtocolError("bad_time", f"trường {field!r} phải là thời điểm RFC 3339 có múi giờ, chính xác đến giây")
    parsed = _from_rfc3339(value)
    if parsed is None:
        raise ProtocolError("bad_time", f"trường {field!r} không phải ngày giờ có thật: {value!r}")
    return parsed


@functools.lru_cache(maxsize=4096)
def _from_rfc3339(value: str) -> datetime | None:
    """Cached (keys are short: TIME_RE matched): a fleet's acks carry the same few seconds, and timelines the same
    item times, thousands of times; datetimes are immutable, so sharing them is safe. None: no such date."""
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


# What json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False) does, without building an encoder
# per call (a quarter of a status document's encoding time; a fleet encodes several per device per fan-out).
# JSONEncoder.encode keeps no state between calls, so one instance serves every thread.
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_bytes(doc: Mapping[str, Any]) -> bytes:
    """Spec §2: sorted keys, `,`/`:` separators, raw UTF-8, without `sig`."""
    body = {k: v for k, v in doc.items() if k != "sig"}
    return _ENCODER.encode(body).encode("utf-8")


def encode(doc: Mapping[str, Any]) -> bytes:
    """Wire bytes of a document (compact UTF-8 JSON, `sig` kept)."""
    return _ENCODER.encode(doc).encode("utf-8")


def _time_str(value: str | datetime) -> str:
    return format_time(value) if isinstance(value, datetime) else value


def priority_rank(priority: str) -> int:
    """normal < priority < emergency, for pre-emption decisions."""
    return PRIORITIES.index(priority)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)  # C speed; the server parses tens of thousands of these a second
    if len(out) != len(pairs):
        # Two values for one key would let the signed and the acted-on
        # documents differ between JSON parsers.
        seen: set[str] = set()
        for k, _ in pairs:
            if k in seen:
                raise ProtocolError("not_json", f"khóa {k!r} xuất hiện hai lần")
            seen.add(k)
    return out


def _reject_constant(name: str) -> Any:
    raise ProtocolError("not_json", f"JSON không được chứa {name}")


# One decoder for every document: json.loads with hooks builds a new JSONDecoder per call.
_DECODER = json.JSONDecoder(object_pairs_hook=_no_duplicates, parse_constant=_reject_constant)


def decode_object(payload: bytes | bytearray | memoryview) -> dict[str, Any]:
    """Bytes -> JSON object: size limit, UTF-8, JSON, object."""
    data = bytes(payload)
    if len(data) > MAX_PAYLOAD_BYTES:
        raise ProtocolError("too_large", f"tài liệu dài {len(data)} byte, vượt giới hạn {MAX_PAYLOAD_BYTES} byte")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError("not_utf8", "tài liệu không phải văn bản UTF-8") from None
    try:
        obj = _DECODER.decode(text)
    except ProtocolError:
        raise
    except (ValueError, RecursionError):
        raise ProtocolError("not_json", "tài liệu không phải JSON hợp lệ") from None
    if not isinstance(obj, dict):
        raise ProtocolError("not_object", "tài liệu phải là một đối tượng JSON")
    return obj


def _require(doc: Mapping[str, Any], field: str) -> Any:
    if field not in doc:
        raise ProtocolError("missing_field", f"thiếu trường {field!r}")
    return doc[field]


def _int(doc: Mapping[str, Any], field: str, *, lo: int | None = None, hi: int | None = None,
         optional: bool = False, nullable: bool = False) -> int | None:
    if field not in doc:
        if optional:
            return None
        raise ProtocolError("missing_field", f"thiếu trường {field!r}")
    value = doc[field]
    if value is None and nullable:
        return None
    # bool is an int subclass in Python; the spec wants real integers only.
    if type(value) is not int:
        raise ProtocolError("bad_field", f"trường {field!r} phải là số nguyên")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ProtocolError("bad_field", f"trường {field!r} nằm ngoài khoảng cho phép")
    return value


def _str(doc: Mapping[str, Any], field: str, *, optional: bool = False, nullable: bool = False,
         pattern: re.Pattern[str] | None = None, max_len: int = 2048) -> str | None:
    if field not in doc:
        if optional:
            return None
        raise ProtocolError("missing_field", f"thiếu trường {field!r}")
    value = doc[field]
    if value is None and nullable:
        return None
    if not isinstance(value, str) or not value or len(value) > max_len:
        raise ProtocolError("bad_field", f"trường {field!r} phải là chuỗi không rỗng")
    if pattern is not None and not pattern.match(value):
        raise ProtocolError("bad_field", f"trường {field!r} có định dạng không hợp lệ")
    return value


def _time(doc: Mapping[str, Any], field: str, *, optional: bool = False) -> datetime | None:
    if field not in doc and optional:
        return None
    return parse_time(_require(doc, field), field)


def _type(doc: Mapping[str, Any], expected: str) -> None:
    if doc.get("type") != expected:
        raise ProtocolError("wrong_type", f"tài liệu phải có type = {expected!r}")


def _device(doc: Mapping[str, Any], expected: str | None) -> str:
    value = _require(doc, "device_id")
    if not isinstance(value, str) or not DEVICE_ID_RE.match(value):
        raise ProtocolError("bad_device_id", "mã thiết bị trong tài liệu không hợp lệ")
    if expected is not None and value != expected:
        raise ProtocolError("device_mismatch", f"tài liệu của thiết bị {value!r} nhưng chủ đề là của {expected!r}")
    return value


def _priority(doc: Mapping[str, Any], field: str = "priority", optional: bool = False) -> None:
    if field not in doc and optional:
        return
    if _require(doc, field) not in PRIORITIES:
        raise ProtocolError("bad_field", f"trường {field!r} phải là normal, priority hoặc emergency")


def _url(doc: Mapping[str, Any], field: str, optional: bool = False) -> str | None:
    value = _str(doc, field, optional=optional)
    if value is not None and not value.startswith(("http://", "https://")):
        raise ProtocolError("bad_field", f"trường {field!r} phải là URL http(s)")
    return value


def _media_list(doc: Mapping[str, Any], field: str = "media") -> None:
    value = doc[field]
    if not isinstance(value, list) or not value:
        raise ProtocolError("bad_field", f"trường {field!r} phải là danh sách tệp không rỗng")
    for m in value:
        if not isinstance(m, dict):
            raise ProtocolError("bad_field", "mỗi tệp trong 'media' phải là một đối tượng")
        _str(m, "sha256", pattern=SHA256_RE)
        _url(m, "url")
        _int(m, "bytes", lo=0)
        _int(m, "duration_ms", lo=0)


def _media_or_stream(doc: Mapping[str, Any], what: str) -> None:
    has_media, has_stream = "media" in doc, "stream_url" in doc
    if has_media == has_stream:
        raise ProtocolError("bad_field", f"{what} phải có đúng một trong 'media' hoặc 'stream_url'")
    if has_media:
        _media_list(doc)
    else:
        _url(doc, "stream_url")
