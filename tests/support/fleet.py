"""Run a simulator Fleet on its own event loop thread, so synchronous tests can drive it."""
from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from device_sim.fleet import Fleet


class FleetThread:
    def __init__(self, fleet: Fleet):
        self.fleet = fleet
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="fleet", daemon=True)

    def run(self, coro, timeout: float = 120.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def call(self, func: Callable[[], Any], timeout: float = 30.0) -> Any:
        """Run a plain function on the fleet's loop (the simulator is not thread-safe)."""
        async def wrapper():
            return func()

        return self.run(wrapper(), timeout)

    def start(self) -> None:
        self.thread.start()
        self.run(self.fleet.start())

    def stop(self) -> None:
        try:
            self.run(self.fleet.stop(), timeout=30)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=10)


@contextmanager
def running_fleet(*args: Any, **kwargs: Any) -> Iterator[FleetThread]:
    runner = FleetThread(Fleet(*args, **kwargs))
    runner.start()
    try:
        yield runner
    finally:
        runner.stop()


def wait_for(predicate: Callable[[], bool], timeout: float = 30.0, poll_s: float = 0.05, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(poll_s)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
