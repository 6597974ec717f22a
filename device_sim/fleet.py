"""A fleet of simulated devices in one process: one asyncio loop, no thread per device.

Connections are paced (a bounded number of CONNECTs awaiting CONNACK) so
10,000 devices do not overflow the broker's listen backlog; paho keepalive
housekeeping runs from one fleet-wide ticker, and writes are batched per
loop pass (device_sim.loop_io).
"""

from __future__ import annotations

import asyncio
import math
import random
import resource
import socket
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from broadcast import protocol as p
from device_sim import faults
from device_sim.clock import SimClock
from device_sim.device import DeviceSpec, SimDevice
from device_sim.loop_io import LoopIO
from device_sim.media import MediaCache
from device_sim.stream_player import StreamOptions
from device_sim.tls import client_context
from mqtt_io.gc_tuning import settle_heap

FLEET_GC_THRESHOLD = 100_000  # young-generation collections every 100k net allocations, not every 700


def parse_broker_url(url: str) -> tuple[str, int]:
    """`mqtt://host:port` (or `tcp://`, or bare `host:port`), or `mqtts://host:port` (TLS) -> (host, port)."""
    if "://" not in url:
        url = "mqtt://" + url
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "tcp", "mqtts"):
        raise ValueError(f"unsupported broker URL scheme: {parts.scheme!r} (use mqtt://host:port or mqtts://)")
    if not parts.hostname:
        raise ValueError(f"broker URL has no host: {url!r}")
    return parts.hostname, parts.port or (8883 if parts.scheme == "mqtts" else 1883)


def parse_broker_urls(urls: str) -> list[tuple[str, int]]:
    """Several brokers (the nodes of a cluster), comma-separated, all plain or all TLS."""
    parts = [u.strip() for u in urls.split(",") if u.strip()]
    if not parts:
        raise ValueError("no broker URL given")
    if len({u.startswith("mqtts://") for u in parts}) > 1:
        raise ValueError("brokers must be all mqtt:// or all mqtts://")
    return [parse_broker_url(u) for u in parts]


@dataclass
class BrokerAddress:
    host: str
    port: int
    family: socket.AddressFamily = socket.AF_INET
    address: tuple[Any, ...] = ()


