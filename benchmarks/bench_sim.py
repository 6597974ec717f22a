"""The device simulator alone: CPU seconds of the simulated fleet's process per phase, nothing else running.

Run: .venv/bin/python benchmarks/bench_sim.py [--devices 5000] [--items 6] [--repeat K] [--profile PATH]

A private anonymous mosquitto (tests/support/broker.py), the fleet in a child process (spawn), and this process
as the server stand-in: a plain paho client that publishes what the server would, signed with a key made here.
Nobody listens to the devices' acks and statuses; the broker drops them. Phases, each timed from when the fleet
is told to start counting to when the awaited stage count is reached:

  connect    every device connects and subscribes (no schedule yet)
  schedule   one retained signed schedule per device (`--items` items, each with the same tiny MP3 served over
             local HTTP, downloaded once into the fleet's cache), version 1 (devices also subscribe to their zone)
             and version 2 (a plain change); done when every device has acked `ready`
  play_now   one signed emergency play_now per zone topic (100 devices per zone), done when every device plays

The figure is the child's CPU time (time.process_time: every thread of the fleet process), which varies much
less than wall time on a shared machine. The same inputs every run: compare commits by running each one's copy of
this file from its own checkout (the file puts its own root first on sys.path), or the same file against an
older tree with PYTHONPATH-free `--root DIR`. `--profile PATH` writes a cProfile of each phase of the fleet
process to PATH.<phase> (the profiler roughly doubles the CPU figures).
"""
from __future__ import annotations

import argparse
import asyncio
import cProfile
import hashlib
import multiprocessing as mp
import shutil
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any


def _root_from_argv() -> Path:
    if "--root" in sys.argv:
        return Path(sys.argv[sys.argv.index("--root") + 1]).resolve()
    return Path(__file__).resolve().parents[1]


ROOT = _root_from_argv()
sys.path.insert(0, str(ROOT))

from media_http import make_mp3, serve_file  # noqa: E402 - this script's folder: standard library only

PER_ZONE = 100
PHASE_TIMEOUT_S = 300.0


def protocol() -> Any:
    """The protocol module of the tree under test (it moved from broadcast.devices to broadcast.protocol)."""
    try:
        from broadcast import protocol as p

        if hasattr(p, "build_schedule"):
            return p
    except ImportError:  # a tree from before the move: the old place below
        pass
    from broadcast.devices import protocol as old

    return old


# ----------------------------------------------------------------------------------------------------------
# The fleet's process
# ----------------------------------------------------------------------------------------------------------

def fleet_child(conn: Any, root: str, broker_url: str, device_ids: list[str], public_key: str,
                profile_to: str | None) -> None:
    sys.path.insert(0, root)
    from device_sim.device import DeviceSpec
    from device_sim.fleet import Fleet

    async def main() -> None:
        loop = asyncio.get_running_loop()
        fleet = Fleet(broker_url, [DeviceSpec(d) for d in device_ids], public_key, max_pending_connects=64)
        done = asyncio.Event()
        phase: dict[str, Any] = {}

        def start_phase(name: str, stage: str, count: int) -> None:
            phase.update(name=name, stage=stage, goal=fleet.stages[stage] + count, stages=dict(fleet.stages),
                         cpu=time.process_time(), wall=time.monotonic())
            if profile_to:
                phase["profile"] = cProfile.Profile()
                phase["profile"].enable()
            loop.call_later(0.01, check)

        def check() -> None:
            if fleet.stages[phase["stage"]] < phase["goal"]:
                loop.call_later(0.01, check)
                return
            cpu, wall = time.process_time() - phase["cpu"], time.monotonic() - phase["wall"]
            if "profile" in phase:
                prof = phase.pop("profile")
                prof.disable()
                prof.dump_stats(f"{profile_to}.{phase['name']}")
            moved = {k: v - phase["stages"].get(k, 0) for k, v in fleet.stages.items()
                     if v - phase["stages"].get(k, 0)}
            conn.send(("done", phase["name"], cpu, wall, moved))

        def readable() -> None:
            while conn.poll():
                try:
                    request = conn.recv()
                except EOFError:
                    done.set()
                    return
                if request == "stop":
                    done.set()
                    return
                start_phase(*request)
                conn.send("armed")

        loop.add_reader(conn.fileno(), readable)
        cpu, wall = time.process_time(), time.monotonic()
        await fleet.start()
        await fleet.wait_connected(600)
        conn.send(("done", "connect", time.process_time() - cpu, time.monotonic() - wall, {}))
        await done.wait()
        await fleet.stop(timeout=30)
        conn.send("stopped")

    asyncio.run(main())


# ----------------------------------------------------------------------------------------------------------
# The server stand-in
# ----------------------------------------------------------------------------------------------------------

