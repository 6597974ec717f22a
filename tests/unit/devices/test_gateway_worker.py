"""Unit tests of the gateway's batching worker, publish results and PUBACK pairing (no sockets, no waits)."""

from __future__ import annotations

import queue
import threading
from datetime import UTC, datetime

import pytest

from broadcast.adapters.metrics import Metrics
from broadcast.devices.gateway import AckTracker, BatchWorker, PublishResult, Received
from broadcast.devices.ports import InboundMessage
from broadcast.protocol import AckValue, StatusValue

NOW = datetime(2026, 11, 28, 23, 0, tzinfo=UTC)


def _msgs(n: int) -> list[InboundMessage]:
    return [InboundMessage(f"dev-{i:05d}", "status", StatusValue(f"dev-{i:05d}", online=False), NOW) for i in range(n)]


def _filled(msgs: list[InboundMessage]) -> queue.Queue:
    q: queue.Queue = queue.Queue()
    for m in msgs:
        q.put_nowait(m)
    return q


class Recorder:
    def __init__(self, fail_times: int = 0, fail_if=lambda batch: False) -> None:
        self.calls: list[list[InboundMessage]] = []
        self.fail_times = fail_times
        self.fail_if = fail_if

    def handle(self, batch: list[InboundMessage]) -> None:
        self.calls.append(list(batch))
        batch.clear()  # a rude inbox: the worker must have given us a copy
        if self.fail_times > 0:
            self.fail_times -= 1
            raise RuntimeError("database down")
        if self.fail_if(self.calls[-1]):
            raise RuntimeError("poison")


def _value(metrics: Metrics, name: str, **labels: str) -> float:
    v = metrics.registry.get_sample_value(name, labels or None)
    return 0.0 if v is None else v


def test_batches_are_capped_and_keep_arrival_order():
    msgs = _msgs(1_234)
    worker = BatchWorker(_filled(msgs), Recorder(), Metrics(), max_batch=500, max_wait_s=0)
    sizes, seen = [], []
    while batch := worker.next_batch(block_s=0):
        sizes.append(len(batch))
        seen.extend(batch)
    assert sizes == [500, 500, 234]
    assert seen == msgs


def test_a_fleet_burst_is_stored_in_batches_of_two_thousand():
    # Per message, a batch of 2,000 costs about a fifth less inbox and PostgreSQL CPU than one of 500
    # (bench_inbox.py); an emergency's acks keep the queue full, so every batch is the largest allowed.
    msgs = _msgs(4_500)
    worker = BatchWorker(_filled(msgs), Recorder(), Metrics(), max_wait_s=0)
    sizes = []
    while batch := worker.next_batch(block_s=0):
        sizes.append(len(batch))
    assert sizes == [2000, 2000, 500]


def test_an_empty_queue_gives_an_empty_batch():
    worker = BatchWorker(queue.Queue(), Recorder(), Metrics(), max_wait_s=0)
    assert worker.next_batch(block_s=0) == []


def test_max_batch_must_be_positive():
    with pytest.raises(ValueError):
        BatchWorker(queue.Queue(), Recorder(), Metrics(), max_batch=0)


def test_a_failing_batch_is_retried_once_then_succeeds():
    metrics, inbox = Metrics(), Recorder(fail_times=1)
    worker = BatchWorker(queue.Queue(), inbox, metrics, retry_delay_s=0)
    batch = _msgs(3)
    assert worker.deliver(batch) is True
    assert inbox.calls == [batch, batch]
    assert _value(metrics, "loaxa_device_inbox_errors_total", outcome="retried") == 1
    assert _value(metrics, "loaxa_device_inbox_errors_total", outcome="dropped") == 0
    assert _value(metrics, "loaxa_device_inbox_batches_total") == 1


def test_a_batch_failing_twice_is_dropped_and_counted_per_message():
    metrics, inbox = Metrics(), Recorder(fail_times=2)
    worker = BatchWorker(queue.Queue(), inbox, metrics, retry_delay_s=0, retry_for_s=0)
    assert worker.deliver(_msgs(7)) is False
    assert len(inbox.calls) == 2
    assert _value(metrics, "loaxa_device_inbox_errors_total", outcome="dropped") == 1
    assert _value(metrics, "loaxa_device_messages_dropped_total", reason="inbox_failed") == 7
    assert _value(metrics, "loaxa_device_inbox_batches_total") == 0


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_batch_is_retried_while_the_database_restarts_and_stored_when_it_is_back():
    """Seconds of failures (PostgreSQL restarting): the batch waits for it instead of being dropped."""
    metrics, clock = Metrics(), FakeClock()
    inbox = Recorder(fail_times=6)
    pauses: list[float] = []
    worker = BatchWorker(queue.Queue(), inbox, metrics, retry_delay_s=0.5, retry_for_s=30, clock=clock)
    worker.stopping.wait = lambda delay: pauses.append(delay) or setattr(clock, "now", clock.now + delay)  # type: ignore[method-assign]
    batch = _msgs(4)
    assert worker.deliver(batch) is True
    assert inbox.calls[-1] == batch and len(inbox.calls) == 7
    assert pauses == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0]  # growing, capped
    assert _value(metrics, "loaxa_device_inbox_errors_total", outcome="retried") == 6
    assert _value(metrics, "loaxa_device_messages_dropped_total", reason="inbox_failed") == 0


