"""When to republish schedule versions for the broker's retained store after a lost connection.

A broker node that dies can take retained copies it had acknowledged with it. And while a cluster elects the new
leader of its retained-message stream (4-9 s in nats-server 2.9), a retained publish is delivered live and
acknowledged but not stored: nats-server only logs "unable to store retained message". So after each reconnect
the versions sent around the loss go out again at once, and once more when the cluster has settled; a pass
the broker did not take in full stays due for the next flush.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime

from broadcast.services.ports import DeliveryUnitOfWork, DevicePublisher

# Versions sent this long before the connection was lost may not have been stored by the broker.
AT_RISK_S = 60.0
# The second pass: after the retained stream's leader election (nats-server 2.9: 4-9 s; a restarted node's
# catch-up takes longer), and after the receipts of what was in flight at the loss.
SETTLE_S = 30.0


class RetainedRefreshes:
    """Pending passes as (due at, in time.monotonic(); versions published or received since). Thread-safe:
    reconnects are noted on the MQTT network thread, passes taken on the flush job's."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: list[tuple[float, datetime]] = []

    def after_reconnect(self, *, now: float, since: datetime) -> None:
        """One pass at the next flush, one after the cluster has settled."""
        self.retry(now=now, since=since)
        self.retry(now=now + SETTLE_S, since=since)

    def retry(self, *, now: float, since: datetime) -> None:
        with self._lock:
            self._pending.append((now, since))

    def take_due(self, now: float) -> datetime | None:
        """The earliest `since` of every pass due by `now` (one pass covers them all), or None."""
        with self._lock:
            due = [since for at, since in self._pending if at <= now]
            self._pending = [(at, since) for at, since in self._pending if at > now]
        return min(due, default=None)


def refresh_retained(uow_factory: Callable[[], DeliveryUnitOfWork], publisher: DevicePublisher, *,
                     since: datetime, timeout_s: float = 30.0,
                     fence: Callable[[DeliveryUnitOfWork], None] | None = None) -> tuple[int, int]:
    """One pass: publish again every enabled device's newest version published or received since `since`, for the
    broker's retained store (RetainedRefreshes says when). Devices answer a version they have with `received`
    again. Returns (accepted by the broker, found); nothing is marked (received versions were delivered, the
    others keep their retry time), so the caller runs it again while the broker has not accepted them all."""
    uow = uow_factory()
    with uow:
        if fence is not None:
            fence(uow)
        current = uow.delivery.published_since(since)
    accepted = publisher.publish_schedules([(p.device_id, p.payload) for p in current], timeout=timeout_s)
    return sum(accepted), len(current)
