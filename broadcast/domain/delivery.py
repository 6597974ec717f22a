"""Delivery of signed documents to devices: publications (the outbox) and what devices report back."""
from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Sequence
from datetime import datetime, timedelta

from broadcast.domain.devices import STAGE_PROGRESS, AckStage


@dataclass(frozen=True)
class Publication:
    device_id: str
    version: int
    fingerprint: str
    document: dict
    created_at: datetime
    published_at: datetime | None = None
    attempts: int = 0
    next_attempt_at: datetime | None = None
    received_at: datetime | None = None


@dataclass(frozen=True)
class DuePublication:
    """A version the flush must (re)send, with its wire bytes as stored: no decode and re-encode per device."""

    device_id: str
    version: int
    attempts: int
    payload: bytes


@dataclass(frozen=True)
class StatusReport:
    device_id: str
    online: bool
    received_at: datetime
    firmware: str | None = None
    volume: int | None = None
    playing_item: str | None = None
    playing_since: datetime | None = None
    clock_offset_ms: int | None = None
    storage_free_bytes: int | None = None
    schedule_version: int | None = None


@dataclass(frozen=True)
class AckReport:
    device_id: str
    ref_kind: str  # schedule | command
    ref_id: str
    stage: str
    at: datetime
    received_at: datetime
    item_id: str = ""
    reason: str | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None

    @property
    def key(self) -> tuple[str, str, str, str, str]:
        return (self.device_id, self.ref_kind, self.ref_id, self.stage, self.item_id)


def retry_delay(base_s: int, attempts: int, cap_s: int = 3600) -> timedelta:
    """Backoff for republishing an unacknowledged document: base, 2x, 4x ... capped."""
    return timedelta(seconds=min(base_s * 2 ** max(attempts - 1, 0), cap_s))


@dataclass(frozen=True)
class CommandPublication:
    cmd_id: str
    target_kind: str  # zone | device
    target_id: str
    document: dict
    published_at: datetime | None = None


def advanced_deliveries(acks: Sequence[AckReport], stages: dict[tuple[str, str], str | None]
                        ) -> dict[tuple[str, str], AckReport]:
    """Which command deliveries an ack batch moves forward, keyed (cmd_id, device_id): the furthest stage heard
    wins, never backwards, a later ack of the same rank replaces an earlier one. `stages` holds each delivery's
    stored stage (None: nothing heard yet) and is updated in place, so the batch is read in arrival order."""
    changed: dict[tuple[str, str], AckReport] = {}
    for ack in acks:
        key = (ack.ref_id, ack.device_id)
        current = STAGE_PROGRESS.get(AckStage(stages[key]), 0) if stages[key] else 0
        if STAGE_PROGRESS[AckStage(ack.stage)] >= current:
            stages[key] = ack.stage
            changed[key] = ack
    return changed