def test_a_batch_failing_past_the_retry_time_is_dropped():
    metrics, clock = Metrics(), FakeClock()
    worker = BatchWorker(queue.Queue(), Recorder(fail_times=100), metrics, retry_delay_s=1, retry_for_s=10,
                         clock=clock)
    worker.stopping.wait = lambda delay: setattr(clock, "now", clock.now + delay)  # type: ignore[method-assign]
    assert worker.deliver(_msgs(3)) is False
    assert clock.now >= 10
    assert _value(metrics, "loaxa_device_messages_dropped_total", reason="inbox_failed") == 3


def test_run_keeps_going_after_a_poison_batch_and_drains_before_stopping():
    poison = InboundMessage("dev-poison", "ack", AckValue("dev-poison", "command", "c-1", "received", NOW), NOW)
    good = _msgs(5)
    metrics = Metrics()
    inbox = Recorder(fail_if=lambda batch: poison in batch)
    q: queue.Queue = queue.Queue()
    worker = BatchWorker(q, inbox, metrics, max_batch=1, max_wait_s=0, retry_delay_s=0, retry_for_s=0)
    for m in [poison, *good]:
        q.put_nowait(Received(m))
    worker.stopping.set()  # already stopping: run() must still drain what is queued, then return
    worker.run()
    delivered = [c for c in inbox.calls if poison not in c]
    assert delivered == [[m] for m in good]
    assert _value(metrics, "loaxa_device_messages_dropped_total", reason="inbox_failed") == 1
    assert _value(metrics, "loaxa_device_inbox_queue_depth") == 0


def test_run_settles_each_batch_after_the_inbox_had_it_stored_or_dropped():
    """The broker's acknowledgements wait for the inbox: settle sees a batch only once handle() returned (stored) or
    the batch was given up (dropped, counted); a kill -9 before that leaves the broker holding the messages."""
    poison = InboundMessage("dev-poison", "ack", AckValue("dev-poison", "command", "c-1", "received", NOW), NOW)
    events: list[tuple[str, list]] = []

    class Inbox(Recorder):
        def handle(self, batch: list[InboundMessage]) -> None:
            events.append(("handle", [m.device_id for m in batch]))
            if poison in batch:
                raise RuntimeError("poison")

    q: queue.Queue = queue.Queue()
    items = [Received(m, (1, i + 1)) for i, m in enumerate([*_msgs(2), poison])]
    for item in items:
        q.put_nowait(item)
    worker = BatchWorker(q, Inbox(), Metrics(), max_batch=2, max_wait_s=0, retry_delay_s=0, retry_for_s=0,
                         settle=lambda batch: events.append(("settle", [r.receipt for r in batch])))
    worker.stopping.set()
    worker.run()
    assert events == [("handle", ["dev-00000", "dev-00001"]), ("settle", [(1, 1), (1, 2)]),
                      ("handle", ["dev-poison"]), ("handle", ["dev-poison"]), ("settle", [(1, 3)])]


def test_ack_tracker_pairs_a_puback_that_comes_after_registration():
    tracker = AckTracker()
    done = tracker.register(7)
    assert not done.is_set() and tracker.pending() == 1
    tracker.acked(7)
    assert done.is_set() and tracker.pending() == 0


def test_ack_tracker_pairs_a_puback_that_overtook_registration():
    tracker = AckTracker()
    tracker.acked(9)               # network thread was faster than publish() returning
    assert tracker.register(9).is_set()
    later = tracker.register(9)    # mids are reused later: the early ack must be consumed once
    assert not later.is_set()


def test_publish_result_reports_refused_and_pending_publishes():
    refused = PublishResult(1, "t", queued=False, done=threading.Event())
    assert refused.wait(0) is False and not refused.published
    done = threading.Event()
    pending = PublishResult(2, "t", queued=True, done=done)
    assert pending.wait(0) is False
    done.set()
    assert pending.wait(0) is True and pending.published
