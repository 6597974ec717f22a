"""Simulated time: the fleet's clock runs `speed` times faster than real time.

Every device reads it through its own skew. Timers are set on the asyncio
loop, so a device-clock instant is converted back to loop time.
"""

from __future__ import annotations

import asyncio
import time


class SimClock:
    def __init__(self, speed: float = 1.0, *, start_epoch: float | None = None,
                 loop: asyncio.AbstractEventLoop | None = None) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self._loop = loop or asyncio.get_running_loop()
        self._loop_t0 = self._loop.time()
        self._epoch0 = time.time() if start_epoch is None else start_epoch

    def now(self, skew_s: float = 0.0) -> float:
        """Simulated epoch seconds, as seen by a device whose clock is off by skew_s."""
        return self._epoch0 + (self._loop.time() - self._loop_t0) * self.speed + skew_s

    def real_delay(self, sim_seconds: float) -> float:
        """Real seconds that `sim_seconds` of simulated time take."""
        return max(0.0, sim_seconds / self.speed)
