"""The inbox locks the devices whose statuses it compares (two API nodes may handle the same status) without
blocking rows that only refer to those devices: the alert pass inserts alerts for them at the same time, and with
FOR UPDATE the two deadlocked at 10,000 devices (#15)."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, text

from broadcast.persistence.models import DeviceRow
from broadcast.persistence.models_health import AlertRow
from tests.support.app import HOAN_KIEM, device_row
from tests.support.postgres import POSTGRES_ONLY

pytestmark = pytest.mark.integration
NOW = datetime(2026, 12, 1, tzinfo=UTC)


@POSTGRES_ONLY  # row locks: SQLite has one writer at a time
def test_an_alert_for_a_locked_device_is_written_without_waiting(container):
    with container.engine.begin() as connection:
        connection.execute(insert(DeviceRow), [device_row("loa-1", NOW, last_seen=NOW, online=True)])
    with container.uow() as inbox:
        assert inbox.reports.online_flags(["loa-1"], lock=True) == {"loa-1": True}  # held until the end
        with container.engine.begin() as alerts:
            alerts.execute(text("SET LOCAL lock_timeout = '2s'"))  # FOR UPDATE: LockNotAvailable here
            alerts.execute(insert(AlertRow), [{"device_id": "loa-1", "commune_code": HOAN_KIEM, "cause": "offline",
                                               "state": "pending", "first_seen_at": NOW, "last_seen_at": NOW,
                                               "details": {}}])
        with container.engine.connect() as other:  # the lock is really held against another status handler
            other.execute(text("SET lock_timeout = '200ms'"))
            with pytest.raises(Exception, match="lock"):
                other.execute(text("SELECT id FROM devices WHERE id = 'loa-1' FOR NO KEY UPDATE"))
