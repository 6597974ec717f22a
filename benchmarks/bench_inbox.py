"""The device inbox alone: CPU per emergency fan-out's worth of device messages, without broker or simulator.

Run: .venv/bin/python benchmarks/bench_inbox.py [--devices 10000] [--repeat K] [--database-url URL | --postgres]
                                                [--profile PATH]

bench_fanout.py times a whole emergency play_now, broker and fleet included; on a shared 2-core VM its wall times
vary by +-40%, too much to tell a 10% cheaper inbox apart. This one feeds the server's own DeliveryInbox (as
broadcast/runtime.py builds it: play log hook, health buckets) what 10,000 devices send back for that command,
in the gateway's batches (MAX_BATCH), on this thread, and counts CPU seconds.

Setup (untimed): a database (SQLite in a temporary directory, or --postgres: a private server started with the
tests' own fixture, or --database-url), the official areas, N devices registered through the real use case, 100
per commune of Hà Nội (bench_fanout.py's layout), each then online with a first status and health reading stored
through the inbox (as a running fleet is; this also warms the statement caches). Each run stages a new emergency
play_now on the communes' zones (stage_command, as bench_fanout.py does) and synthesizes each device's answer:
`received`, `ready` and `playing` acks and a status with health (device_sim's health model), built with the
protocol's builders, encoded, and classified by the gateway's own `classify` into the typed values the gateway
hands on. Arrival order is seeded and interleaved across devices: each hears the command within 0.3 s, is ready
0.3-1.0 s later (media download), plays at once and reports its status right after.

Timed: DeliveryInbox.handle over the 4N messages in the gateway's batches. Reported: wall time, this thread's CPU
(time.thread_time), PostgreSQL's CPU (the inbox's backends, and the whole server: postmaster, children and reaped
children, read from /proc, when the server runs on this machine), per-batch median and p95, and messages per CPU
second. Afterwards the database must hold exactly N deliveries at `playing`, so a no-op cannot pass for fast.

--repeat K stages K commands on the same fleet and prints medians; --profile PATH writes cProfile statistics of
the timed part (all runs) to PATH.cumulative.txt and PATH.tottime.txt (and the raw PATH.prof): for where the time
goes only, as the profiler about doubles the CPU. Run 1 is the first command on a database whose planner
statistics have not seen a command's acks yet, as an emergency on a fresh installation: it may differ from the
next runs (docs/fanout.md).
"""
from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import random
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_fanout import HANOI, PER_COMMUNE, cpu_seconds, prepare_database  # noqa: E402

from broadcast import protocol as p  # noqa: E402
from broadcast.devices.gateway import MAX_BATCH as BATCH  # noqa: E402  (what the gateway's worker hands on at most)

SEED = 20_240_915
FAKE_SHA256 = "a" * 64


@dataclass
class Fleet:
    container: Any
    devices: list[str]
    zones: list[str]
    health: dict[str, Any]  # device_id -> device_sim HealthModel


@dataclass
class Run:
    wall_s: float
    cpu_s: float
    pg_backends_s: float | None
    pg_server_s: float | None
    batches_s: list[float]
    messages: int


