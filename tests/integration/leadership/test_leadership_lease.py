"""The leader lease on SQLite and PostgreSQL: one holder at a time, takeover after expiry with a larger fencing
token, and a former leader's publish step refused inside its own transaction."""
from __future__ import annotations

import contextlib
import threading
from datetime import timedelta

import pytest
from sqlalchemy import delete
from sqlalchemy.exc import DBAPIError

from broadcast.bootstrap import build_container
from broadcast.persistence.models_lease import SchedulerLeaseRow
from broadcast.services.delivery import flush_outbox
from broadcast.services.delivery.commands import flush_commands
from broadcast.services.leadership import Leadership, LeadershipLost
from broadcast.settings import load_settings
from tests.support.clock import MutableClock

pytestmark = pytest.mark.integration


@pytest.fixture
def lease_container(tmp_path, database_url):
    container = build_container(load_settings(data_dir=tmp_path / "data", database_url=database_url))
    yield container
    with container.engine.begin() as connection:
        connection.execute(delete(SchedulerLeaseRow))
    container.close()


class CountingPublisher:
    def __init__(self):
        self.calls = 0

    def publish_schedules(self, batch, *, timeout):
        self.calls += 1
        return [True] * len(batch)

    def publish_commands(self, batch, *, timeout):
        self.calls += 1
        return [True] * len(batch)


def _pair(container, clock):
    a = Leadership(container.uow, clock, ttl_s=10, renew_every_s=3, holder="node-a")
    b = Leadership(container.uow, clock, ttl_s=10, renew_every_s=3, holder="node-b")
    return a, b


def test_one_holder_then_takeover_with_a_larger_token(lease_container):
    clock = MutableClock()
    a, b = _pair(lease_container, clock)
    assert a.try_acquire() and a.token == 1
    assert not b.try_acquire()  # held and unexpired
    clock.advance(seconds=8)
    assert a.renew()  # holds until t+18 now
    clock.advance(seconds=9)
    assert not b.try_acquire()
    clock.advance(seconds=2)  # a's holding expired at t+18
    assert b.try_acquire() and b.token == 2
    assert not a.renew() and not a.leading  # the former leader learns it lost
    with lease_container.uow() as uow:
        state = uow.lease.current("scheduler")
    assert (state.holder, state.token, state.expires_at) == ("node-b", 2, clock.now() + timedelta(seconds=10))


def test_release_hands_over_at_once(lease_container):
    clock = MutableClock()
    a, b = _pair(lease_container, clock)
    assert a.try_acquire()
    a.release()
    assert b.try_acquire() and b.token == 2


def test_a_former_leader_publishes_nothing(lease_container):
    """Paused past its lease: on waking its flushes fail inside the transaction, before the publisher is called."""
    clock = MutableClock()
    a, b = _pair(lease_container, clock)
    publisher = CountingPublisher()
    assert a.try_acquire()
    flush_outbox(lease_container.uow, clock, publisher, retry_base_s=60, fence=a.fence)  # allowed: nothing due
    clock.advance(seconds=11)  # a is "paused": no renewal
    with pytest.raises(LeadershipLost):  # expired, even before anyone took over
        flush_commands(lease_container.uow, clock, publisher, fence=a.fence)
    assert b.try_acquire()
    for flush in (lambda: flush_outbox(lease_container.uow, clock, publisher, retry_base_s=60, fence=a.fence),
                  lambda: flush_commands(lease_container.uow, clock, publisher, fence=a.fence)):
        with pytest.raises(LeadershipLost):
            flush()
    assert publisher.calls == 0
    assert not a.leading and a.token is None  # stepped down
    flush_commands(lease_container.uow, clock, publisher, fence=b.fence)  # the new leader may


def test_racing_followers_elect_exactly_one(lease_container):
    clock = MutableClock()
    nodes = [Leadership(lease_container.uow, clock, ttl_s=10, renew_every_s=3, holder=f"node-{i}") for i in range(6)]
    barrier = threading.Barrier(len(nodes))
    won: list[str] = []

    def race(node):
        barrier.wait()
        with contextlib.suppress(DBAPIError):  # a serialization failure counts as losing the race
            if node.try_acquire():
                won.append(node.holder)

    threads = [threading.Thread(target=race, args=(n,)) for n in nodes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1


def test_keep_steps_down_when_the_fence_finds_a_newer_token(lease_container):
    clock = MutableClock()
    a, b = _pair(lease_container, clock)
    assert a.try_acquire()
    clock.advance(seconds=11)
    assert b.try_acquire()
    with lease_container.uow() as uow, pytest.raises(LeadershipLost):
        a.fence(uow)
    assert a.keep(threading.Event()) is True  # returns at once: lost
