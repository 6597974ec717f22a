"""What devices report (status documents, acks) stored in one transaction per gateway batch: presence changes,
delivery stages, and proof of play through the on_acks hook."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar

from broadcast import protocol
from broadcast.domain.delivery import AckReport, StatusReport
from broadcast.domain.devices import AckStage
from broadcast.services.ports import DeliveryUnitOfWork
from broadcast.services.reports.ports import PresenceEvent


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


U = TypeVar("U", bound=DeliveryUnitOfWork)


class DeliveryInbox(Generic[U]):
    """Takes batches of validated device messages from the gateway and stores them in one transaction.

    `on_acks` receives the unit of work the factory made, so a hook may use more of it than delivery does."""

    def __init__(self, uow_factory: Callable[[], U], on_acks: Callable[[U, Sequence[AckReport]], object] | None = None):
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
