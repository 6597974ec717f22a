"""Keeping the database's query planner informed.

SQLite plans with no statistics until ANALYZE runs: it then prefers any equality index, so a day of the play log
was read through the commune index, every row of the province's year (benchmarks/bench_pages.py: 47 ms against
0.2 ms at 60,000 rows, growing with the log). `analysis_limit` samples each index, so a refresh costs milliseconds
even on millions of rows. PostgreSQL's autovacuum keeps its own statistics: nothing to do there.
"""
from __future__ import annotations

from sqlalchemy import Engine

SAMPLED_ROWS = 1000


def refresh_planner_statistics(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        return
    with engine.begin() as connection:
        connection.exec_driver_sql(f"PRAGMA analysis_limit = {SAMPLED_ROWS}")
        connection.exec_driver_sql("ANALYZE")
