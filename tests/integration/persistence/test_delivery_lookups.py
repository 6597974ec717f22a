"""The inbox's lookups by exact key (which acks are stored already, which deliveries a command's acks belong to):
the right rows on both engines, and on PostgreSQL one index probe per key for a brand-new command that the
planner's statistics do not know yet (#15: the IN lists read every row of the command for each batch)."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import insert, text

from broadcast.persistence.delivery_repository import _ACK_KEY, _rows_by_keys, keyed_lookup
from broadcast.persistence.models import CommandDeliveryRow, CommandRow, DeviceAckRow, DeviceRow, core_table
from tests.support.app import device_row
from tests.support.postgres import POSTGRES_ONLY

pytestmark = pytest.mark.integration
NOW = datetime(2026, 12, 1, tzinfo=UTC)
DEVICES = [f"loa-{n:03d}" for n in range(400)]
DELIVERIES = core_table(CommandDeliveryRow)
ACKS = core_table(DeviceAckRow)
ACK_COLUMNS = [ACKS.c[name] for name in _ACK_KEY]


def a_command(connection: Any, cmd_id: str, devices: list[str]) -> None:
    connection.execute(insert(CommandRow), [{"cmd_id": cmd_id, "action": "play_now", "priority": "emergency",
                                             "issued_at": NOW, "expires_at": NOW, "created_by": "t"}])
    connection.execute(insert(DELIVERIES), [{"cmd_id": cmd_id, "device_id": d} for d in devices])
    connection.execute(insert(ACKS), [
        {"device_id": d, "ref_kind": "command", "ref_id": cmd_id, "stage": stage, "item_id": "", "at": NOW,
         "received_at": NOW} for d in devices for stage in ("received", "ready")])


@pytest.fixture
def fleet(container) -> None:
    with container.engine.begin() as connection:
        connection.execute(insert(DeviceRow), [device_row(d, NOW) for d in DEVICES])
        a_command(connection, "old", DEVICES)


def test_only_the_exact_keys_asked_for_are_found(container, fleet):
    with container.engine.begin() as connection:
        a_command(connection, "new", DEVICES[:10])
        asked = {("new", DEVICES[0]), ("new", DEVICES[1]), ("old", DEVICES[2]), ("new", DEVICES[20]),
                 ("gone", DEVICES[0])}
        # An IN list per column would also match ("new", DEVICES[2]) and ("old", DEVICES[0]), ...
        found = _rows_by_keys(connection, [DELIVERIES.c.cmd_id, DELIVERIES.c.device_id], asked,
                              extra=[DELIVERIES.c.stage], sqlite_filter=(0, 1))
        assert sorted(found) == [("new", DEVICES[0], None), ("new", DEVICES[1], None), ("old", DEVICES[2], None)]
        acks = {(DEVICES[0], "command", "new", "ready", ""), (DEVICES[0], "command", "new", "playing", ""),
                (DEVICES[1], "command", "old", "received", ""), (DEVICES[30], "command", "new", "ready", ""),
                (DEVICES[1], "schedule", "old", "received", "")}
        stored = _rows_by_keys(connection, ACK_COLUMNS, acks, sqlite_filter=(0, 2))
        assert sorted(stored) == [(DEVICES[0], "command", "new", "ready", ""),
                                  (DEVICES[1], "command", "old", "received", "")]


def plan_nodes(plan: dict[str, Any]):
    yield plan
    for child in plan.get("Plans", ()):
        yield from plan_nodes(child)


def reads(connection: Any, columns: list[Any], keys: set[tuple[Any, ...]], extra: list[Any]) -> list[dict]:
    """The plan nodes that read `columns`' table, from EXPLAIN ANALYZE of the lookup the repository runs."""
    stmt = keyed_lookup("postgresql", columns, keys, extra=extra, sqlite_filter=()).compile(
        dialect=connection.dialect, compile_kwargs={"render_postcompile": True})
    explained = connection.exec_driver_sql(f"EXPLAIN (ANALYZE, FORMAT JSON) {stmt}", stmt.params).scalar_one()
    table = columns[0].table.name
    return [node for node in plan_nodes(explained[0]["Plan"]) if node.get("Relation Name") == table]


@POSTGRES_ONLY  # the planner's behaviour on PostgreSQL
def test_postgres_probes_the_unique_key_once_per_key_for_a_brand_new_command(container, fleet):
    with container.engine.begin() as connection:
        connection.execute(text("ANALYZE command_deliveries; ANALYZE device_acks"))  # statistics without "new"
        a_command(connection, "new", DEVICES)  # as an emergency: staged, then acked at once
        devices = DEVICES[::8]  # one inbox batch's worth of them
        for columns, keys, extra in (
                ([DELIVERIES.c.cmd_id, DELIVERIES.c.device_id], {("new", d) for d in devices}, [DELIVERIES.c.stage]),
                (ACK_COLUMNS, {(d, "command", "new", "ready", "") for d in devices}, [])):
            nodes = reads(connection, columns, keys, extra)
            assert nodes and all(n["Node Type"] in {"Index Scan", "Index Only Scan"} for n in nodes), nodes
            # At most one row read per key asked for, however many the command has (400 here).
            read = sum(n["Actual Rows"] * n["Actual Loops"] + n.get("Rows Removed by Filter", 0) for n in nodes)
            assert read <= len(keys), nodes
