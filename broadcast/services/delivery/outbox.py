"""The outbox: versions written with the change that caused them are published after commit and retried until
the device acknowledges them. A crash between the two only means the same version is published again, which
devices answer idempotently."""
from __future__ import annotations

from collections.abc import Callable

from broadcast.domain.delivery import retry_delay
from broadcast.services.ports import Clock, DeliveryUnitOfWork, DevicePublisher


def flush_outbox(uow_factory: Callable[[], DeliveryUnitOfWork], clock: Clock, publisher: DevicePublisher, *,
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
                                         for p, ok in zip(due, accepted, strict=True) if ok], at=now)
            uow.commit()
        accepted_total += sum(accepted)
        if not all(accepted) or len(due) < batch_size:
            return accepted_total

