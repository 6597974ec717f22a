"""One rule pass over a large fleet with many alerts standing: the statements a pass writes, not the broker.

Run: .venv/bin/python benchmarks/bench_alert_pass.py [--devices 10000] [--offline-share 0.1] [--fault-share 0.2]
     [--passes 6] [--postgres | --database-url URL]

Devices, their newest health and per-province settle times of 0 are written straight into a fresh database (the
same tables the inbox fills); then passes run every 10 s of a fixed clock, as the runtime's job does. Printed: each
pass (findings, opened, seconds), the pass that opens every alert, and the median and longest of the passes that
find them all standing (each one's last_seen_at written). Goal: every pass under 1 s.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, select  # noqa: E402

from broadcast.persistence.database import make_engine, make_session_factory  # noqa: E402
from broadcast.persistence.migrate import upgrade  # noqa: E402
from broadcast.persistence.models import AreaRow, DeviceRow  # noqa: E402
from broadcast.persistence.models_health import AlertThresholdRow, DeviceHealthRow  # noqa: E402
from broadcast.persistence.unit_of_work import SqlUnitOfWork  # noqa: E402
from broadcast.services import alerts  # noqa: E402
from broadcast.services.area_catalog import official_areas  # noqa: E402
from broadcast.services.areas import seed_areas  # noqa: E402
from broadcast.services.context import Actor  # noqa: E402


class FixedClock:
    def __init__(self, now: datetime):
        self.at = now

    def now(self) -> datetime:
        return self.at


def seed(engine, n: int, offline_every: int, fault_every: int, now: datetime) -> int:
    """n devices over 500 communes; every offline_every-th offline for an hour, every fault_every-th (offset by one)
    with its amplifier in fault. Returns how many alerts the rules must find."""
    with engine.begin() as c:
        communes = list(c.scalars(select(AreaRow.code).where(AreaRow.parent_code.is_not(None))
                                  .order_by(AreaRow.code).limit(500)))
        provinces = set(c.scalars(select(AreaRow.parent_code).where(AreaRow.code.in_(communes))))
        c.execute(insert(DeviceRow), [
            dict(id=f"bench-{i:05d}", name=f"Cụm loa {i}", name_folded=f"cum loa {i}", commune_code=communes[i % 500],
                 connection="mqtt", mqtt_password_hash="-", disabled=False, test_device=False,
                 created_at=now - timedelta(days=1), online=i % offline_every != 0, last_seen=now - timedelta(hours=1),
                 clock_offset_ms=5, storage_free_bytes=1 << 30) for i in range(n)])
        c.execute(insert(DeviceHealthRow), [
            dict(device_id=f"bench-{i:05d}", at=now, temperature_c=40, supply_mv=12_000, speaker_line="ok",
                 amplifier="fault" if i % fault_every == 1 else "ok", power="on") for i in range(n)])
        c.execute(insert(AlertThresholdRow), [dict(area_code=p, overrides={"settle_s": 0}, updated_by="bench",
                                                   updated_at=now) for p in provinces])
    return sum(1 for i in range(n) if i % offline_every == 0) + sum(1 for i in range(n) if i % fault_every == 1)


def run(url: str, args: argparse.Namespace) -> None:
    engine = make_engine(url)
    upgrade(engine)
    factory = make_session_factory(engine)
    clock = FixedClock(datetime.now(UTC).replace(microsecond=0))
    seed_areas(SqlUnitOfWork(factory), clock, official_areas(), Actor(None))
    expected = seed(engine, args.devices, round(1 / args.offline_share), round(1 / args.fault_share), clock.at)
    print(f"bench_alert_pass: {args.devices} devices, {expected} alerts to stand, {url.split(':')[0]}", flush=True)
    seconds = []
    for n in range(args.passes):
        report = alerts.evaluate(lambda: SqlUnitOfWork(factory), clock, ZoneInfo("Asia/Ho_Chi_Minh"))
        seconds.append(report.seconds)
        print(f"  pass {n}: {report.findings} findings, {report.opened} opened, {report.seconds:.3f} s", flush=True)
        clock.at += timedelta(seconds=10)
    standing = seconds[1:]
    print(f"opening pass {seconds[0]:.3f} s; standing passes median {statistics.median(standing):.3f} s, "
          f"longest {max(standing):.3f} s (goal: under 1 s)")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--offline-share", type=float, default=0.1)
    parser.add_argument("--fault-share", type=float, default=0.2)
    parser.add_argument("--passes", type=int, default=6)
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--postgres", action="store_true", help="a private PostgreSQL server (tests/support)")
    where.add_argument("--database-url")
    args = parser.parse_args()
    with ExitStack() as stack:
        if args.postgres:
            from tests.support.postgres import postgres_instance

            url = stack.enter_context(postgres_instance()).url
        else:
            work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-alert-pass-")))
            url = args.database_url or f"sqlite:///{work / 'loaxa.db'}"
        run(url, args)


if __name__ == "__main__":
    main()
