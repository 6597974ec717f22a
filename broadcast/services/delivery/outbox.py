"""The outbox: versions written with the change that caused them are published after commit and retried until
the device acknowledges them. A crash between the two only means the same version is published again, which
devices answer idempotently."""
from __future__ import annotations

from collections.abc import Callable

from broadcast.domain.delivery import retry_delay
from broadcast.services.ports import Clock, DeliveryUnitOfWork, DevicePublisher


def republish_unreceived(uow_factory: Callable[[], DeliveryUnitOfWork], clock: Clock) -> int:
    """After the broker connection was lost and came back (maybe on another cluster node): every version not yet
    received by its device becomes due now instead of at its retry time; returns how many were moved."""
    uow = uow_factory()
    with uow:
        moved = uow.delivery.republish_unreceived(now=clock.now())
        uow.commit()
    return moved


def flush_outbox(uow_factory: Callable[[], DeliveryUnitOfWork], clock: Clock, publisher: DevicePublisher, *,
                 retry_base_s: int, batch_size: int = 5000, publish_timeout_s: float = 30.0,
                 fence: Callable[[DeliveryUnitOfWork], None] | None = None) -> int:
    """Publish what is due: new versions, and unacknowledged ones of online devices after a backoff.

    Returns how many documents the broker accepted. `fence` (services.leadership) raises inside the transaction
    that reads the batch and inside the one that marks it when this process no longer holds the leader lease:
    a former leader publishes nothing, and what it did publish stays due for the new one (same stored bytes).
    """
    accepted_total = 0
    while True:
        uow = uow_factory()
        with uow:
            if fence is not None:
                fence(uow)
            due = uow.delivery.due_publications(now=clock.now(), limit=batch_size)
        if not due:
            return accepted_total
        accepted = publisher.publish_schedules([(p.device_id, p.payload) for p in due], timeout=publish_timeout_s)
        now = clock.now()
        with uow:
            if fence is not None:
                fence(uow)
            uow.delivery.mark_published([(p.device_id, p.version, now + retry_delay(retry_base_s, p.attempts + 1))
                                         for p, ok in zip(due, accepted, strict=True) if ok], at=now)
            uow.commit()
        accepted_total += sum(accepted)
        if not all(accepted) or len(due) < batch_size:
            return accepted_total

