"""What people and systems are told about alerts: the e-mail in Vietnamese, the webhook's JSON and its signature,
and when a failed delivery is tried again."""
from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

from broadcast.domain.alert_events import AlertEvent
from broadcast.domain.alerts import CAUSE_LABELS, Cause, describe

KIND_WORDS = {"opened": "Cảnh báo mới", "acknowledged": "Đã có người xử lý", "resolved": "Đã hết"}
RETRY_STEPS_S = (30, 60, 120, 300, 600, 1800, 3600)  # then hourly, for as long as the receiver is down
SIGNATURE_HEADER = "X-LoaXa-Signature"
TIMESTAMP_HEADER = "X-LoaXa-Timestamp"
EVENT_HEADER = "X-LoaXa-Event"


@dataclass(frozen=True)
class Message:
    channel: str  # email | webhook
    recipient: str  # address, or webhook id
    event_id: str
    subject: str
    body: str


@dataclass(frozen=True)
class Webhook:
    id: int
    url: str
    secret: str
    area_code: str
    causes: tuple[str, ...]
    created_by: str
    created_at: datetime
    disabled: bool = False


@dataclass(frozen=True)
class PendingMessage:
    id: int
    channel: str
    recipient: str
    event_id: str
    subject: str
    body: str
    attempts: int
    created_at: datetime


def retry_delay(attempts: int) -> timedelta:
    """After the n-th failed attempt (1-based)."""
    return timedelta(seconds=RETRY_STEPS_S[min(attempts, len(RETRY_STEPS_S)) - 1])


def alert_subject(event: AlertEvent, device_name: str, commune_name: str) -> str:
    label = CAUSE_LABELS.get(Cause(event.cause), event.cause) if event.cause in set(Cause) else event.cause
    return f"[LoaXa] {KIND_WORDS[event.kind]}: {label} - {device_name} ({commune_name})"


def alert_email(event: AlertEvent, device_name: str, commune_name: str, tz: tzinfo, page_url: str) -> str:
    when = event.at.astimezone(tz).strftime("%H:%M ngày %d/%m/%Y")
    lines = [f"{KIND_WORDS[event.kind]} lúc {when}.", "",
             f"Thiết bị: {device_name} (mã {event.device_id})", f"Địa bàn: {commune_name}",
             f"Nội dung: {describe(event.cause, event.details)}"]
    if event.kind == "acknowledged":
        lines.append(f"Người xử lý: {event.by}" + (f". Ghi chú: {event.note}" if event.note else ""))
    lines += ["", f"Xem và xác nhận: {page_url}", "", "Thư này do hệ thống LoaXa gửi tự động."]
    return "\n".join(lines)


def alert_payload(event: AlertEvent, event_id: str, device_name: str) -> str:
    return json.dumps({
        "id": event_id, "type": f"alert.{event.kind}", "at": event.at.isoformat(),
        "alert": {"id": event.alert_id, "cause": event.cause, "device_id": event.device_id, "device_name": device_name,
                  "commune_code": event.commune_code, "details": dict(event.details),
                  "text": describe(event.cause, event.details), "acknowledged_by": event.by, "note": event.note},
    }, ensure_ascii=False, sort_keys=True)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 over "timestamp.body": a receiver checks both, so an old delivery cannot be replayed later."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def digest_email(commune_name: str, day: str, yesterday: str, open_alerts: Sequence[Mapping[str, Any]],
                 missed: int, failed: int, powered_off: int, page_url: str) -> tuple[str, str]:
    subject = f"[LoaXa] Tình trạng loa {commune_name} ngày {day}"
    off = f", {powered_off} lượt không phát do tắt nguồn" if powered_off else ""
    lines = [f"Tình trạng hệ thống loa truyền thanh {commune_name} ngày {day}.", "",
             f"Hôm qua ({yesterday}): {missed} lượt phát bị lỡ, {failed} lượt phát lỗi{off}.", ""]
    if open_alerts:
        lines.append(f"Cảnh báo chưa hết ({len(open_alerts)}):")
        lines += [f"- {a['device_name']} ({a['device_id']}): {a['text']}, từ {a['since']}" for a in open_alerts]
    else:
        lines.append("Không có cảnh báo nào chưa hết.")
    lines += ["", f"Xem chi tiết: {page_url}", "", "Thư này do hệ thống LoaXa gửi tự động mỗi sáng."]
    return subject, "\n".join(lines)


def when_text(moment: datetime, tz: tzinfo) -> str:
    return moment.astimezone(tz).strftime("%H:%M %d/%m")
