"""Retention: play-log, ack and audit rows older than the retention go; newer ones stay. Schedule versions created
before it go once their device has received a newer one; each device's newest and newest received stay."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import String, insert, select

from broadcast.domain.audit import AuditEntry
from broadcast.domain.errors import InvalidInput
from broadcast.persistence.models import AuditRow, DeviceAckRow, DeviceRow, PlayLogRow, SchedulePublicationRow
from broadcast.services.playlog import purge_expired
from tests.support.app import device_row

pytestmark = pytest.mark.integration
RETENTION_DAYS = 730


def column(container, selectable) -> list:
    with container.engine.connect() as connection:
        return sorted(connection.scalars(selectable))


def test_purge_deletes_only_what_is_older_than_retention(world):
    container, clock = world.container, world.clock
    now = clock.now()
    cutoff = now - timedelta(days=RETENTION_DAYS)
    ages = {"old-2": cutoff - timedelta(days=40), "old-1": cutoff - timedelta(seconds=1),
            "edge": cutoff, "new-1": cutoff + timedelta(seconds=1), "new-2": now - timedelta(days=1)}
    for item_id, received in ages.items():
        world.feed(world.ack("hk-0001", "missed", item_id=item_id, received_at=received),
                   world.ack("hk-0002", "played", item_id=item_id, started_at=received, ended_at=received,
                             received_at=received))
    uow = container.uow()
    with uow:
        for name, at in ages.items():
            uow.audit.append(AuditEntry(actor="test", action=f"test.{name}", object_type="test", object_id=name, at=at))
        uow.commit()
    audit_before = column(container, select(AuditRow.action).where(~AuditRow.action.startswith("test.")))

    counts = purge_expired(container.uow, clock, RETENTION_DAYS, batch=3)  # several short transactions

    assert counts == {"play_log": 4, "device_acks": 4, "audit_log": 2, "schedule_publications": 0}
    kept = ["edge", "edge", "new-1", "new-1", "new-2", "new-2"]
    assert column(container, select(PlayLogRow.item_id)) == kept
    assert column(container, select(DeviceAckRow.item_id)) == kept
    assert column(container, select(AuditRow.object_id).where(AuditRow.object_type == "test")) == kept[::2]
    # Older audit rows of other kinds (registrations at "now") stay, and the purge is itself on record.
    purge_rows = column(container, select(AuditRow.details).where(AuditRow.action == "retention.purge"))
    assert len(purge_rows) == 1 and purge_rows[0]["play_log"] == 4
    assert len(column(container, select(AuditRow.action).where(~AuditRow.action.startswith("test.")))) == \
        len(audit_before) + 1

    # Nothing left to purge: nothing deleted, nothing audited.
    assert purge_expired(container.uow, clock, RETENTION_DAYS) == {"play_log": 0, "device_acks": 0, "audit_log": 0,
                                                                   "schedule_publications": 0}
    assert len(column(container, select(AuditRow.id).where(AuditRow.action == "retention.purge"))) == 1


def test_purge_refuses_a_retention_below_one_day(world):
    with pytest.raises(InvalidInput):
        purge_expired(world.container.uow, world.clock, 0)


def test_purge_deletes_schedule_versions_superseded_by_a_received_one_before_the_retention(container, clock):
    now = clock.now()
    old, recent = now - timedelta(days=RETENTION_DAYS + 1), now - timedelta(days=RETENTION_DAYS - 1)

    def version(device: str, number: int, created: datetime, *, received: bool) -> dict:
        return {"device_id": device, "version": number, "fingerprint": "f" * 64, "document": {"v": number},
                "created_at": created, "published_at": created, "attempts": 1, "received_at": created if received
                else None, "next_attempt_at": None}

    with container.engine.begin() as connection:
        connection.execute(insert(DeviceRow), [device_row(d, old) for d in ("loa-1", "loa-2", "loa-3", "loa-4")])
        connection.execute(insert(SchedulePublicationRow), [
            version("loa-1", 1, old, received=True), version("loa-1", 2, old, received=False),  # both superseded
            version("loa-1", 3, recent, received=True), version("loa-1", 4, now, received=False),
            version("loa-2", 1, old, received=True), version("loa-2", 2, old, received=False),  # offline since
            version("loa-3", 1, recent, received=True), version("loa-3", 2, now, received=True),  # within retention
            version("loa-4", 1, old, received=False), version("loa-4", 2, old, received=True)])
    acknowledged = {d: device_state(container, d) for d in ("loa-1", "loa-2", "loa-3", "loa-4")}

    counts = purge_expired(container.uow, clock, RETENTION_DAYS, batch=2)  # a full batch, then the last one

    assert counts["schedule_publications"] == 3
    assert column(container, select(SchedulePublicationRow.device_id + ":" + SchedulePublicationRow.version.cast(
        String))) == ["loa-1:3", "loa-1:4", "loa-2:1", "loa-2:2", "loa-3:1", "loa-3:2", "loa-4:2"]
    assert {d: device_state(container, d) for d in acknowledged} == acknowledged  # what the devices hold, unchanged
    assert acknowledged == {"loa-1": (4, 3), "loa-2": (2, 1), "loa-3": (2, 2), "loa-4": (2, 2)}


def device_state(container, device_id: str) -> tuple[int | None, int | None]:
    with container.uow() as uow:
        state = uow.devices.state(device_id)
    return state.published_version, state.acknowledged_version
