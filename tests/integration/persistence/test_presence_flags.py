"""The inbox's first lookup of every batch (online_flags): the stored flag of known devices on both engines, and on
PostgreSQL one statement text whatever the number of ids, so it is parsed and prepared once (an IN list rendered
500 placeholders for every batch)."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import event, insert

from broadcast.persistence.models import DeviceRow
from tests.support.app import device_row
from tests.support.postgres import POSTGRES_ONLY

pytestmark = pytest.mark.integration
NOW = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.fixture
def devices(container) -> None:
    with container.engine.begin() as connection:
        connection.execute(insert(DeviceRow), [
            device_row(f"loa-{n:03d}", NOW, online=n % 2 == 0, last_seen=NOW if n else None) for n in range(600)])


def test_known_devices_flags_none_before_any_status(container, devices):
    with container.uow() as uow:
        assert uow.reports.online_flags(["loa-000", "loa-001", "loa-002", "nobody"], lock=True) == {
            "loa-000": None, "loa-001": False, "loa-002": True}
        assert len(uow.reports.online_flags([f"loa-{n:03d}" for n in range(600)])) == 600


@POSTGRES_ONLY  # SQLite binds an IN list per chunk
def test_postgres_runs_one_statement_text_for_any_number_of_devices(container, devices):
    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_args):
        if "FROM devices" in statement:
            statements.append(statement)

    event.listen(container.engine, "before_cursor_execute", seen)
    try:
        with container.uow() as uow:
            for count in (3, 500):
                uow.reports.online_flags([f"loa-{n:03d}" for n in range(count)], lock=True)
    finally:
        event.remove(container.engine, "before_cursor_execute", seen)
    assert len(statements) == 2 and statements[0] == statements[1], statements
