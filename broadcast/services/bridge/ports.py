"""What the bridge use cases need: bulletins as received, outbox messages, the central client and the store.

The central system's field-level interface is not public (guidance 2455/BTTTT-TTCS), so the wire format lives in
one adapter (broadcast/bridge) and the use cases only see these types. docs/bridge.md documents the mapping.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

CLASSES = ("normal", "priority", "emergency")  # Circular 39/2020: thông thường, ưu tiên, khẩn cấp


@dataclass(frozen=True)
class Bulletin:
    """A bulletin (bản tin) from the central source information system, already mapped to our names."""

    id: str
    title: str
    priority: str  # normal | priority | emergency
    target_areas: tuple[str, ...]
    text: str | None = None
    audio_url: str | None = None
    duration_ms: int | None = None
    topic: str = "other"
    language: str = "vi"
    agency: str = ""
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    issued_at: datetime | None = None
    payload: Mapping[str, Any] = field(default_factory=dict)  # as received, kept for audit


@dataclass(frozen=True)
class Malformed:
    """An item of a page that could not be mapped; refused with a receipt when it carries an id."""

    id: str | None
    code: str
    message: str
    payload: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SendResult:
    ok: bool
    permanent: bool = False  # the central side refused the message itself (4xx): retrying cannot help
    error: str = ""


class CentralUnavailable(Exception):
    """The central side did not answer usefully (network, 5xx, timeout, nonsense): try again later."""


class CentralClient(Protocol):
    """The replaceable adapter to the central system (or an LGSP gateway in front of it)."""

    def fetch_bulletins(self, cursor: str | None) -> tuple[Sequence[Bulletin | Malformed], str | None]: ...
    def send(self, kind: str, idempotency_key: str, payload: Mapping[str, Any]) -> SendResult: ...
    def send_receipt(self, bulletin_id: str, idempotency_key: str, payload: Mapping[str, Any]) -> SendResult: ...


@dataclass(frozen=True)
class BulletinRecord:
    """A bulletin as stored here, with what became of it."""

    id: str
    title: str
    priority: str
    target_areas: tuple[str, ...]
    status: str  # pooled | placed | broadcast | refused
    received_at: datetime
    text: str | None = None
    audio_url: str | None = None
    duration_ms: int | None = None
    topic: str = "other"
    agency: str = ""
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    issued_at: datetime | None = None
    reason: str | None = None
    asset_id: int | None = None
    programme_id: int | None = None
    emergency_id: int | None = None
    payload: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class OutboxMessage:
    id: int
    kind: str
    idempotency_key: str
    payload: Mapping[str, Any]
    created_at: datetime
    attempts: int
    next_attempt_at: datetime
    delivered_at: datetime | None = None
    last_error: str | None = None


@dataclass(frozen=True)
class Station:
    """A commune with devices (đài truyền thanh cấp xã) and its clusters (cụm loa)."""

    commune_code: str
    commune_name: str
    province_code: str | None
    clusters: tuple[dict, ...]


@dataclass(frozen=True)
class PlaybackRow:
    """One proof-of-play row of a central bulletin (scheduled, or an emergency started from one)."""

    id: int
    bulletin_id: str
    device_id: str
    commune_code: str
    outcome: str
    planned_start: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    recorded_at: datetime
    reason: str | None


class BridgeRepository(Protocol):
    def get_bulletin(self, bulletin_id: str, *, for_update: bool = False) -> BulletinRecord | None: ...
    def save_bulletin(self, record: BulletinRecord, *, replacing: str | None = None) -> None: ...  # Conflict if raced
    def list_bulletins(self, *, status: str | None, limit: int, offset: int) -> Sequence[BulletinRecord]: ...
    def enqueue(self, kind: str, idempotency_key: str, payload: Mapping[str, Any], *, at: datetime) -> bool: ...
    def pending(self, *, limit: int) -> Sequence[OutboxMessage]: ...
    def mark_delivered(self, message_id: int, *, at: datetime, error: str | None = None) -> None: ...
    def mark_failed(self, message_id: int, *, error: str, next_attempt_at: datetime) -> None: ...
    def outbox_summary(self) -> dict[str, Any]: ...
    def get_state(self, key: str) -> str | None: ...
    def set_state(self, key: str, value: str, *, at: datetime) -> None: ...
    def stations(self) -> Sequence[Station]: ...
    def playback_after(self, after_id: int, *, recorded_before: datetime, limit: int) -> Sequence[PlaybackRow]: ...
    def daily_rows(self, day: date) -> tuple[Sequence[dict], Sequence[dict]]: ...  # (airtime, commune)