def build_fleet(url: str, n: int, work: Path) -> Fleet:
    from broadcast.bootstrap import build_container
    from broadcast.domain.areas import AreaLevel
    from broadcast.services.context import Actor
    from broadcast.services.devices import DeviceSpec, register_device
    from broadcast.settings import load_settings
    from device_sim.health import HealthModel

    prepare_database(url)
    settings = load_settings(data_dir=work / "data", database_url=url, secret_key=secrets.token_urlsafe(40),
                             mqtt_url="mqtt://server:unused@127.0.0.1:1")
    container = build_container(settings)
    with container.uow() as uow:
        communes = [a.code for a in uow.areas.list(level=AreaLevel.COMMUNE, parent_code=HANOI, limit=10_000)]
    run_tag = secrets.token_hex(2)  # a shared --database-url can take several runs
    rng = random.Random(SEED)
    devices, zones, health = [], set(), {}
    for i in range(n):
        commune = communes[(i // PER_COMMUNE) % len(communes)]
        device_id = f"i{run_tag}-{i:05d}"
        register_device(container.uow(), container.clock, Actor(None),
                        DeviceSpec(id=device_id, name=f"Cụm loa {i}", area_code=commune))
        devices.append(device_id)
        zones.add(f"{HANOI}-{commune}")
        health[device_id] = HealthModel(rng, booted_at=0.0)
    return Fleet(container, devices, sorted(zones), health)


def status_message(fleet: Fleet, device_id: str, at: datetime, playing: p.Playing | None) -> tuple[str, bytes]:
    doc = p.build_status(device_id, at=at, schedule_version=None, volume=100, playing=playing,
                         firmware="loaxa-sim-1.0", clock_offset_ms=0, storage_free_bytes=8 * 1024 ** 3,
                         capabilities=("audio", "relay", "health", "power", "reboot"),
                         health=fleet.health[device_id].reading(3600.0))
    return p.Topics(fleet.container.settings.topic_prefix).status(device_id), p.encode(doc)


def inbound(fleet: Fleet, timed: list[tuple[float, str, bytes]], base: datetime) -> list[Any]:
    """The gateway's typed messages for (seconds after base, topic, payload), in arrival order."""
    from broadcast.devices.gateway import classify

    prefix = fleet.container.settings.topic_prefix
    out = []
    for offset, topic, payload in sorted(timed, key=lambda m: m[0]):
        message = classify(prefix, topic, payload, received_at=base + timedelta(seconds=offset))
        if not hasattr(message, "value"):
            raise RuntimeError(f"the gateway would drop {topic}: {message}")
        out.append(message)
    return out


def boot_messages(fleet: Fleet, base: datetime) -> list[Any]:
    """Each device's first status (online, with health), spread over a minute as a fleet's heartbeats are."""
    rng = random.Random(SEED + 1)
    timed = []
    for device_id in fleet.devices:
        offset = rng.uniform(0.0, 60.0)
        topic, payload = status_message(fleet, device_id, base + timedelta(seconds=offset), None)
        timed.append((offset, topic, payload))
    return inbound(fleet, timed, base)


def play_now_messages(fleet: Fleet, cmd_id: str, base: datetime, seed: int) -> list[Any]:
    """What each device sends back for the command: received, ready, playing, then its status."""
    rng = random.Random(seed)
    topics = p.Topics(fleet.container.settings.topic_prefix)
    ref = p.command_ref(cmd_id)
    timed = []
    for device_id in fleet.devices:
        heard = rng.uniform(0.0, 0.3)
        ready = heard + rng.uniform(0.3, 1.0)
        playing = ready + rng.uniform(0.0, 0.02)
        started = base + timedelta(seconds=playing)
        for offset, stage, extra in ((heard, "received", {}), (ready, "ready", {}),
                                     (playing, "playing", {"started_at": started})):
            doc = p.build_ack(device_id, ref, stage, at=base + timedelta(seconds=offset), **extra)  # type: ignore[arg-type]
            timed.append((offset, topics.ack(device_id), p.encode(doc)))
        topic, payload = status_message(fleet, device_id, base + timedelta(seconds=playing + 0.01),
                                        {"item_id": None, "cmd_id": cmd_id, "since": p.format_time(started)})
        timed.append((playing + 0.01, topic, payload))
    return inbound(fleet, timed, base)


def stage_play_now(fleet: Fleet) -> str:
    from broadcast.services.delivery.commands import CommandRequest, stage_command

    c = fleet.container
    media = p.build_media(FAKE_SHA256, f"http://127.0.0.1:1/media/{FAKE_SHA256}.mp3", 80_000, 30_000)
    with c.uow() as uow:
        cmd_id = stage_command(uow, c.clock, c.signer, CommandRequest(
            action="play_now", zones=fleet.zones, tracked_devices=list(fleet.devices), priority="emergency",
            volume=100, media=[media], ttl=timedelta(minutes=5)), created_by="bench_inbox")
        uow.commit()
    return cmd_id


# ------------------------------------------------------------------------------------------------ PostgreSQL CPU

class PostgresCpu:
    """CPU seconds of the inbox's backends (pg_backend_pid() of each pooled connection) and of the whole server
    (postmaster + live children + reaped children), from /proc; None when the server is not on this machine."""

    def __init__(self, engine: Any) -> None:
        from sqlalchemy import event, text

        self.backends: set[int] = set()

        def remember(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("SELECT pg_backend_pid()")
            self.backends.add(int(cursor.fetchone()[0]))
            cursor.close()

        event.listen(engine, "connect", remember)
        engine.pool.dispose()  # connections made before the listener: made again, and seen
        with engine.connect() as c:
            data_dir = Path(c.execute(text("SHOW data_directory")).scalar_one())
        try:
            self.postmaster: int | None = int((data_dir / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            self.postmaster = None

    def backends_cpu(self) -> float | None:
        values = [cpu_seconds(pid) for pid in self.backends]
        return sum(values) if values and all(v == v for v in values) else None

    def server_cpu(self) -> float | None:
        if self.postmaster is None or not Path(f"/proc/{self.postmaster}").exists():
            return None
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0.0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            pid, ppid = int(stat.parent.name), int(fields[1])
            if pid == self.postmaster:
                total += (int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])) / ticks
            elif ppid == self.postmaster:
                total += (int(fields[11]) + int(fields[12])) / ticks
        return total


# ------------------------------------------------------------------------------------------------ the timed part

def batches(messages: list[Any]) -> Iterator[list[Any]]:
    for i in range(0, len(messages), BATCH):
        yield messages[i:i + BATCH]


def feed(handle: Callable[[list[Any]], None], messages: list[Any], pg: PostgresCpu | None,
         profiler: cProfile.Profile | None) -> Run:
    chunks = list(batches(messages))
    pg_b0 = pg.backends_cpu() if pg else None
    pg_s0 = pg.server_cpu() if pg else None
    per_batch = []
    if profiler is not None:
        profiler.enable()
    cpu0, wall0 = time.thread_time(), time.perf_counter()
    for chunk in chunks:
        t = time.perf_counter()
        handle(chunk)
        per_batch.append(time.perf_counter() - t)
    wall, cpu = time.perf_counter() - wall0, time.thread_time() - cpu0
    if profiler is not None:
        profiler.disable()
    pg_b1 = pg.backends_cpu() if pg else None
    pg_s1 = pg.server_cpu() if pg else None
    return Run(wall, cpu, None if pg_b0 is None or pg_b1 is None else pg_b1 - pg_b0,
               None if pg_s0 is None or pg_s1 is None else pg_s1 - pg_s0, per_batch, len(messages))


def playing_deliveries(container: Any, cmd_id: str) -> int:
    from sqlalchemy import text

    with container.engine.connect() as c:
        return int(c.execute(text("SELECT count(*) FROM command_deliveries WHERE cmd_id = :c AND stage = 'playing'"),
                             {"c": cmd_id}).scalar_one())


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def describe(run: Run) -> str:
    pg = ""
    if run.pg_backends_s is not None:
        pg += f", PostgreSQL backends CPU {run.pg_backends_s:.2f} s"
    if run.pg_server_s is not None:
        pg += f", PostgreSQL server CPU {run.pg_server_s:.2f} s"
    return (f"{run.messages} messages: wall {run.wall_s:.2f} s, inbox thread CPU {run.cpu_s:.2f} s{pg}, "
            f"batch median {statistics.median(run.batches_s) * 1000:.1f} ms, "
            f"p95 {percentile(run.batches_s, 0.95) * 1000:.1f} ms, "
            f"{run.messages / run.cpu_s:,.0f} messages per inbox CPU second")


def summarize(runs: list[Run]) -> None:
    def median(get: Callable[[Run], float | None]) -> str:
        values = [v for r in runs if (v := get(r)) is not None]
        if not values:
            return "-"
        return f"{statistics.median(values):.2f} (runs: {', '.join(f'{v:.2f}' for v in sorted(values))})"

    print(f"\n=== median of {len(runs)} runs ===")
    print(f"  wall (s)                     {median(lambda r: r.wall_s)}")
    print(f"  inbox thread CPU (s)         {median(lambda r: r.cpu_s)}")
    print(f"  PostgreSQL backends CPU (s)  {median(lambda r: r.pg_backends_s)}")
    print(f"  PostgreSQL server CPU (s)    {median(lambda r: r.pg_server_s)}")
    print(f"  batch median (ms)            {median(lambda r: statistics.median(r.batches_s) * 1000)}")
    print(f"  batch p95 (ms)               {median(lambda r: percentile(r.batches_s, 0.95) * 1000)}")
    print(f"  messages per CPU second      {median(lambda r: r.messages / r.cpu_s)}")


def write_profile(profiler: cProfile.Profile, path: str) -> None:
    profiler.dump_stats(f"{path}.prof")
    for key in ("cumulative", "tottime"):
        with open(f"{path}.{key}.txt", "w") as out:
            pstats.Stats(profiler, stream=out).sort_stats(key).print_stats(80)
    print(f"profile: {path}.cumulative.txt, {path}.tottime.txt, {path}.prof")


def run(args: argparse.Namespace, url: str) -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-inbox-data-"))  # the server's data directory (signing key)
    try:
        t = time.perf_counter()
        fleet = build_fleet(url, args.devices, work)
        print(f"setup: {args.devices} devices in {len(fleet.zones)} communes registered in "
              f"{time.perf_counter() - t:.1f} s")
        measure(args, fleet)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def measure(args: argparse.Namespace, fleet: Fleet) -> None:
    from broadcast.runtime import SERVER_GC_THRESHOLD, device_inbox
    from mqtt_io.gc_tuning import settle_heap

    c = fleet.container
    pg = PostgresCpu(c.engine) if c.engine.dialect.name == "postgresql" else None
    inbox = device_inbox(c)
    boot = boot_messages(fleet, c.clock.now() - timedelta(minutes=2))
    for chunk in batches(boot):
        inbox.handle(chunk)
    settle_heap(SERVER_GC_THRESHOLD)  # as the running server does (broadcast/runtime.py)
    profiler = cProfile.Profile() if args.profile else None
    runs = []
    try:
        for k in range(max(1, args.repeat)):
            cmd_id = stage_play_now(fleet)
            messages = play_now_messages(fleet, cmd_id, c.clock.now(), SEED + 2 + k)
            result = feed(inbox.handle, messages, pg, profiler)
            stored = playing_deliveries(c, cmd_id)
            if stored != args.devices:
                raise SystemExit(f"the database holds {stored} `playing` deliveries, not {args.devices}")
            print(f"run {k + 1}: {describe(result)}")
            runs.append(result)
    finally:
        c.close()
    if len(runs) > 1:
        summarize(runs)
    if profiler is not None:
        write_profile(profiler, args.profile)
        print("note: figures taken under cProfile, which about doubles the CPU; compare runs without --profile")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=1, help="commands fed to the same fleet; medians at the end")
    parser.add_argument("--database-url", default="", help="default: SQLite in a temporary directory")
    parser.add_argument("--postgres", action="store_true",
                        help="start a private PostgreSQL server for the run (as the tests do) instead of SQLite")
    parser.add_argument("--profile", default="", help="cProfile the timed part: PATH.cumulative.txt, PATH.tottime.txt")
    args = parser.parse_args()
    engine = "PostgreSQL" if args.postgres or args.database_url.startswith("postgres") else "SQLite"
    print(f"bench_inbox: {args.devices} devices, {engine}, batches of {BATCH}, {os.cpu_count()} CPUs, "
          f"load {os.getloadavg()[0]:.1f}")
    if args.database_url:
        run(args, args.database_url)
    elif args.postgres:
        from tests.support.postgres import postgres_instance

        with postgres_instance() as instance:
            run(args, instance.url)
    else:
        work = Path(tempfile.mkdtemp(prefix="bench-inbox-"))
        try:
            run(args, f"sqlite:///{work / 'loaxa.db'}")
        finally:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
