"""Fleet health and alerts at scale, through the real broker: health stored, rules evaluated, faults mailed.

Run: .venv/bin/python benchmarks/bench_alerts.py [--devices 10000] [--fault-share 0.01] [--database-url URL]
     (needs aiosmtpd, from the test extras: a real SMTP server receives the alert e-mails)

On a private mosquitto with one account per registered device, the server Runtime (gateway, inbox, alert and
notification jobs at their default periods) in this process and the simulated fleet in a child process
(device_sim, spawn). Printed:

  health stored   from the fleet connected until every device's health is in the database; then, over the next
                  minute of heartbeats (each device once a minute), the oldest stored health at the end (must be
                  younger than a minute and a bit: the inbox keeps up) and the deepest inbox queue seen.
  rule pass       one evaluation of every rule over the whole fleet (median and longest of 5), beside the floor:
                  one bare read of the facts the rules need (the same statement, no rules, no writes).
                  Goal: under 1 s.
  fault to mail   amplifier faults injected into --fault-share of the fleet; the time until each is an open
                  alert, and until the responsible officer's e-mail for each is received by the SMTP server.
                  Goal: within 60 s.
"""
from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_fanout import HANOI, PER_COMMUNE, Child, _serve_control  # noqa: E402

CONNECT_TIMEOUT_S = 900.0


def fleet_child(conn: Any, broker_url: str, creds: list[tuple[str, str]], public_key: str) -> None:
    from device_sim.device import DeviceSpec
    from device_sim.fleet import Fleet

    async def main() -> None:
        fleet = Fleet(broker_url, [DeviceSpec(d, pw) for d, pw in creds], public_key, max_pending_connects=64)
        t0 = time.monotonic()
        await fleet.start()
        await fleet.wait_connected(CONNECT_TIMEOUT_S)
        conn.send(("connected", time.monotonic() - t0))
        done = asyncio.Event()
        handlers = {"stats": fleet.stats, "fault": lambda: fleet.inject_fault("amplifier_fault", SHARE, seed=7)}
        _serve_control(asyncio.get_running_loop(), conn, handlers, done)
        await done.wait()
        await fleet.stop(timeout=30)
        conn.send("stopped")

    asyncio.run(main())


SHARE = 0.01


def wait_until(predicate: Any, timeout: float, what: str, poll_s: float = 0.5) -> float:
    t0 = time.monotonic()
    while not predicate():
        if time.monotonic() - t0 > timeout:
            raise TimeoutError(what)
        time.sleep(poll_s)
    return time.monotonic() - t0


