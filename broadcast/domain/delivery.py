"""Delivery of signed documents to devices: publications (the outbox) and what devices report back."""
from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from broadcast.domain.devices import STAGE_PROGRESS, AckStage
from broadcast.protocol.status import HealthValue


@dataclass(frozen=True)
class Publication:
    device_id: str
    version: int
    fingerprint: str
    document: dict[str, Any]
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
    health: HealthValue | None = None  # spec section 9.1, from devices with capability `health`


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


# A document counts as delivered from the first ack at `received` or later that is not a refusal.
RECEIVED_OR_LATER = frozenset(s.value for s in AckStage
                              if STAGE_PROGRESS[s] >= 1 and s not in (AckStage.REJECTED, AckStage.EXPIRED))


def admissible_acks(acks: Sequence[AckReport], known: Collection[str],
                    deliveries: Collection[tuple[str, str]]) -> dict[tuple[str, str, str, str, str], AckReport]:
    """The acks of a batch worth storing, one per key (a repeat replaces the earlier copy): from registered devices
    (`known`) only, and a command's only from a device it was sent to (`deliveries`: (cmd_id, device_id) pairs).
    Every device may read every zone topic; an ack from anyone else would be forged proof of play."""
    unique = {a.key: a for a in acks}
    return {key: a for key, a in unique.items()
            if a.device_id in known and (a.ref_kind != "command" or (a.ref_id, a.device_id) in deliveries)}


def confirms_version(ack: AckReport) -> bool:
    """Whether the ack stamps its schedule version as received (the first such ack wins)."""
    return ack.ref_kind == "schedule" and ack.stage in RECEIVED_OR_LATER


def repeated_receipts(acks: Sequence[AckReport], new: Collection[AckReport]) -> dict[str, tuple[int, datetime]]:
    """Devices that answered `received` again for a schedule version whose receipt was already stored: per device,
    the lowest such version and when it was heard.

    A device answers a document no newer than its own with `received` again (spec section 3), so a repeat means
    it has just read an older document than the newest one sent to it: a stale retained copy, e.g. from a
    surviving broker node that had not yet caught up with the dead node's newest retained message. A newer
    version it has not received was then lost on its way, and should go out again now, not at its retry time."""
    receipts = [a for a in acks if a.ref_kind == "schedule" and a.stage == AckStage.RECEIVED.value]
    if not receipts:  # an emergency's batches: command acks only
        return {}
    fresh = {a.key for a in new}
    repeated: dict[str, tuple[int, datetime]] = {}
    for ack in receipts:
        if ack.key in fresh:
            continue
        version = int(ack.ref_id)  # a schedule's ref is its version in decimal (protocol.parse_ack)
        if ack.device_id not in repeated or version < repeated[ack.device_id][0]:
            repeated[ack.device_id] = (version, ack.received_at)
    return repeated


def retry_delay(base_s: int, attempts: int, cap_s: int = 3600) -> timedelta:
    """Backoff for republishing an unacknowledged document: base, 2x, 4x ... capped."""
    return timedelta(seconds=min(base_s * 2 ** max(attempts - 1, 0), cap_s))


@dataclass(frozen=True)
class CommandPublication:
    cmd_id: str
    target_kind: str  # zone | device
    target_id: str
    document: dict[str, Any]
    published_at: datetime | None = None


def advanced_deliveries(acks: Sequence[AckReport], stages: dict[tuple[str, str], str | None]
                        ) -> dict[tuple[str, str], AckReport]:
    """Which command deliveries an ack batch moves forward, keyed (cmd_id, device_id): the furthest stage heard
    wins, never backwards, a later ack of the same rank replaces an earlier one. `stages` holds each delivery's
    stored stage (None: nothing heard yet) and is updated in place, so the batch is read in arrival order."""
    changed: dict[tuple[str, str], AckReport] = {}
    for ack in acks:
        key = (ack.ref_id, ack.device_id)
        stored = stages[key]
        current = STAGE_PROGRESS.get(AckStage(stored), 0) if stored else 0
        if STAGE_PROGRESS[AckStage(ack.stage)] >= current:
            stages[key] = ack.stage
            changed[key] = ack
    return changed


@dataclass(frozen=True)
class CommandInfo:
    cmd_id: str
    action: str
    priority: str | None
    issued_at: datetime
    expires_at: datetime
    created_by: str
    emergency_id: int | None
