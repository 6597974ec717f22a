"""What devices report (status documents, acks) stored in one transaction per gateway batch: presence changes,
delivery stages, and proof of play through the on_acks hook.

Idempotent, and safe with several nodes (docs/deployment.md): the same ack stored twice, or by two nodes at once,
is one ack, one play-log row and one delivery stage; the same status twice is one presence change; a status older
than the stored one (two nodes finishing out of order) does not overwrite it."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from broadcast.domain.delivery import AckReport, StatusReport, repeated_receipts
from broadcast.domain.devices import AckStage
from broadcast.domain.health import HealthReading, fold_readings
from broadcast.protocol import AckValue, StatusValue
from broadcast.services.ports import DeliveryUnitOfWork
from broadcast.services.reports.ports import PresenceEvent


def status_report(value: StatusValue, received_at: datetime) -> StatusReport:
    if not value.online:
        return StatusReport(device_id=value.device_id, online=False, received_at=received_at)
    return StatusReport(
        device_id=value.device_id, online=True, received_at=received_at, firmware=value.firmware,
        volume=value.volume, playing_item=value.playing_item, playing_since=value.playing_since,
        clock_offset_ms=value.clock_offset_ms, storage_free_bytes=value.storage_free_bytes,
        schedule_version=value.schedule_version, health=value.health)


def ack_report(value: AckValue, received_at: datetime) -> AckReport:
    return AckReport(device_id=value.device_id, ref_kind=value.ref_kind, ref_id=value.ref_id,
                     stage=AckStage(value.stage).value, at=value.at, received_at=received_at,
                     item_id=value.item_id or "", reason=value.reason or None,
                     started_at=value.started_at, ended_at=value.ended_at)


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

    def __init__(self, uow_factory: Callable[[], U], on_acks: Callable[[U, Sequence[AckReport]], object] | None = None,
                 *, health_bucket: timedelta = timedelta(minutes=5)):
        self._uow_factory = uow_factory
        self._on_acks = on_acks  # e.g. the play log (proof of play) hooks in here
        self._health_bucket = health_bucket

    def handle(self, batch: Iterable[Any]) -> None:
        statuses, acks = [], []
        for message in batch:
            if isinstance(message.value, StatusValue):
                statuses.append(status_report(message.value, message.received_at))
            elif isinstance(message.value, AckValue):
                acks.append(ack_report(message.value, message.received_at))
            else:  # a programming error, not device input: the gateway hands on parsed values only
                raise TypeError(f"not a parsed status or ack: {type(message.value).__name__}")
        repeated: dict[str, tuple[int, datetime]] = {}
        uow = self._uow_factory()
        with uow:
            # One lookup serves the whole batch: which devices are known, and their stored online flag. Devices
            # with a status are locked until commit: another node handling the same status waits, then sees it.
            status_ids = {s.device_id for s in statuses}
            flags = uow.reports.online_flags(status_ids, lock=True) if status_ids else {}
            ack_only = {a.device_id for a in acks} - status_ids
            if ack_only:
                flags.update(uow.reports.online_flags(ack_only))
            if statuses:
                # Presence changes before the flags are overwritten: uptime reports are computed from them.
                uow.reports.add_presence(presence_changes(flags, statuses))
                uow.delivery.record_statuses(statuses, known=flags.keys())
                readings = [HealthReading(s.device_id, s.received_at, s.health) for s in statuses
                            if s.health is not None and s.device_id in flags]
                if readings:
                    uow.health.record(readings, fold_readings(readings, self._health_bucket))
            if acks:
                new = uow.delivery.record_acks(acks, known=flags.keys())
                repeated = repeated_receipts(acks, new)
                if new and self._on_acks:
                    self._on_acks(uow, new)
            uow.commit()
        if repeated:
            self._resend_newer(repeated)

    def _resend_newer(self, repeated: Mapping[str, tuple[int, datetime]]) -> None:
        """Devices that read an older schedule again get the newer one they lack at the next flush. A transaction
        of its own, after the batch's: within it these rows would be locked after the receipts' and out of the
        flush's (device, version) order. Lost if the process dies in between: the retry timer still resends."""
        uow = self._uow_factory()
        with uow:
            uow.delivery.resend_newer(repeated)
            uow.commit()