def raise_fd_limit(needed: int) -> int:
    """Lift RLIMIT_NOFILE towards `needed` (one socket per device + slack)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
        soft = want
    return soft


@dataclass(frozen=True)
class FaultPlan:
    """Fractions of the fleet given each fault (chosen with a seeded RNG)."""

    offline_fraction: float = 0.0
    drop_ack_rate: float = 0.0
    fail_download_fraction: float = 0.0
    clock_skew_ms: int = 0  # each device gets a skew uniform in [-x, +x]
    tamper_fraction: float = 0.0


def make_specs(
    count: int,
    *,
    id_prefix: str = "sim",
    password: str = "",
    zones: Sequence[str] = (),
    faults: FaultPlan = FaultPlan(),
    seed: int = 1,
) -> list[DeviceSpec]:
    """Specs for `count` devices `{id_prefix}-00001`... with the fault plan applied."""
    rng = random.Random(seed)
    specs = []
    for i in range(1, count + 1):
        skew = rng.randint(-faults.clock_skew_ms, faults.clock_skew_ms) if faults.clock_skew_ms else 0
        specs.append(DeviceSpec(
            device_id=f"{id_prefix}-{i:05d}", password=password, zones=tuple(zones), clock_skew_ms=skew,
            start_offline=rng.random() < faults.offline_fraction,
            drop_ack_rate=faults.drop_ack_rate,
            fail_downloads=rng.random() < faults.fail_download_fraction,
            tamper=rng.random() < faults.tamper_fraction,
        ))
    return specs


def apply_faults(specs: Iterable[DeviceSpec], faults: FaultPlan, seed: int = 1) -> list[DeviceSpec]:
    """The same fault plan over specs that came from a credentials file."""
    rng = random.Random(seed)
    out = []
    for s in specs:
        skew = rng.randint(-faults.clock_skew_ms, faults.clock_skew_ms) if faults.clock_skew_ms else s.clock_skew_ms
        out.append(DeviceSpec(
            s.device_id, s.password, s.zones, skew,
            start_offline=s.start_offline or rng.random() < faults.offline_fraction,
            drop_ack_rate=max(s.drop_ack_rate, faults.drop_ack_rate),
            fail_downloads=s.fail_downloads or rng.random() < faults.fail_download_fraction,
            tamper=s.tamper or rng.random() < faults.tamper_fraction,
        ))
    return out


class Fleet:
    """Simulated controllers against one broker.

    >>> fleet = Fleet("mqtt://127.0.0.1:1883", specs, public_key_b64)
    >>> await fleet.start(); await fleet.wait_connected(); ...; await fleet.stop()
    """

    def __init__(
        self,
        broker_url: str,
        devices: Sequence[DeviceSpec],
        public_key: p.PublicKeyLike,
        *,
        prefix: str = p.DEFAULT_PREFIX,
        speed: float = 1.0,
        keepalive: int = 60,
        max_pending_connects: int = 64,
        max_backoff_s: float = 30.0,
        media_dir: Path | None = None,
        http_client: httpx.AsyncClient | None = None,
        seed: int = 1,
        ca_file: str | Path | None = None,
        stream_options: StreamOptions | None = None,
    ) -> None:
        # Several brokers: each device starts on one (spread in turn) and moves to the next when its link is
        # lost or a connect fails (next_broker).
        self.brokers = [BrokerAddress(h, port) for h, port in parse_broker_urls(broker_url)]
        self._broker_turn: dict[str, int] = {}
        self.host, self.port = self.brokers[0].host, self.brokers[0].port
        tls = broker_url.lstrip().startswith("mqtts://")
        if ca_file is not None and not tls:
            raise ValueError("--ca-file chỉ dùng với broker mqtts://")
        self.ssl_context = client_context(ca_file) if tls else None  # None: plain TCP
        self.topics = p.Topics(prefix)
        self.public_key = p.as_public_key(public_key)
        self.speed = speed
        self.keepalive = keepalive
        self.misc_period_s = max(0.5, min(5.0, keepalive / 4))
        self.max_pending_connects = max_pending_connects
        self.max_backoff_s = max_backoff_s
        self._specs = list(devices)
        ids = [s.device_id for s in self._specs]
        if len(set(ids)) != len(ids):
            raise ValueError("device ids must be unique")
        for i in ids:
            if not p.DEVICE_ID_RE.match(i):
                raise ValueError(f"invalid device id: {i!r}")
        self._media_dir = media_dir
        self.stream_options = stream_options or StreamOptions()  # section 9.3 timers, capture of what was heard
        self._http_client = http_client
        self._seed = seed
        self.devices: dict[str, SimDevice] = {}
        self._commands: dict[bytes, p.Command | p.ProtocolError] = {}
        self.stages: Counter[str] = Counter()
        self.auth_failures = 0
        self._pending_connects = 0
        self._slot = asyncio.Event()
        self._queue: asyncio.Queue[SimDevice] | None = None
        self._bg: list[asyncio.Task[None]] = []
        self.loop: asyncio.AbstractEventLoop
        self.clock: SimClock
        self.cache: MediaCache
        self.io: LoopIO
        self.started_at = 0.0
        self.family = socket.AF_INET
        self.address: tuple[Any, ...] = (self.host, self.port)

    def next_broker(self, device_id: str) -> BrokerAddress:
        """The broker for a device's next connect: first its own in the spread, then the next in turn."""
        turn = self._broker_turn.get(device_id)
        turn = len(self._broker_turn) if turn is None else turn + 1
        self._broker_turn[device_id] = turn
        return self.brokers[turn % len(self.brokers)]

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        # Resolve once: 10k devices must not each ask the resolver.
        for broker in self.brokers:
            infos = await self.loop.getaddrinfo(broker.host, broker.port, type=socket.SOCK_STREAM)
            broker.family, _, _, _, broker.address = infos[0]
        self.family, self.address = self.brokers[0].family, self.brokers[0].address
        self.clock = SimClock(self.speed, loop=self.loop)
        self.io = LoopIO(self.loop)
        self.cache = MediaCache(self._http_client, directory=self._media_dir)
        raise_fd_limit(len(self._specs) + 256)
        self._queue = asyncio.Queue()
        rng = random.Random(self._seed)
        for spec in self._specs:
            self.devices[spec.device_id] = SimDevice(self, spec, random.Random(rng.random()))
        self._bg = [self.loop.create_task(self._connect_pump()), self.loop.create_task(self._misc_ticker())]
        self.started_at = time.monotonic()
        for dev in self.devices.values():
            dev.start()
        # Ten thousand devices are millions of long-lived objects: keep them out of the cyclic GC's collections,
        # which paused the whole fleet for up to half a second, many times per fan-out (mqtt_io.gc_tuning).
        settle_heap(FLEET_GC_THRESHOLD)

    async def stop(self, timeout: float = 10.0) -> None:
        for dev in self.devices.values():
            dev.stop()
        deadline = time.monotonic() + timeout
        while any(not d.closed for d in self.devices.values()) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        for dev in self.devices.values():  # whatever did not finish DISCONNECT in time
            dev.close_socket()
        for task in self._bg:
            task.cancel()
        await asyncio.gather(*self._bg, return_exceptions=True)
        await self.cache.aclose()

    async def __aenter__(self) -> Fleet:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ------------------------------------------------------------------ connect pacing

    def request_connect(self, dev: SimDevice) -> None:
        assert self._queue is not None
        self._queue.put_nowait(dev)

    def connect_started(self) -> None:
        self._pending_connects += 1

    def connect_finished(self) -> None:
        self._pending_connects -= 1
        self._slot.set()

    async def _connect_pump(self) -> None:
        assert self._queue is not None
        n = 0
        while True:
            dev = await self._queue.get()
            while self._pending_connects >= self.max_pending_connects:
                self._slot.clear()
                try:
                    await asyncio.wait_for(self._slot.wait(), 5.0)
                except TimeoutError:
                    pass
            dev.connect_now()
            n += 1
            if n % 16 == 0:
                await asyncio.sleep(0)  # let CONNACKs and other traffic through

    async def _misc_ticker(self) -> None:
        """paho keepalive housekeeping: every client once per `misc_period_s`, in slices spread evenly.

        PINGREQ is due only after `keepalive` seconds of silence, so a pass every keepalive/4 (at most 5 s) is
        on time; visiting all 10,000 clients every second cost the fleet a tenth of its CPU.
        """
        period = self.misc_period_s
        slices = max(1, int(period / 0.1))
        while True:
            devs = list(self.devices.values())
            per = max(1, math.ceil(len(devs) / slices))
            for i in range(0, max(len(devs), 1), per):
                for d in devs[i:i + per]:
                    d.loop_misc()
                await asyncio.sleep(period / slices)

    # ------------------------------------------------------------------ shared work

    def parse_command(self, payload: bytes) -> p.Command:
        """parse_signed_command, once per distinct payload: a zone command reaches a hundred devices as the
        very same bytes, and verifying them once per device was a third of a play_now's simulator CPU.
        Tampered bytes differ, so they are checked on their own. Raises ProtocolError like the parser."""
        cached = self._commands.get(payload)
        if cached is None:
            try:
                cached = p.parse_signed_command(payload, self.public_key)
            except p.ProtocolError as err:
                cached = err
            if len(self._commands) >= 256:
                self._commands.clear()
            self._commands[payload] = cached
        if isinstance(cached, p.ProtocolError):
            raise p.ProtocolError(cached.code, cached.detail)
        return cached

    # ------------------------------------------------------------------ faults

    def tamper_victim(self, dev: SimDevice) -> str:
        ids = list(self.devices)
        if len(ids) < 2:
            return "victim-000"
        i = ids.index(dev.id)
        return ids[(i + 1) % len(ids)]

    def take_offline(self, device_ids: Iterable[str]) -> None:
        for i in device_ids:
            self.devices[i].go_offline()

    def bring_online(self, device_ids: Iterable[str], spread_s: float = 0.0) -> None:
        for i in device_ids:
            dev = self.devices[i]
            dev.go_online(dev.rng.random() * spread_s)

    def reconnect_storm(self, fraction: float = 1.0) -> list[str]:
        """Drop the link of a fraction of connected devices; they all come back at once."""
        rng = random.Random()
        chosen = [d for d in self.devices.values() if d.connected and rng.random() < fraction]
        for d in chosen:
            d._backoff = 0.0  # no jitter: a storm
            d.drop_link()
        return [d.id for d in chosen]

    def inject_fault(self, fault: str, fraction: float, seed: int | None = None, *,
                     duration_s: float = faults.CUT_OFF_S) -> list[str]:
        """Give `fault` (device_sim/faults.py FAULTS) to a seeded share of the fleet; returns the device ids.
        `duration_s`: how long a `cut_off` lasts before the devices come back by themselves."""
        chosen = faults.choose(self.devices.values(), fraction, seed)
        for device in chosen:
            faults.inject(device, fault, duration_s=duration_s)
        return [d.id for d in chosen]

    def clear_faults(self, device_ids: Iterable[str] | None = None) -> None:
        for device_id in (device_ids if device_ids is not None else list(self.devices)):
            faults.clear(self.devices[device_id])

    # ------------------------------------------------------------------ inspection

    def device(self, device_id: str) -> SimDevice:
        return self.devices[device_id]

    def stats(self) -> dict[str, Any]:
        devs = self.devices.values()
        out: dict[str, Any] = {
            "devices": len(self.devices),
            "connected": sum(d.connected for d in devs),
            "link_down_by_fault": sum(not d.link_wanted for d in devs),
            "with_schedule": sum(d.version is not None for d in devs),
            "playing_now": sum(d.current is not None for d in devs),
            "acks_pending": sum(len(d.outbox) for d in devs),
            "acks_dropped": sum(d.counters.acks_dropped for d in devs),
            "reconnects": sum(max(0, d.counters.connects - 1) for d in devs),
            "auth_failures": self.auth_failures,
            "downloads": self.cache.downloads if hasattr(self, "cache") else 0,
            "download_failures": self.cache.failures if hasattr(self, "cache") else 0,
        }
        out.update(self.stream_stats())
        for stage in p.ACK_STAGES:
            out[stage] = self.stages[stage]
        return out

    def stream_stats(self) -> dict[str, Any]:
        """What the fleet received from live streams: proof that audio flowed, not only that acks did."""
        totals = [d.stream_totals() for d in self.devices.values()]
        return {
            "streams_listening": sum(d.current is not None and d.current.stream is not None
                                     and d.current.stream.audible for d in self.devices.values()),
            "stream_bytes": sum(t.bytes for t in totals),
            "stream_frames": sum(t.frames for t in totals),
            "stream_audio_s": round(sum(t.audio_s for t in totals), 1),
            "stream_drops": sum(t.drops for t in totals),
        }

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 30.0, poll_s: float = 0.02) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise TimeoutError(f"fleet condition not met in {timeout}s: {self.stats()}")
            await asyncio.sleep(poll_s)

    async def wait_connected(self, timeout: float = 60.0) -> None:
        wanted = [d for d in self.devices.values() if d.link_wanted]
        await self.wait_until(lambda: all(d.connected for d in wanted), timeout)
        settle_heap(FLEET_GC_THRESHOLD)  # the connected fleet is the long-lived heap from here on
