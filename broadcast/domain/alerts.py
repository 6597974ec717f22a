"""Alerts on loudspeakers: the causes, the thresholds that decide them (set per area, inherited province ->
commune like quiet-hour policies), and how an alert moves between states.

An alert is one per (device, cause) while unresolved. A condition must hold for `settle_s` before the alert
opens, and be gone for `settle_s` before it resolves by itself: a flapping link or a sensor on the edge of a
threshold does not open and close an alert (and send mail) every minute. People acknowledge an open alert (who,
when, a note); acknowledged alerts still resolve by themselves when the condition clears.
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from broadcast.domain.errors import InvalidInput


class Cause(StrEnum):
    OFFLINE = "offline"
    SCHEDULE_NOT_ACKED = "schedule_not_acked"
    PLAYS_MISSED = "plays_missed"
    AMPLIFIER_FAULT = "amplifier_fault"
    SPEAKER_LINE = "speaker_line"
    TEMPERATURE_HIGH = "temperature_high"
    SUPPLY_LOW = "supply_low"
    CLOCK_OFF = "clock_off"
    STORAGE_LOW = "storage_low"
    RELAY_CHANNEL_DOWN = "relay_channel_down"


CAUSE_LABELS = {
    Cause.OFFLINE: "Mất kết nối",
    Cause.SCHEDULE_NOT_ACKED: "Chưa nhận lịch phát mới",
    Cause.PLAYS_MISSED: "Nhiều lượt phát bị lỡ hoặc lỗi hôm nay",
    Cause.AMPLIFIER_FAULT: "Hỏng bộ khuếch đại",
    Cause.SPEAKER_LINE: "Đứt hoặc chập dây loa",
    Cause.TEMPERATURE_HIGH: "Nhiệt độ cao",
    Cause.SUPPLY_LOW: "Điện áp nguồn thấp",
    Cause.CLOCK_OFF: "Đồng hồ lệch",
    Cause.STORAGE_LOW: "Sắp hết bộ nhớ",
    Cause.RELAY_CHANNEL_DOWN: "Kênh tiếp sóng không hoạt động",
}


RELAY_FAILURES = ("stream_unreachable", "stream_lost")  # a device's `failed` reasons when a relay has no audio


class AlertState(StrEnum):
    PENDING = "pending"  # the condition holds but not yet for settle_s: nobody sees or is told
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


VISIBLE_STATES = (AlertState.OPEN, AlertState.ACKNOWLEDGED, AlertState.RESOLVED)


@dataclass(frozen=True)
class Thresholds:
    """Where each rule fires. Names are those of the API and of LOAXA_ALERT_THRESHOLDS (the country's values)."""

    offline_minutes: int = 15
    schedule_ack_minutes: int = 30
    missed_plays: int = 3  # missed or failed plays of a device today above this (power_off misses excluded)
    temperature_c: int = 70
    supply_mv: int = 10_800
    clock_offset_ms: int = 2_000
    storage_free_bytes: int = 100 * 1024 * 1024
    settle_s: int = 20  # with a pass every 10 s, a fault is an open alert within 40 s and mailed within 50 s

    def with_overrides(self, overrides: Mapping[str, Any] | None) -> Thresholds:
        return replace(self, **(overrides or {}))


THRESHOLD_LIMITS = {  # name -> (lowest, highest) an admin may set
    "offline_minutes": (1, 7 * 24 * 60), "schedule_ack_minutes": (1, 7 * 24 * 60), "missed_plays": (0, 1000),
    "temperature_c": (30, 120), "supply_mv": (0, 60_000), "clock_offset_ms": (100, 600_000),
    "storage_free_bytes": (0, 1 << 40), "settle_s": (0, 3600),
}


def check_overrides(overrides: Mapping[str, Any]) -> dict[str, int]:
    """An area's overrides, refused whole on any unknown name or out-of-range value."""
    known = {f.name for f in fields(Thresholds)}
    checked = {}
    for name, value in overrides.items():
        if name not in known:
            raise InvalidInput(f"Không có ngưỡng cảnh báo tên {name!r}.", code="alert.unknown_threshold")
        if value is None:
            continue
        low, high = THRESHOLD_LIMITS[name]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise InvalidInput(f"Ngưỡng {name} phải là số nguyên từ {low} đến {high}.",
                               code="alert.invalid_threshold")
        checked[name] = value
    return checked


def parse_thresholds_setting(text: str, base: Thresholds = Thresholds()) -> Thresholds:
    """LOAXA_ALERT_THRESHOLDS: the country's thresholds as a JSON object over the built-in defaults."""
    if not text.strip():
        return base
    try:
        overrides = json.loads(text)
    except ValueError:
        overrides = None
    if not isinstance(overrides, dict):
        raise ValueError('phải là một đối tượng JSON, ví dụ {"offline_minutes": 30} (must be a JSON object)')
    try:
        return base.with_overrides(check_overrides(overrides))
    except InvalidInput as exc:
        raise ValueError(str(exc)) from None


def effective_thresholds(chain: Sequence[Mapping[str, Any] | None], base: Thresholds = Thresholds()) -> Thresholds:
    """Broadest first (province, then commune): each level replaces only what it sets."""
    result = base
    for overrides in chain:
        result = result.with_overrides(overrides)
    return result


@dataclass(frozen=True)
class Finding:
    """A rule that holds for a device now, with the measured value and the threshold for the message."""

    device_id: str
    commune_code: str
    cause: Cause
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class Alert:
    id: int
    device_id: str
    commune_code: str
    cause: Cause
    state: AlertState
    first_seen_at: datetime  # the condition was first found
    last_seen_at: datetime
    details: Mapping[str, Any]
    opened_at: datetime | None = None
    clear_since: datetime | None = None  # the condition has been gone since
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    note: str | None = None
    resolved_at: datetime | None = None


@dataclass(frozen=True)
class AlertQuery:
    within_areas: frozenset[str] | None = None  # None: everywhere
    state: str | None = None
    cause: str | None = None
    device_id: str | None = None
    limit: int = 100
    offset: int = 0


@dataclass(frozen=True)
class Transition:
    """What one evaluation pass does to one alert."""

    # "pending" (new, not yet visible), "opened", "resolved", "dropped" (pending that cleared), "seen" (details or
    # clear_since changed), "touched" (still holds as it was: only last_seen_at moves, one statement for them all)
    kind: str
    alert: Alert


def step(alert: Alert | None, finding: Finding | None, now: datetime, settle: timedelta) -> Transition | None:
    """Move one (device, cause) along, given whether its condition holds now. None: nothing changes."""
    if alert is None:
        if finding is None:
            return None
        new = Alert(0, finding.device_id, finding.commune_code, finding.cause, AlertState.PENDING, now, now,
                    dict(finding.details))
        if settle <= timedelta(0):
            return Transition("opened", replace(new, state=AlertState.OPEN, opened_at=now))
        return Transition("pending", new)
    if finding is not None:
        changed = alert.clear_since is not None or dict(alert.details) != dict(finding.details)
        alert = replace(alert, last_seen_at=now, details=dict(finding.details), clear_since=None)
        if alert.state is AlertState.PENDING and now - alert.first_seen_at >= settle:
            return Transition("opened", replace(alert, state=AlertState.OPEN, opened_at=now))
        return Transition("seen" if changed else "touched", alert)
    if alert.state is AlertState.PENDING:
        return Transition("dropped", alert)
    clear_since = alert.clear_since or now
    if now - clear_since >= settle:
        return Transition("resolved", replace(alert, state=AlertState.RESOLVED, resolved_at=now,
                                              clear_since=clear_since))
    if alert.clear_since is None:
        return Transition("seen", replace(alert, clear_since=now))
    return None


@dataclass(frozen=True)
class DeviceFacts:
    """What the rules read of one device, gathered for the whole fleet in a few statements."""

    device_id: str
    commune_code: str
    province_code: str
    online: bool
    last_seen: datetime | None
    created_at: datetime
    clock_offset_ms: int | None = None
    storage_free_bytes: int | None = None
    amplifier: str | None = None
    speaker_line: str | None = None
    temperature_c: int | None = None
    supply_mv: int | None = None
    newest_published_at: datetime | None = None  # the newest schedule version's first publication
    newest_acknowledged: bool = True
    missed_today: int = 0  # missed or failed plays today, power_off misses left out
    relay_failed_today: int = 0  # relays (live streams) that found no audio when due today (spec 9.3 reasons)


def findings(device: DeviceFacts, t: Thresholds, now: datetime) -> list[Finding]:
    """Every rule that holds for the device now."""
    found: list[Finding] = []

    def hit(cause: Cause, **details: Any) -> None:
        found.append(Finding(device.device_id, device.commune_code, cause, details))

    if not device.online:
        since = device.last_seen or device.created_at
        if now - since >= timedelta(minutes=t.offline_minutes):
            hit(Cause.OFFLINE, since=since.isoformat(), threshold_minutes=t.offline_minutes)
    if (not device.newest_acknowledged and device.newest_published_at is not None
            and now - device.newest_published_at >= timedelta(minutes=t.schedule_ack_minutes)):
        hit(Cause.SCHEDULE_NOT_ACKED, published_at=device.newest_published_at.isoformat(),
            threshold_minutes=t.schedule_ack_minutes)
    if device.missed_today > t.missed_plays:
        hit(Cause.PLAYS_MISSED, value=device.missed_today, threshold=t.missed_plays)
    if device.relay_failed_today > 0:
        hit(Cause.RELAY_CHANNEL_DOWN, value=device.relay_failed_today)
    if device.amplifier == "fault":
        hit(Cause.AMPLIFIER_FAULT)
    if device.speaker_line in ("open", "short"):
        hit(Cause.SPEAKER_LINE, value=device.speaker_line)
    if device.temperature_c is not None and device.temperature_c > t.temperature_c:
        hit(Cause.TEMPERATURE_HIGH, value=device.temperature_c, threshold=t.temperature_c)
    if device.supply_mv is not None and device.supply_mv < t.supply_mv:
        hit(Cause.SUPPLY_LOW, value=device.supply_mv, threshold=t.supply_mv)
    if device.clock_offset_ms is not None and abs(device.clock_offset_ms) > t.clock_offset_ms:
        hit(Cause.CLOCK_OFF, value=device.clock_offset_ms, threshold=t.clock_offset_ms)
    if device.storage_free_bytes is not None and device.storage_free_bytes < t.storage_free_bytes:
        hit(Cause.STORAGE_LOW, value=device.storage_free_bytes, threshold=t.storage_free_bytes)
    return found


def describe(cause: str, details: Mapping[str, Any]) -> str:
    """One Vietnamese sentence for an alert, for the page and the e-mail."""
    label = CAUSE_LABELS[Cause(cause)] if cause in set(Cause) else cause
    value: Any = details.get("value")
    threshold: Any = details.get("threshold")
    if cause == Cause.OFFLINE:
        return f"{label} quá {details.get('threshold_minutes')} phút"
    if cause == Cause.SCHEDULE_NOT_ACKED:
        return f"{label} sau {details.get('threshold_minutes')} phút"
    if cause == Cause.TEMPERATURE_HIGH:
        return f"{label}: {value} °C (ngưỡng {threshold} °C)"
    if cause == Cause.SUPPLY_LOW:
        return f"{label}: {value / 1000:.2f} V (ngưỡng {threshold / 1000:.2f} V)".replace(".", ",")
    if cause == Cause.SPEAKER_LINE:
        return f"{label} ({'đứt dây' if value == 'open' else 'chập dây'})"
    if cause == Cause.PLAYS_MISSED:
        return f"{label}: {value} lượt"
    if cause == Cause.RELAY_CHANNEL_DOWN:
        return f"{label} khi đến giờ tiếp sóng ({value} lần hôm nay)"
    if cause == Cause.CLOCK_OFF:
        return f"{label} {value} ms"
    if cause == Cause.STORAGE_LOW:
        return f"{label}: còn {value // (1024 * 1024)} MB"
    return label
