"""Keeping the database's query planner informed.

SQLite plans with no statistics until ANALYZE runs: it then prefers any equality index, so a day of the play log
was read through the commune index, every row of the province's year (benchmarks/bench_pages.py: 10.6 s for the
home page's counts at 3.65 million rows). A sampled ANALYZE (analysis_limit) is no cure: the first thousand entries
of the play-time index are one morning of the whole fleet, so the sample misjudges both indexes. The full ANALYZE
of that play log took 2.1 s here, cheap enough at start and at night. PostgreSQL's autovacuum keeps its own
statistics: nothing to do there.
"""
from __future__ import annotations

from sqlalchemy import Engine


def refresh_planner_statistics(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        return
    with engine.begin() as connection:
        connection.exec_driver_sql("PRAGMA analysis_limit = 0")  # every row: see the module's docstring
        connection.exec_driver_sql("ANALYZE")
