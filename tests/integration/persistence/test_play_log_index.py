"""A day of a province's play log is read through the play-time index, not by scanning the whole log: the index
exists on both engines, and on SQLite the planner needs statistics to prefer it over the commune index."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select, text

from broadcast.persistence.maintenance import refresh_planner_statistics
from broadcast.persistence.models import PlayLogRow
from broadcast.persistence.report_repository import PLAY_TIME, _in_area
from tests.support.app import CUA_NAM, HANOI, HOAN_KIEM

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 30, 17, tzinfo=UTC)


def a_month_of_play_log(container) -> None:
    rows = [{"device_id": f"loa-{n % 40}", "commune_code": (HOAN_KIEM, CUA_NAM)[n % 2], "item_id": f"occ-{n}",
             "title": "Bản tin", "planned_start": NOW - timedelta(hours=n % 720), "outcome": "played",
             "recorded_at": NOW - timedelta(hours=n % 720)} for n in range(6000)]
    with container.engine.begin() as connection:
        connection.execute(insert(PlayLogRow), rows)


def plan_of(container, stmt) -> str:
    with container.engine.connect() as connection:
        sql = str(stmt.compile(connection, compile_kwargs={"literal_binds": True}))
        if connection.dialect.name == "sqlite":
            return " ".join(str(row) for row in connection.execute(text(f"EXPLAIN QUERY PLAN {sql}")))
        connection.execute(text("ANALYZE play_log"))
        return " ".join(str(row) for row in connection.execute(text(f"EXPLAIN {sql}")))


def test_a_day_of_a_province_is_read_through_the_play_time_index(container):
    """The home page's and the reports' query: one day of a province out of a month of play log."""
    a_month_of_play_log(container)
    refresh_planner_statistics(container.engine)  # what the runtime does at start and every night
    stmt = (select(PlayLogRow.commune_code, PlayLogRow.outcome, func.count())
            .where(PLAY_TIME >= NOW - timedelta(days=1), PLAY_TIME < NOW, _in_area(PlayLogRow.commune_code, HANOI))
            .group_by(PlayLogRow.commune_code, PlayLogRow.outcome))
    assert "ix_play_log_play_time" in plan_of(container, stmt)
