"""When the retained store gets its schedule versions again after a reconnect (services/delivery/retained.py)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from broadcast.services.delivery.retained import SETTLE_S, RetainedRefreshes

LOST = datetime(2026, 12, 1, 12, tzinfo=UTC)


def test_a_reconnect_brings_a_pass_now_and_one_after_the_cluster_settled():
    refreshes = RetainedRefreshes()
    refreshes.after_reconnect(now=100.0, since=LOST)
    assert refreshes.take_due(100.0) == LOST
    assert refreshes.take_due(100.0 + SETTLE_S - 0.1) is None
    assert refreshes.take_due(100.0 + SETTLE_S) == LOST
    assert refreshes.take_due(10_000.0) is None  # both taken


def test_one_pass_covers_every_due_one_from_the_earliest_time():
    refreshes = RetainedRefreshes()
    refreshes.after_reconnect(now=100.0, since=LOST)
    refreshes.after_reconnect(now=105.0, since=LOST - timedelta(minutes=5))
    assert refreshes.take_due(105.0) == LOST - timedelta(minutes=5)
    assert refreshes.take_due(100.0 + SETTLE_S) == LOST
    assert refreshes.take_due(105.0 + SETTLE_S) == LOST - timedelta(minutes=5)


def test_a_pass_the_broker_did_not_take_is_due_again_at_once():
    refreshes = RetainedRefreshes()
    refreshes.retry(now=200.0, since=LOST)
    assert refreshes.take_due(199.0) is None
    assert refreshes.take_due(200.0) == LOST
