"""Storing device acks (record_acks): each once, the new ones handed on in batch order, on both engines; and on
PostgreSQL, when two nodes store the same ack at once, only the one that inserted it hands it on as new."""
from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select

from broadcast.domain.delivery import AckReport
from broadcast.persistence.models import DeviceAckRow, DeviceRow
from tests.support.app import device_row
from tests.support.postgres import POSTGRES_ONLY

pytestmark = pytest.mark.integration
NOW = datetime(2026, 12, 1, tzinfo=UTC)
DEVICES = ["loa-1", "loa-2"]


def ack(device: str, stage: str, item: str = "tin-1", *, seconds: int = 0) -> AckReport:
    at = NOW + timedelta(seconds=seconds)
    return AckReport(device_id=device, ref_kind="schedule", ref_id="7", stage=stage, at=at, received_at=at,
                     item_id=item, started_at=at if stage == "played" else None)


@pytest.fixture
def devices(container) -> None:
    with container.engine.begin() as connection:
        connection.execute(insert(DeviceRow), [device_row(d, NOW) for d in DEVICES])


def stored(container) -> int:
    with container.engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(DeviceAckRow)).scalar_one()


def test_each_ack_is_stored_once_and_only_new_ones_are_handed_on_in_order(container, devices):
    with container.uow() as uow:
        first = uow.delivery.record_acks([ack("loa-1", "received"), ack("loa-2", "received")])
        uow.commit()
    assert [(a.device_id, a.stage) for a in first] == [("loa-1", "received"), ("loa-2", "received")]
    batch = [ack("loa-2", "played", seconds=3), ack("loa-1", "received", seconds=5), ack("unknown", "played"),
             ack("loa-1", "played", seconds=4), ack("loa-2", "played", seconds=6)]  # a repeat: the later copy
    with container.uow() as uow:
        new = uow.delivery.record_acks(batch)
        uow.commit()
    assert [(a.device_id, a.stage, a.at) for a in new] == [("loa-2", "played", NOW + timedelta(seconds=6)),
                                                           ("loa-1", "played", NOW + timedelta(seconds=4))]
    assert stored(container) == 4
    with container.uow() as uow:
        assert uow.delivery.record_acks(batch) == []
        uow.commit()
    assert stored(container) == 4


@POSTGRES_ONLY  # concurrent writers: SQLite has one writer at a time
def test_two_nodes_storing_the_same_ack_hand_it_on_once(container, devices):
    played = [ack("loa-1", "played")]
    results: dict[str, list[AckReport]] = {}
    with container.uow() as first:
        results["first"] = first.delivery.record_acks(played)  # inserted, not committed yet

        def second_node() -> None:
            with container.uow() as second:
                results["second"] = second.delivery.record_acks(played)  # waits for the first transaction
                second.commit()

        thread = threading.Thread(target=second_node)
        thread.start()
        thread.join(0.5)
        assert thread.is_alive(), "the second node should wait for the first one's insert"
        first.commit()
    thread.join(10)
    assert results["first"] == played
    assert results["second"] == []  # the first node handed it on (play log, stages): not again
    assert stored(container) == 1
