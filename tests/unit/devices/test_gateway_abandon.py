"""Publishes in flight on a connection that dies are settled at once as not confirmed (a killed cluster node never
answers), and their late PUBACKs after paho's resend are not taken for a new publish's."""
from __future__ import annotations

import threading

from broadcast.devices.gateway import AckTracker, PublishResult


def test_abandon_settles_waiting_publishes_as_not_confirmed_at_once():
    tracker = AckTracker()
    handles = [PublishResult(mid, "t", True, tracker.register(mid)) for mid in (1, 2, 3)]
    tracker.acked(2)
    assert tracker.abandon() == 2
    assert [h.wait(0) for h in handles] == [False, True, False]
    assert [h.published for h in handles] == [False, True, False]
    assert tracker.pending() == 0


def test_late_puback_of_an_abandoned_publish_is_dropped_not_parked():
    tracker = AckTracker()
    tracker.register(7)
    tracker.abandon()
    tracker.acked(7)  # paho resent it after reconnecting; the broker answers
    later = PublishResult(7, "t", True, tracker.register(7))  # mid 7 reused much later
    assert not later.wait(0)
    tracker.acked(7)
    assert later.wait(0)


def test_a_plain_event_still_means_confirmed():
    done = threading.Event()
    done.set()
    assert PublishResult(1, "t", True, done).wait(0)
