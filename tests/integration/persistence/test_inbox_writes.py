"""What the inbox's set-wise writes store, on both engines (PostgreSQL writes a batch from arrays, SQLite by
executemany): every status field, never an older status over a newer one, and deliveries that only move forwards."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select

from broadcast.domain.delivery import AckReport, StatusReport
from broadcast.persistence.models import CommandDeliveryRow, CommandRow, DeviceRow, core_table
from tests.support.app import device_row

pytestmark = pytest.mark.integration
NOW = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)
DEVICES = ["loa-1", "loa-2", "loa-3"]


@pytest.fixture
def devices(container) -> None:
    with container.engine.begin() as connection:
        connection.execute(insert(DeviceRow), [device_row(d, NOW) for d in DEVICES])


def online(device: str, seconds: int, **fields) -> StatusReport:
    values = {"firmware": "fw-1", "volume": 70, "clock_offset_ms": 5, "storage_free_bytes": 8 * 1024 ** 3,
              "schedule_version": 3, **fields}
    return StatusReport(device_id=device, online=True, received_at=NOW + timedelta(seconds=seconds), **values)


def device_rows(container) -> dict[str, tuple]:
    d = core_table(DeviceRow).c
    with container.engine.connect() as connection:
        rows = connection.execute(select(d.id, d.online, d.last_seen, d.firmware, d.volume, d.playing_item,
                                         d.playing_since, d.clock_offset_ms, d.storage_free_bytes,
                                         d.reported_version))
        return {r[0]: (r[1], r[2].astimezone(UTC) if r[2] else None, *r[3:6],
                       r[6].astimezone(UTC) if r[6] else None, *r[7:]) for r in rows}


def test_statuses_store_every_field_and_never_an_older_over_a_newer(container, devices):
    since = NOW - timedelta(minutes=1)
    with container.uow() as uow:
        assert uow.delivery.record_statuses([
            online("loa-1", 10), online("loa-1", 20, volume=90, playing_item="tin-1", playing_since=since),
            online("loa-2", 10, firmware=None, volume=None), online("unknown", 10)]) == 2
        uow.commit()
    with container.uow() as uow:  # loa-1's from before what is stored (another node, late); loa-3 offline
        uow.delivery.record_statuses([online("loa-1", 15, volume=10),
                                      StatusReport(device_id="loa-3", online=False, received_at=NOW)])
        uow.commit()
    rows = device_rows(container)
    assert rows["loa-1"] == (True, NOW + timedelta(seconds=20), "fw-1", 90, "tin-1", since, 5, 8 * 1024 ** 3, 3)
    assert rows["loa-2"] == (True, NOW + timedelta(seconds=10), None, None, None, None, 5, 8 * 1024 ** 3, 3)
    assert rows["loa-3"][:2] == (False, NOW)


def command_ack(device: str, stage: str, seconds: int) -> AckReport:
    at = NOW + timedelta(seconds=seconds)
    return AckReport(device_id=device, ref_kind="command", ref_id="c1", stage=stage, at=at, received_at=at)


def test_deliveries_move_to_the_furthest_stage_heard_and_never_back(container, devices):
    deliveries = core_table(CommandDeliveryRow)
    with container.engine.begin() as connection:
        connection.execute(insert(CommandRow), [{"cmd_id": "c1", "action": "play_now", "priority": "emergency",
                                                 "issued_at": NOW, "expires_at": NOW, "created_by": "t"}])
        connection.execute(insert(deliveries), [{"cmd_id": "c1", "device_id": d} for d in DEVICES[:2]])
    with container.uow() as uow:
        uow.delivery.record_acks([command_ack("loa-1", "received", 1), command_ack("loa-1", "playing", 3),
                                  command_ack("loa-1", "ready", 2), command_ack("loa-2", "received", 1),
                                  command_ack("loa-3", "playing", 1)])  # loa-3: not sent to it
        uow.commit()
    with container.uow() as uow:
        uow.delivery.record_acks([command_ack("loa-1", "failed", 4), command_ack("loa-2", "ready", 5)])
        uow.commit()
    with container.engine.connect() as connection:
        rows = {r.device_id: (r.stage, r.updated_at.astimezone(UTC))
                for r in connection.execute(select(deliveries.c.device_id, deliveries.c.stage,
                                                   deliveries.c.updated_at))}
    # loa-1: `failed` (rank of `ready`) came after `playing`; the batch's own order did not matter either
    assert rows == {"loa-1": ("playing", NOW + timedelta(seconds=3)), "loa-2": ("ready", NOW + timedelta(seconds=5))}
