"""A simulated fleet in its own OS process (spawned), driven over a Pipe: thousands of devices must not share the
test's GIL with anything the test measures or waits for (the pattern of benchmarks/bench_fanout.py).

The parent asks for figures (`stats`), for what each device holds and did (`records`), and injects faults
(`fault`, e.g. a 60 s `cut_off`). Requests are answered from the fleet's event loop, so they see a consistent fleet.
"""
from __future__ import annotations

import asyncio
import contextlib
import multiprocessing as mp
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CONNECT_TIMEOUT_S = 300.0


@dataclass(frozen=True)
class DeviceRecord:
    """What one simulated device holds and did, as the simulator itself recorded it."""

    device_id: str
    connected: bool
    version: int | None
    seen_versions: tuple[int, ...]  # every verified schedule version delivered, in order
    items: dict[str, tuple[float, str]]  # item_id -> (end epoch, schedule_id) of the schedule it holds
    done: dict[str, str]  # item_id -> final stage (played, missed, failed, preempted)
    played: tuple[str, ...]  # item ids in the order they sounded (repeats would show here)
    pending_acks: int  # acks kept while offline or not yet confirmed by the broker


def _record(dev: Any) -> DeviceRecord:
    return DeviceRecord(
        dev.id, dev.connected, dev.version, tuple(dev.seen_versions),
        {i["item_id"]: (en, str(i.get("schedule_id"))) for _, en, i in dev._items},  # noqa: SLF001
        dict(dev.done), tuple(key for kind, key, _, _ in dev.played if kind == "item"),
        len(dev.outbox) + len(dev._inflight))  # noqa: SLF001


def _holding(fleet: Any, schedule_id: str) -> int:
    """How many devices hold an item of this (server) schedule id in their current schedule."""
    return sum(any(str(i.get("schedule_id")) == schedule_id for _, _, i in d._items)  # noqa: SLF001
               for d in fleet.devices.values())


def _child(conn: Any, broker_url: str, creds: list[tuple[str, str]], public_key: str, prefix: str,
           media_dir: str) -> None:
    from device_sim.device import DeviceSpec
    from device_sim.fleet import Fleet

    handlers: dict[str, Callable[..., Any]] = {
        "stats": lambda fleet: fleet.stats(),
        "records": lambda fleet: [_record(d) for d in fleet.devices.values()],
        "holding": _holding,
        "fault": lambda fleet, fault, fraction, seed, duration_s: fleet.inject_fault(
            fault, fraction, seed, duration_s=duration_s),
        "now": lambda fleet: fleet.clock.now(),
    }

    async def main() -> None:
        loop = asyncio.get_running_loop()
        fleet = Fleet(broker_url, [DeviceSpec(d, pw) for d, pw in creds], public_key, prefix=prefix,
                      media_dir=Path(media_dir), max_backoff_s=10.0)
        await fleet.start()
        await fleet.wait_connected(CONNECT_TIMEOUT_S)
        conn.send(("connected", None))
        done = asyncio.Event()

        def readable() -> None:
            while conn.poll():
                try:
                    name, args = conn.recv()
                except EOFError:
                    done.set()
                    return
                if name == "stop":
                    done.set()
                    return
                try:
                    conn.send(("ok", handlers[name](fleet, *args)))
                except Exception as exc:  # reported to the parent, which raises it
                    conn.send(("error", repr(exc)))

        loop.add_reader(conn.fileno(), readable)
        await done.wait()
        loop.remove_reader(conn.fileno())
        await fleet.stop(timeout=30)
        conn.send(("stopped", None))

    asyncio.run(main())


class FleetProcess:
    """`with FleetProcess(...) as fleet:` starts the devices and waits until all are connected."""

    def __init__(self, broker_url: str, creds: list[tuple[str, str]], public_key: str, *, prefix: str,
                 media_dir: Path) -> None:
        ctx = mp.get_context("spawn")
        self.conn, child_conn = ctx.Pipe()
        self.proc = ctx.Process(target=_child, name="chaos-fleet", daemon=True,
                                args=(child_conn, broker_url, creds, public_key, prefix, str(media_dir)))

    def __enter__(self) -> FleetProcess:
        self.proc.start()
        started = time.monotonic()
        if not self.conn.poll(CONNECT_TIMEOUT_S):
            self.close()
            raise TimeoutError(f"the simulated fleet did not connect within {CONNECT_TIMEOUT_S} s")
        tag, _ = self.conn.recv()
        assert tag == "connected", tag
        self.connect_s = time.monotonic() - started
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def ask(self, name: str, *args: Any, timeout: float = 60.0) -> Any:
        self.conn.send((name, args))
        if not self.conn.poll(timeout):
            raise TimeoutError(f"the simulated fleet did not answer {name!r} within {timeout} s")
        tag, value = self.conn.recv()
        if tag == "error":
            raise RuntimeError(f"the simulated fleet failed on {name!r}: {value}")
        return value

    def stats(self) -> dict[str, Any]:
        return self.ask("stats")  # type: ignore[no-any-return]

    def records(self) -> list[DeviceRecord]:
        return self.ask("records")  # type: ignore[no-any-return]

    def holding(self, schedule_id: int) -> int:
        return self.ask("holding", str(schedule_id))  # type: ignore[no-any-return]

    def fault(self, fault: str, fraction: float, seed: int, duration_s: float) -> list[str]:
        return self.ask("fault", fault, fraction, seed, duration_s)  # type: ignore[no-any-return]

    def close(self) -> None:
        with contextlib.suppress(Exception):
            if self.proc.is_alive():
                self.conn.send(("stop", ()))
                if self.conn.poll(60):
                    self.conn.recv()
        self.proc.join(10)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join(5)
