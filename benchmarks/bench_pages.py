"""Server time of every web page with 10,000 devices and a year of play log, against the app's floor.

Run: .venv/bin/python benchmarks/bench_pages.py [--devices 10000] [--days 365] [--plays-per-day 1]
                                                [--requests 60] [--database-url URL]

World: the communes of one province (Ninh Bình by default) share the devices evenly; every device has one play-log
row per day for a year (3.65 million rows at the defaults: the province's proof of play), some of them failed or
missed; a handful of approved schedules; one account per role at the province. Seeding goes straight into the
tables (bulk inserts; the services would hash 10,000 broker passwords first) and takes a minute or two.

Then, in this process through the ASGI app (no network, so the figure is the server's own work): every page the
menu links, and the detail pages found from the data, is fetched --requests times (files 5 times) by a signed-in
province admin after a warm-up, the heap settled as `loaxa serve` settles it. Printed per page: median and 95th
percentile (ms), the compressed HTML size, and the ratio of the p95 to the reference, GET /healthz through the same
app and client (the floor: routing, middleware, session-less).
Goal (issue #13): every page under 100 ms at the 95th percentile.
"""
from __future__ import annotations

import argparse
import gzip
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import insert, select  # noqa: E402

from broadcast.bootstrap import build_container  # noqa: E402
from broadcast.persistence.maintenance import refresh_planner_statistics  # noqa: E402
from broadcast.persistence.migrate import upgrade  # noqa: E402
from broadcast.persistence.models import AreaRow, DeviceRow, ProgrammeRow, ScheduleRow  # noqa: E402
from broadcast.runtime import SERVER_GC_THRESHOLD  # noqa: E402
from broadcast.services.area_catalog import official_areas  # noqa: E402
from broadcast.services.areas import seed_areas  # noqa: E402
from broadcast.services.context import Actor  # noqa: E402
from broadcast.services.reports import aggregates  # noqa: E402
from broadcast.services.users import create_user  # noqa: E402
from broadcast.settings import load_settings  # noqa: E402
from broadcast.web.app import create_app  # noqa: E402
from broadcast.web.pages import page_paths  # noqa: E402
from mqtt_io.gc_tuning import settle_heap  # noqa: E402

PROVINCE = "37"
PASSWORD = "Bench-Trang-2026!x"
CHUNK = 20_000
FILE_REQUESTS = 5
OUTCOMES = ("played",) * 17 + ("missed", "failed", "preempted")


def seed(container, *, devices: int, days: int, plays_per_day: int) -> tuple[list[str], list[str]]:
    upgrade(container.engine)
    seed_areas(container.uow(), container.clock, official_areas(), Actor(None))
    with container.engine.connect() as connection:
        communes = list(connection.scalars(select(AreaRow.code).where(AreaRow.parent_code == PROVINCE)
                                           .order_by(AreaRow.code)))
    create_user(container.uow(), container.clock, container.hasher, Actor(None), username="quan-tri",
                password=PASSWORD, role="admin", area_code=PROVINCE)
    now = container.clock.now()
    rng = random.Random(7)
    ids = [f"nb-{n:05d}" for n in range(devices)]
    placed = {device: communes[n % len(communes)] for n, device in enumerate(ids)}
    t0 = time.perf_counter()
    with container.engine.begin() as connection:
        for start in range(0, devices, CHUNK):
            connection.execute(insert(DeviceRow), [
                {"id": d, "name": f"Cụm loa số {n}", "commune_code": placed[d], "connection": "cellular",
                 "mqtt_password_hash": "$7$bench", "created_at": now, "online": rng.random() < 0.93,
                 "last_seen": now - timedelta(seconds=rng.randrange(3600))}
                for n, d in enumerate(ids[start:start + CHUNK], start)])
    print(f"  {devices} devices in {len(communes)} communes: {time.perf_counter() - t0:.1f} s", flush=True)
    schedules(container, communes, now)
    t0 = time.perf_counter()
    rows = 0
    day0 = (now - timedelta(days=days)).replace(hour=0, minute=0, second=0, microsecond=0)
    # Straight through the driver (executemany of tuples): the ORM's per-row dicts would make this part minutes.
    columns = ("device_id", "commune_code", "item_id", "schedule_id", "programme_id", "title", "priority",
               "planned_start", "planned_end", "started_at", "ended_at", "outcome", "reason", "recorded_at")
    mark = "?" if container.engine.dialect.paramstyle == "qmark" else "%s"
    sql = f"INSERT INTO play_log ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})"
    if container.engine.dialect.name == "sqlite":  # UTC text in SQLAlchemy's own format there (UtcDateTime)
        def stamp(t: datetime) -> object:
            return t.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    else:
        def stamp(t: datetime) -> object:
            return t
    batch: list[tuple] = []
    with container.engine.begin() as connection:
        for day in range(days):
            for slot in range(plays_per_day):
                planned = day0 + timedelta(days=day, hours=6 + 5 * slot)
                start, end, recorded = stamp(planned), stamp(planned + timedelta(minutes=10)), \
                    stamp(planned + timedelta(minutes=11))
                for device in ids:
                    outcome = OUTCOMES[rng.randrange(len(OUTCOMES))]
                    played = outcome in ("played", "preempted")
                    batch.append((device, placed[device], f"occ-{day}-{slot}", 1 + slot, 1 + slot,
                                  f"Bản tin pháp luật số {slot}", "normal", start, end, start if played else None,
                                  end if played else None, outcome,
                                  None if played or outcome == "missed" else "download_failed", recorded))
                    if len(batch) >= CHUNK:
                        connection.exec_driver_sql(sql, batch)
                        rows += len(batch)
                        batch.clear()
        if batch:
            connection.exec_driver_sql(sql, batch)
            rows += len(batch)
    print(f"  {rows:,} play-log rows over {days} days: {time.perf_counter() - t0:.1f} s", flush=True)
    refresh_planner_statistics(container.engine)  # what a running scheduler does at start and nightly
    t0 = time.perf_counter()  # and its nightly figures per commune and day, which the reports read
    done = aggregates.nightly(container.uow, container.clock, ZoneInfo(container.settings.timezone),
                              retention_days=max(container.settings.retention_days, days + 1))
    print(f"  daily figures of {len(done)} days: {time.perf_counter() - t0:.1f} s", flush=True)
    return ids, communes


