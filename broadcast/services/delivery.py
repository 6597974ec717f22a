"""Getting signed schedules to devices and taking in what they report.

The outbox: a new schedule version is written to the database in the same transaction as the change that
caused it; publishing happens after commit and is retried until the device acknowledges it. A crash between
the two only means the same version is published again, which devices answer idempotently.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from broadcast import protocol
from broadcast.domain.delivery import AckReport, Publication, StatusReport, retry_delay
from broadcast.domain.devices import AckStage, Device
from broadcast.services.ports import Clock, DevicePublisher, Signer, UnitOfWork
from broadcast.services.reports.ports import PresenceEvent


def timeline_fingerprint(zones: Sequence[str], items: Sequence[Mapping[str, Any]], status_interval_s: int) -> str:
    """What the device would play: equal fingerprints mean no new version is needed."""
    canonical = json.dumps({"zones": list(zones), "items": list(items), "status_interval_s": status_interval_s},
                           sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _still_current(document: Mapping[str, Any], zones: Sequence[str], items: Sequence[Mapping[str, Any]],
                   status_interval_s: int, now: datetime, horizon_end: datetime, refresh: timedelta) -> bool:
    """The published document already says what is still to come, and its horizon reaches far enough.

    Items that have ended drop out of a fresh compilation; that alone is no reason for a new version.
    """
    def upcoming(entries):
        return [dict(i) for i in entries if protocol.parse_time(i["end"], "end") > now]

    return (list(document.get("zones", [])) == list(zones)
            and document.get("status_interval_s") == status_interval_s
            and upcoming(document.get("items", [])) == upcoming(items)
            and protocol.parse_time(document["horizon_end"], "horizon_end") >= horizon_end - refresh)


def stage_schedule(uow: UnitOfWork, clock: Clock, signer: Signer, device: Device, items: Sequence[Mapping[str, Any]],
                   *, horizon_end: datetime, status_interval_s: int = 60,
                   refresh: timedelta = timedelta(days=1)) -> Publication | None:
    """Write a new signed version into the outbox when the device's timeline changed; None when it did not.

    A new version also goes out when the published horizon falls more than `refresh` short (once a day).
    Runs inside the caller's unit of work (no commit here), so the change and its publication commit together.
    """
    zones = device.all_zones()
    now = clock.now()
    latest = uow.delivery.latest_publication(device.id)
    if latest is not None and _still_current(latest.document, zones, items, status_interval_s, now, horizon_end,
                                             refresh):
        return None
    version = latest.version + 1 if latest else 1
    document = signer.sign(protocol.build_schedule(
        device.id, version, issued_at=now, horizon_end=horizon_end, zones=zones, items=list(items),
        status_interval_s=status_interval_s))
    publication = Publication(device_id=device.id, version=version,
                              fingerprint=timeline_fingerprint(zones, items, status_interval_s), document=document,
                              created_at=now)
    uow.delivery.add_publication(publication)
    return publication


def flush_outbox(uow_factory: Callable[[], UnitOfWork], clock: Clock, publisher: DevicePublisher, *,
                 retry_base_s: int, batch_size: int = 5000, publish_timeout_s: float = 30.0) -> int:
    """Publish what is due: new versions, and unacknowledged ones of online devices after a backoff.

    Returns how many documents the broker accepted.
    """
    accepted_total = 0
    while True:
        uow = uow_factory()
        with uow:
            due = uow.delivery.due_publications(now=clock.now(), limit=batch_size)
        if not due:
            return accepted_total
        accepted = publisher.publish_schedules([(p.device_id, p.payload) for p in due], timeout=publish_timeout_s)
        now = clock.now()
        with uow:
            uow.delivery.mark_published([(p.device_id, p.version, now + retry_delay(retry_base_s, p.attempts + 1))
                                         for p, ok in zip(due, accepted) if ok], at=now)
            uow.commit()
        accepted_total += sum(accepted)
        if not all(accepted) or len(due) < batch_size:
            return accepted_total


def _time_or_none(doc: Mapping[str, Any], field: str) -> datetime | None:
    value = doc.get(field)
    return protocol.parse_time(value, field) if value else None


def status_report(device_id: str, doc: Mapping[str, Any], received_at: datetime) -> StatusReport:
    if not doc.get("online"):
        return StatusReport(device_id=device_id, online=False, received_at=received_at)
    playing = doc.get("playing") or {}
    return StatusReport(
        device_id=device_id, online=True, received_at=received_at, firmware=doc.get("firmware"),
        volume=doc.get("volume"), playing_item=playing.get("item_id") if playing else None,
        playing_since=_time_or_none(playing, "since") if playing else None,
        clock_offset_ms=doc.get("clock_offset_ms"), storage_free_bytes=doc.get("storage_free_bytes"),
        schedule_version=doc.get("schedule_version"))


def ack_report(device_id: str, doc: Mapping[str, Any], received_at: datetime) -> AckReport:
    ((ref_kind, ref_id),) = doc["ref"].items()
    return AckReport(device_id=device_id, ref_kind=ref_kind, ref_id=str(ref_id), stage=AckStage(doc["stage"]).value,
                     at=protocol.parse_time(doc["at"], "at"), received_at=received_at,
                     item_id=doc.get("item_id") or "", reason=(doc.get("reason") or None),
                     started_at=_time_or_none(doc, "started_at"), ended_at=_time_or_none(doc, "ended_at"))


def presence_changes(flags: Mapping[str, bool | None], statuses: Sequence[StatusReport]) -> list[PresenceEvent]:
    """Each flip of a known device's online flag, in arrival order; a device's first status ever counts as one.

    `flags` holds the stored flag per known device (None: never reported); unknown devices are skipped.
    """
    current = dict(flags)
    events = []
    for status in statuses:
        if status.device_id not in current:
            continue
        if current[status.device_id] is not status.online:
            events.append(PresenceEvent(status.device_id, status.online, status.received_at))
            current[status.device_id] = status.online
    return events


class DeviceInbox:
    """Takes batches of validated device messages from the gateway and stores them in one transaction."""

    def __init__(self, uow_factory: Callable[[], UnitOfWork], on_acks: Callable[[UnitOfWork, Sequence[AckReport]], None] | None = None):
        self._uow_factory = uow_factory
        self._on_acks = on_acks  # e.g. the play log (proof of play) hooks in here

    def handle(self, batch: Iterable[Any]) -> None:
        statuses, acks = [], []
        for message in batch:
            if message.kind == "status":
                statuses.append(status_report(message.device_id, message.doc, message.received_at))
            elif message.kind == "ack":
                acks.append(ack_report(message.device_id, message.doc, message.received_at))
        uow = self._uow_factory()
        with uow:
            # One lookup serves the whole batch: which devices are known, and their stored online flag.
            flags = uow.reports.online_flags({s.device_id for s in statuses} | {a.device_id for a in acks})
            if statuses:
                # Presence changes before the flags are overwritten: uptime reports are computed from them.
                uow.reports.add_presence(presence_changes(flags, statuses))
                uow.delivery.record_statuses(statuses, known=flags.keys())
            if acks:
                new = uow.delivery.record_acks(acks, known=flags.keys())
                if new and self._on_acks:
                    self._on_acks(uow, new)
            uow.commit()


def schedule_horizon_end(now: datetime, days: int) -> datetime:
    return now + timedelta(days=days)
