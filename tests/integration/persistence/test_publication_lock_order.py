"""The device inbox (received acks stamp a schedule version) and the outbox flush (versions marked published) update
the same schedule_publications rows. On PostgreSQL both lock them in (device, version) order whatever order their
input came in: the fan-out benchmark saw them deadlock when a fleet's acks arrived, in their own order, while a
flush was still marking its batch."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select, text

from broadcast.domain.delivery import AckReport
from broadcast.persistence.models import DeviceRow, SchedulePublicationRow
from tests.support.app import device_row
from tests.support.postgres import POSTGRES_ONLY

pytestmark = [pytest.mark.integration, pytest.mark.postgres, POSTGRES_ONLY]  # row locks: SQLite has one writer
NOW = datetime(2026, 12, 1, tzinfo=UTC)
FIRST, SECOND = "loa-1", "loa-2"


@pytest.fixture
def publications(container) -> None:
    with container.engine.begin() as connection:
        connection.execute(insert(DeviceRow), [device_row(d, NOW) for d in (FIRST, SECOND)])
        connection.execute(insert(SchedulePublicationRow), [
            {"device_id": d, "version": 1, "fingerprint": "f" * 64, "document": {"v": 1}, "created_at": NOW,
             "attempts": 0, "next_attempt_at": NOW} for d in (FIRST, SECOND)])


def received(device: str) -> AckReport:
    return AckReport(device_id=device, ref_kind="schedule", ref_id="1", stage="received", at=NOW, received_at=NOW)


def inbox(container, devices: list[str]) -> Callable[[], None]:
    def run() -> None:
        with container.uow() as uow:
            uow.delivery.record_acks([received(d) for d in devices])
            uow.commit()
    return run


def flush(container, devices: list[str]) -> Callable[[], None]:
    def run() -> None:
        with container.uow() as uow:
            uow.delivery.mark_published([(d, 1, NOW + timedelta(minutes=2)) for d in devices], at=NOW)
            uow.commit()
    return run


def waiting_on_locks(container) -> int:
    with container.engine.connect() as connection:
        return connection.execute(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
                                  ).scalar_one()


def start(job: Callable[[], None], errors: list[BaseException]) -> threading.Thread:
    def guarded() -> None:
        try:
            job()
        except BaseException as error:  # handed to the test thread, which asserts there was none
            errors.append(error)
    thread = threading.Thread(target=guarded)
    thread.start()
    return thread


def wait_for_waiters(container, n: int) -> None:
    deadline = time.monotonic() + 10
    while waiting_on_locks(container) < n:
        assert time.monotonic() < deadline, f"expected {n} transactions waiting on a row lock"
        time.sleep(0.02)


@pytest.mark.parametrize("first_waiter, second_waiter", [
    ("flush in order", "inbox in arrival order"),  # acks of loa-2 before loa-1, while a flush marks loa-1, loa-2
    ("inbox in order", "flush out of order"),  # the flush's batch in its due order, the acks in device order
])
def test_inbox_and_flush_lock_publications_in_one_order(container, publications, first_waiter, second_waiter):
    jobs = {"flush in order": flush(container, [FIRST, SECOND]),
            "flush out of order": flush(container, [SECOND, FIRST]),
            "inbox in order": inbox(container, [FIRST, SECOND]),
            "inbox in arrival order": inbox(container, [SECOND, FIRST])}
    errors: list[BaseException] = []
    # A third transaction holds loa-1, so both writers queue on it: the first one to queue gets it next. Whichever
    # writer takes loa-2 before queueing for loa-1 would then deadlock with the first one.
    with container.engine.connect() as holder:
        holder.execute(select(SchedulePublicationRow.version).where(SchedulePublicationRow.device_id == FIRST)
                       .with_for_update())
        threads = [start(jobs[first_waiter], errors)]
        wait_for_waiters(container, 1)
        threads.append(start(jobs[second_waiter], errors))
        wait_for_waiters(container, 2)
        holder.rollback()
    for thread in threads:
        thread.join(30)
    assert errors == []
    with container.engine.connect() as connection:
        rows = connection.execute(select(SchedulePublicationRow.device_id, SchedulePublicationRow.published_at,
                                         SchedulePublicationRow.received_at)).all()
    assert {(d, p is not None, r is not None) for d, p, r in rows} == {(FIRST, True, True), (SECOND, True, True)}
