"""Retention: play-log, ack and audit rows older than the retention go; newer ones stay."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from broadcast.domain.audit import AuditEntry
from broadcast.domain.errors import InvalidInput
from broadcast.persistence.models import AuditRow, DeviceAckRow, PlayLogRow
from broadcast.services.playlog import purge_expired

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

    assert counts == {"play_log": 4, "device_acks": 4, "audit_log": 2}
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
    assert purge_expired(container.uow, clock, RETENTION_DAYS) == {"play_log": 0, "device_acks": 0, "audit_log": 0}
    assert len(column(container, select(AuditRow.id).where(AuditRow.action == "retention.purge"))) == 1


def test_purge_refuses_a_retention_below_one_day(world):
    with pytest.raises(InvalidInput):
        purge_expired(world.container.uow, world.clock, 0)
