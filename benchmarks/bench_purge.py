"""The nightly retention purge of superseded schedule versions, beside the play-log purge of as many rows.

Run: .venv/bin/python benchmarks/bench_purge.py [--devices 10000] [--old 30] [--new 10]
     [--postgres | --database-url URL]

Untimed setup: a migrated database; per device `--old` versions created before the retention cutoff and `--new`
after it, all received, each a signed-size document (12 items, about 3 KB of JSON); and as many play-log rows
older than the cutoff as there are old versions. Timed: `purge_expired` (every table, as the nightly job runs it),
whose counts split the two purges, then each purge alone on a fresh copy of its rows. Printed side by side: the
superseded versions' purge against the play-log purge of the same number of rows (the reference: a dated delete
by primary key), per row, and the second run that finds nothing. Goal: the superseded versions' purge costs no
more than three times the play-log purge per row (it checks for a newer received version of each device).
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, insert, select  # noqa: E402

from broadcast.persistence.database import make_engine, make_session_factory  # noqa: E402
from broadcast.persistence.migrate import upgrade  # noqa: E402
from broadcast.persistence.models import DeviceRow, PlayLogRow, SchedulePublicationRow  # noqa: E402
from broadcast.persistence.unit_of_work import SqlUnitOfWork  # noqa: E402
from broadcast.services.playlog import purge_expired  # noqa: E402

RETENTION_DAYS = 730
GOAL_RATIO = 3.0
COMMUNE = "00070"


class FixedClock:
    def __init__(self, now: datetime):
        self.at = now

    def now(self) -> datetime:
        return self.at


def document(version: int) -> dict:
    items = [{"item_id": f"occ-{version}-{i}", "start": "2026-11-29T06:00:00+07:00", "end": "2026-11-29T06:05:12+07:00",
              "priority": "normal", "volume": 80, "title": "Luật Hòa giải ở cơ sở - số 3",
              "media": [{"sha256": "a" * 64, "url": f"http://host/media/{'a' * 64}.mp3", "bytes": 2496044,
                         "duration_ms": 312000}]} for i in range(12)]
    return {"v": 1, "type": "schedule", "version": version, "status_interval_s": 60, "items": items, "sig": "s" * 88}


def seed_versions(engine, devices: int, old: int, new: int, now: datetime) -> None:
    before = now - timedelta(days=RETENTION_DAYS + 1)
    with engine.begin() as c:
        c.execute(insert(DeviceRow), [dict(id=f"bench-{d:05d}", name=f"bench-{d:05d}", commune_code=COMMUNE,
                                           connection="cellular", mqtt_password_hash="-", created_at=before)
                                      for d in range(devices)])
    for d in range(devices):
        rows = []
        for v in range(1, old + new + 1):
            at = before - timedelta(hours=old - v) if v <= old else now - timedelta(hours=old + new - v)
            rows.append(dict(device_id=f"bench-{d:05d}", version=v, fingerprint="f" * 64, document=document(v),
                             created_at=at, published_at=at, attempts=1, next_attempt_at=None, received_at=at))
        with engine.begin() as c:
            c.execute(insert(SchedulePublicationRow), rows)


def seed_play_log(engine, rows: int, now: datetime) -> None:
    at = now - timedelta(days=RETENTION_DAYS + 1)
    for start in range(0, rows, 20_000):
        with engine.begin() as c:
            c.execute(insert(PlayLogRow), [
                dict(device_id=f"bench-{i % 10_000:05d}", commune_code=COMMUNE, item_id=f"occ-{i}", schedule_id=i % 50,
                     title="Luật Hòa giải ở cơ sở - số 3", priority="normal", planned_start=at, planned_end=at,
                     started_at=at, ended_at=at, outcome="played", recorded_at=at)
                for i in range(start, min(rows, start + 20_000))])


def count(engine, model) -> int:
    with engine.connect() as c:
        return c.scalar(select(func.count()).select_from(model))


def timed(purge: Callable[[], dict[str, int]]) -> tuple[float, dict[str, int]]:
    started = time.perf_counter()
    counts = purge()
    return time.perf_counter() - started, counts


def run(args: argparse.Namespace, url: str) -> bool:
    engine = make_engine(url)
    upgrade(engine)
    from broadcast.services.area_catalog import official_areas
    from broadcast.services.areas import seed_areas
    from broadcast.services.context import Actor

    uow = lambda: SqlUnitOfWork(make_session_factory(engine))  # noqa: E731
    clock = FixedClock(datetime(2026, 12, 1, 20, tzinfo=UTC))
    seed_areas(uow(), clock, official_areas(), Actor(None))
    old_rows = args.devices * args.old
    started = time.perf_counter()
    seed_versions(engine, args.devices, args.old, args.new, clock.now())
    print(f"seeded {count(engine, SchedulePublicationRow)} schedule versions ({old_rows} superseded before the cutoff) "
          f"in {time.perf_counter() - started:.0f} s")

    # Each purge alone: the superseded versions first (no play log yet), then as many play-log rows.
    versions_s, counts = timed(lambda: purge_expired(uow, clock, RETENTION_DAYS))
    assert counts["schedule_publications"] == old_rows, counts
    assert count(engine, SchedulePublicationRow) == args.devices * args.new
    seed_play_log(engine, old_rows, clock.now())
    play_log_s, counts = timed(lambda: purge_expired(uow, clock, RETENTION_DAYS))
    assert counts["play_log"] == old_rows and counts["schedule_publications"] == 0, counts
    idle_s, counts = timed(lambda: purge_expired(uow, clock, RETENTION_DAYS))
    assert not any(counts.values()), counts
    engine.dispose()

    ratio = versions_s / play_log_s
    print(f"{'':34}{'superseded versions':>22}{'play log (reference)':>22}")
    print(f"{'rows deleted':34}{old_rows:>22,}{old_rows:>22,}")
    print(f"{'seconds':34}{versions_s:>22.2f}{play_log_s:>22.2f}")
    print(f"{'rows per second':34}{old_rows / versions_s:>22,.0f}{old_rows / play_log_s:>22,.0f}")
    print(f"ratio (versions / play log, per row): {ratio:.2f}x  goal <= {GOAL_RATIO:.1f}x  "
          f"{'MET' if ratio <= GOAL_RATIO else 'MISSED'}")
    print(f"a nightly run with nothing to purge ({args.devices * args.new:,} versions left): {idle_s:.2f} s")
    return ratio <= GOAL_RATIO


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--old", type=int, default=30, help="versions per device created before the cutoff")
    parser.add_argument("--new", type=int, default=10, help="versions per device created after it")
    parser.add_argument("--database-url", default="", help="default: SQLite in a temporary directory")
    parser.add_argument("--postgres", action="store_true", help="start a private PostgreSQL server for the run")
    args = parser.parse_args()
    engine = "PostgreSQL" if args.postgres or args.database_url.startswith("postgres") else "SQLite"
    print(f"bench_purge: {args.devices} devices x ({args.old} old + {args.new} new) versions, {engine}")
    if args.database_url:
        met = run(args, args.database_url)
    elif args.postgres:
        from tests.support.postgres import postgres_instance

        with postgres_instance() as instance:
            met = run(args, instance.url)
    else:
        work = Path(tempfile.mkdtemp(prefix="bench-purge-"))
        try:
            met = run(args, f"sqlite:///{work / 'loaxa.db'}")
        finally:
            shutil.rmtree(work, ignore_errors=True)
    sys.exit(0 if met else 1)


if __name__ == "__main__":
    main()