def schedules(container, communes: list[str], now: datetime) -> None:
    """A relay programme and twelve schedules of it: four approved, eight waiting in the approvers' inbox (the
    province's and seven communes'), so the inbox and calendar pages have a schedule's reach to count."""
    start = (now + timedelta(days=1)).strftime("%Y-%m-%dT06:00:00")
    with container.engine.begin() as connection:
        programme = connection.execute(insert(ProgrammeRow).returning(ProgrammeRow.id), [{
            "title": "Tiếp sóng Đài Tiếng nói Việt Nam", "title_folded": "tiep song dai tieng noi viet nam",
            "topic": "other", "language": "vi", "source": "province", "priority": "normal",
            "stream_url": "http://127.0.0.1:9/vov1.mp3", "stream_duration_ms": 900_000, "area_code": PROVINCE,
            "created_by": "quan-tri", "created_at": now}]).scalar_one()
        connection.execute(insert(ScheduleRow), [{
            "programme_id": programme, "status": "approved" if n < 4 else "submitted",
            "targets": {"areas": [PROVINCE if n in (0, 4) else communes[n % len(communes)]]},
            "start_local": start, "rrule": "FREQ=DAILY;COUNT=30", "volume": 80, "area_code": PROVINCE,
            "author": "can-bo", "approver": "lanh-dao" if n < 4 else None, "created_at": now, "updated_at": now,
            "submitted_at": now - timedelta(minutes=n), "decided_at": now if n < 4 else None} for n in range(12)])


def timed(client: TestClient, path: str, requests: int) -> tuple[list[float], int, int, float]:
    """Times of `requests` views after a warm-up, the compressed size and status, and the very first view's time
    (cold: what the first officer of the minute waits for where a page keeps something for a minute)."""
    t0 = time.perf_counter()
    client.get(path)
    first = (time.perf_counter() - t0) * 1000
    for _ in range(2):
        client.get(path)
    times, size, status = [], 0, 0
    for _ in range(requests):
        t0 = time.perf_counter()
        response = client.get(path, headers={"Accept-Encoding": "gzip"})
        times.append((time.perf_counter() - t0) * 1000)
        status = response.status_code
        size = len(gzip.compress(response.content))
    return times, size, status, first


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--plays-per-day", type=int, default=1)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-pages-") as tmp:
        root = Path(tmp)
        settings = load_settings(data_dir=root / "data", database_url=args.database_url or
                                 f"sqlite:///{root / 'loaxa.db'}", secret_key="bench-pages-secret-0123456789-abcdef",
                                 password_hash_memory_kib=8192)
        container = build_container(settings)
        print(f"bench_pages: {args.devices} devices, {args.days} days x {args.plays_per_day} plays, "
              f"{settings.database_url.split(':')[0]}", flush=True)
        ids, communes = seed(container, devices=args.devices, days=args.days, plays_per_day=args.plays_per_day)
        app = create_app(container)
        settle_heap(SERVER_GC_THRESHOLD)  # as `loaxa serve` does once the app is built
        with TestClient(app, base_url="http://127.0.0.1") as client:
            page = client.get("/dang-nhap")
            token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
            signed = client.post("/dang-nhap", data={"username": "quan-tri", "password": PASSWORD,
                                                     "csrf_token": token}, follow_redirects=False)
            assert signed.status_code == 303, signed.text
            samples = {"device_id": ids[len(ids) // 2], "code": communes[0], "area_code": communes[0]}
            reference, _size, _status, _first = timed(client, "/healthz", args.requests)
            floor = p95(reference)
            print(f"\n{'page':44} {'first':>8} {'median':>8} {'p95':>8} {'gzip KB':>8} {'p95/floor':>10}")
            print(f"{'GET /healthz (reference)':44} {'':>8} {statistics.median(reference):8.1f} {floor:8.1f} "
                  f"{'':>8} {1.0:10.1f}x")
            worst = 0.0
            for path in page_paths(samples, skip=("/dang-nhap", "/dang-xuat")):
                page = not path.endswith((".csv", ".json", "/tai-ve"))  # files and map data are not pages
                # A year's play-log CSV takes seconds: files are timed a few times, enough for their median.
                times, size, status, first = timed(client, path, args.requests if page else FILE_REQUESTS)
                if page:
                    worst = max(worst, p95(times))
                note = "" if status == 200 else f"  (HTTP {status})"
                print(f"{'GET ' + path:44} {first:8.1f} {statistics.median(times):8.1f} {p95(times):8.1f} "
                      f"{size / 1024:8.1f} {p95(times) / floor:9.1f}x{note}", flush=True)
        container.close()
        print(f"\ngoal: every page p95 < 100 ms: {'yes' if worst < 100 else 'NO'} (slowest {worst:.1f} ms)")
        print(f"at {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")


if __name__ == "__main__":
    main()