def main() -> None:
    global SHARE
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--fault-share", type=float, default=0.01)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    SHARE = args.fault_share

    from aiosmtpd.controller import Controller
    from sqlalchemy import func, select

    from broadcast.bootstrap import SystemClock, build_container
    from broadcast.domain.alerts import AlertQuery
    from broadcast.domain.areas import AreaLevel
    from broadcast.persistence.migrate import upgrade
    from broadcast.persistence.models_health import DeviceHealthRow
    from broadcast.protocol.broker_config import write_broker_config
    from broadcast.runtime import Runtime
    from broadcast.services.area_catalog import official_areas
    from broadcast.services.areas import seed_areas
    from broadcast.services.context import Actor
    from broadcast.services.devices import DeviceSpec, register_device
    from broadcast.services.users import create_user, set_email
    from broadcast.settings import load_settings
    from tests.support.broker import SERVER_USER, Broker, free_port, mosquitto_binary

    class Mailbox:
        def __init__(self) -> None:
            self.count = 0

        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd
            self.count += 1
            return "250 OK"

    mailbox = Mailbox()
    smtp_port = free_port()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    n = args.devices
    work = Path(tempfile.mkdtemp(prefix="bench-alerts-"))
    url = args.database_url or f"sqlite:///{work / 'loaxa.db'}"
    server_password = secrets.token_urlsafe(16)
    port, server_port = free_port(), free_port()
    settings = load_settings(data_dir=work / "data", database_url=url, secret_key=secrets.token_urlsafe(40),
                             mqtt_url=f"mqtt://{SERVER_USER}:{server_password}@127.0.0.1:{server_port}",
                             smtp_url=f"smtp://127.0.0.1:{smtp_port}", password_hash_memory_kib=8192)
    container = build_container(settings)
    upgrade(container.engine)
    seed_areas(container.uow(), SystemClock(), official_areas(), Actor(None))
    with container.uow() as uow:
        communes = [a.code for a in uow.areas.list(level=AreaLevel.COMMUNE, parent_code=HANOI, limit=10_000)]
    create_user(container.uow(), container.clock, container.hasher, Actor(None), username="quan-tri-ha-noi",
                password="Bench-Alerts-2026!x", role="admin", area_code=HANOI)
    set_email(container.uow(), container.clock, Actor(None), username="quan-tri-ha-noi", email="qt@hanoi.vn")
    print(f"bench_alerts: {n} devices, {settings.database_url.split(':')[0]}; registering...", flush=True)
    creds = []
    for i in range(n):
        reg = register_device(container.uow(), container.clock, Actor(None),
                              DeviceSpec(id=f"a-{i:05d}", name=f"Cụm loa {i}",
                                         area_code=communes[(i // PER_COMMUNE) % len(communes)]))
        creds.append((reg.device.id, reg.mqtt_password))
    with container.uow() as uow:
        hashed = uow.devices.broker_accounts()
    conf = write_broker_config(work / "broker", settings.topic_prefix, SERVER_USER, server_password, [], "127.0.0.1",
                               port, None, run_as_user="root", hashed_devices=hashed, server_port=server_port)
    broker = Broker("127.0.0.1", port, conf, work / "broker", mosquitto_binary(), settings.topic_prefix,
                    SERVER_USER, server_password, server_port=server_port)
    broker.start()
    runtime = Runtime(container, compile_every_s=None)
    depth = [0]
    plain_handle = runtime.inbox.handle

    def watched(batch: Any) -> None:
        depth[0] = max(depth[0], int(container.metrics.device_inbox_queue_depth._value.get()))  # noqa: SLF001
        plain_handle(batch)

    runtime.inbox.handle = watched  # type: ignore[method-assign]
    runtime.start()
    child = Child(fleet_child, f"mqtt://127.0.0.1:{port}", creds, container.signer.public_key_b64)
    try:
        print(f"  fleet connected in {child.wait_connected():.1f} s", flush=True)
        t0 = time.monotonic()

        def stored() -> int:
            with container.engine.connect() as connection:
                return connection.scalar(select(func.count()).select_from(DeviceHealthRow)) or 0

        print(f"  health of every device stored: {wait_until(lambda: stored() >= n, 300, 'health') :.1f} s "
              f"after the fleet connected ({time.monotonic() - t0:.1f} s)", flush=True)
        time.sleep(70)  # a minute of heartbeats
        with container.engine.connect() as connection:
            oldest = connection.scalar(select(func.min(DeviceHealthRow.at)))
        age = (container.clock.now() - oldest.replace(tzinfo=container.clock.now().tzinfo)).total_seconds()
        print(f"  after a minute of heartbeats: oldest stored health {age:.0f} s old "
              f"(goal: under 75 s); deepest inbox queue {depth[0]} messages", flush=True)

        passes = []
        for _ in range(5):
            started = time.perf_counter()
            runtime.evaluate_alerts()
            passes.append(time.perf_counter() - started)
        floors = []
        for _ in range(5):
            started = time.perf_counter()
            with container.uow() as uow:
                uow.alerts.device_facts(container.clock.now())
            floors.append(time.perf_counter() - started)
        p, f = statistics.median(passes), statistics.median(floors)
        print(f"  rule pass over {n} devices: median {p:.3f} s, longest {max(passes):.3f} s; floor (one read of "
              f"the facts) {f:.3f} s; ratio {p / f:.2f}x; goal under 1 s: {'yes' if max(passes) < 1 else 'NO'}",
              flush=True)

        expected = max(1, round(n * SHARE))
        before = mailbox.count
        faulty = child.ask("fault")
        t0 = time.monotonic()

        def open_alerts() -> int:
            with container.uow() as uow:
                return len([a for a in uow.alerts.list(AlertQuery(state="open", cause="amplifier_fault",
                                                                  limit=100_000))])

        opened = wait_until(lambda: open_alerts() >= len(faulty), 300, "alerts opened", 0.2)
        mailed = wait_until(lambda: mailbox.count - before >= expected, 300, "mails received", 0.2) + opened
        print(f"  fault on {len(faulty)} devices ({SHARE:.0%}): open alerts after {opened:.1f} s, every e-mail "
              f"received after {mailed:.1f} s; goal within 60 s: {'yes' if mailed <= 60 else 'NO'}", flush=True)
    finally:
        child.stop()
        runtime.stop()
        broker.stop()
        smtp.stop()
        container.close()


if __name__ == "__main__":
    main()
