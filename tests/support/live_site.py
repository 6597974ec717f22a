"""A whole LoaXa on loopback for the browser journeys: a private mosquitto with the devices' accounts, the real app
with its runtime (gateway, delivery and compile timers) served by uvicorn in a thread, and simulated controllers
that download the audio from that app and play it. What the browser does there reaches real loudspeakers' stand-ins.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from broadcast.bootstrap import Container
from broadcast.runtime import Runtime
from broadcast.web.app import create_app
from device_sim.device import DeviceSpec as SimSpec
from tests.support.app import make_container
from tests.support.broker import Broker, free_port, start_broker
from tests.support.fleet import FleetThread, running_fleet, wait_for
from tests.support.served import ServedApi


@dataclass
class LiveSite:
    base: str
    container: Container  # the served app's own: reads see what the pages wrote
    runtime: Runtime
    broker: Broker
    fleet: FleetThread
    devices: tuple[str, ...]  # the simulated ones

    def acknowledged(self, device_id: str) -> int | None:
        with self.container.uow() as uow:
            return uow.devices.state(device_id).acknowledged_version


@contextmanager
def live_site(root: Path, seed: Callable[[Container], Mapping[str, str]], *, flush_every_s: float = 1.0,
              compile_every_s: float = 10.0) -> Iterator[LiveSite]:
    """`seed(container)` fills a fresh SQLite database and returns {device id: MQTT password} of the devices to
    simulate. The broker starts with those accounts, then the app and its runtime, then the devices; the site is
    handed over once every device has acknowledged its first schedule (so it listens on its zones' topics)."""
    database_url = f"sqlite:///{root / 'loaxa.db'}"
    bootstrap = make_container(root, database_url)
    try:
        passwords = dict(seed(bootstrap))
    finally:
        bootstrap.close()
    broker = start_broker(root / "broker", devices=list(passwords.items()), persistence=True)
    port = free_port()
    container = make_container(root, database_url, public_url=f"http://127.0.0.1:{port}",
                               mqtt_url=broker.server_url)
    # Approvals and emergencies wake their jobs at once; the intervals are only a safety net.
    runtime = Runtime(container, flush_every_s=flush_every_s, compile_every_s=compile_every_s)
    specs = [SimSpec(device_id=d, password=pw) for d, pw in passwords.items()]
    try:
        with ServedApi(create_app(container, runtime), port) as api, \
                running_fleet(broker.url, specs, container.signer.public_key_b64) as fleet:
            assert runtime.gateway.wait_connected(15), "the server did not connect to mosquitto"
            site = LiveSite(api.base, container, runtime, broker, fleet, tuple(passwords))
            wait_for(lambda: all((site.acknowledged(d) or 0) >= 1 for d in site.devices), 60, poll_s=0.2,
                     what="every simulated device acknowledged its first schedule")
            yield site
    finally:
        broker.kill()
        container.close()