class Publisher:
    def __init__(self, host: str, port: int) -> None:
        import paho.mqtt.client as mqtt

        self._connected = threading.Event()
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-sim-server", protocol=mqtt.MQTTv311)
        c.max_inflight_messages_set(1000)
        c.max_queued_messages_set(0)
        c.on_connect = lambda *_: self._connected.set()
        c.connect(host, port, keepalive=60)
        c.loop_start()
        if not self._connected.wait(30):
            raise TimeoutError("publisher did not connect")
        self.client = c

    def publish_all(self, messages: list[tuple[str, bytes, bool]]) -> None:
        infos = [self.client.publish(topic, payload, qos=1, retain=retain) for topic, payload, retain in messages]
        for info in infos:
            info.wait_for_publish(PHASE_TIMEOUT_S)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def run_once(n: int, items: int, profile_to: str | None) -> dict[str, tuple[float, float]]:
    from tests.support.broker import start_broker

    p = protocol()
    work = Path(tempfile.mkdtemp(prefix=f"bench-sim-{n}-"))
    broker = start_broker(work / "broker")
    mp3 = work / "alert.mp3"
    make_mp3(mp3)
    http_server, media_url = serve_file(mp3)
    media = p.build_media(hashlib.sha256(mp3.read_bytes()).hexdigest(), media_url, mp3.stat().st_size, 30_000)
    key = p.generate_private_key()
    topics = p.Topics(p.DEFAULT_PREFIX)
    device_ids = [f"sim-{i:05d}" for i in range(n)]
    zone_of = {d: f"01-{i // PER_ZONE:05d}" for i, d in enumerate(device_ids)}
    zones = sorted(set(zone_of.values()))

    ctx = mp.get_context("spawn")
    conn, child_conn = ctx.Pipe()
    proc = ctx.Process(target=fleet_child, args=(child_conn, str(ROOT), broker.url, device_ids,
                                                 p.public_key_b64(key), profile_to), daemon=True)
    proc.start()
    publisher = Publisher(broker.host, broker.port)
    figures: dict[str, tuple[float, float]] = {}

    def wait_done() -> None:
        if not conn.poll(PHASE_TIMEOUT_S + 600):
            raise TimeoutError("the fleet did not finish the phase")
        _, name, cpu, wall, moved = conn.recv()
        figures[name] = (cpu, wall)
        print(f"  {name:12} fleet CPU {cpu:6.2f} s   wall {wall:6.2f} s   stages {moved}", flush=True)

    def phase(name: str, stage: str, count: int, messages: list[tuple[str, bytes, bool]]) -> None:
        time.sleep(1.0)  # what the last phase left behind settles first
        conn.send((name, stage, count))
        if conn.recv() != "armed":
            raise RuntimeError("the fleet did not arm the phase")
        publisher.publish_all(messages)
        wait_done()

    try:
        wait_done()  # connect
        now = datetime.now(UTC).replace(microsecond=0)
        start_items = now + timedelta(days=1)

        def schedules(version: int) -> list[tuple[str, bytes, bool]]:
            out = []
            for d in device_ids:
                its = [p.build_item(f"v{version}-{d}-{k}", start_items + timedelta(hours=k),
                                    start_items + timedelta(hours=k, minutes=15), priority="normal", volume=80,
                                    title="Bản tin thời sự xã", media=[media]) for k in range(items)]
                doc = p.build_schedule(d, version, issued_at=now, horizon_end=now + timedelta(days=7),
                                       zones=[zone_of[d]], items=its)
                out.append((topics.schedule(d), p.encode(p.sign(doc, key)), True))
            return out

        phase("schedule_v1", "ready", n, schedules(1))
        phase("schedule_v2", "ready", n, schedules(2))
        commands = []
        for k, zone in enumerate(zones):
            cmd = p.build_command(f"{k:032x}", "play_now", issued_at=now, expires_at=now + timedelta(minutes=5),
                                  priority="emergency", volume=100, media=[media], target={"zone": zone})
            commands.append((topics.zone_command(zone), p.encode(p.sign(cmd, key)), False))
        phase("play_now", "playing", n, commands)
        conn.send("stop")
        conn.poll(60)
    finally:
        publisher.close()
        proc.join(30)
        if proc.is_alive():
            proc.kill()
        http_server.shutdown()
        broker.kill()
        shutil.rmtree(work, ignore_errors=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--devices", type=int, default=5000)
    parser.add_argument("--items", type=int, default=6, help="schedule items per device (each with media)")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--profile", help="write a cProfile of each phase of the fleet process to PATH.<phase>")
    parser.add_argument("--root", help="the source tree to run (default: this file's own)")
    args = parser.parse_args()
    runs = []
    for k in range(args.repeat):
        print(f"run {k + 1}/{args.repeat}: {args.devices} devices, {args.items} items, tree {ROOT}", flush=True)
        runs.append(run_once(args.devices, args.items, args.profile))
    if args.repeat > 1:
        print("median fleet CPU s:", ", ".join(f"{name} {statistics.median(r[name][0] for r in runs):.2f}"
                                               for name in runs[0]))


if __name__ == "__main__":
    main()
