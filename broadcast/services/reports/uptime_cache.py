"""Today's device-time, kept for a minute per area: the reports' live part reads every device of a province and its
presence changes (80 ms at 10,000 devices), while the figure itself moves with the clock anyway. Play counts and
emergencies stay live; only the uptime of today is "as of up to a minute ago", and says so (`as_of`).

One per process (the container holds it); the nightly figures of past days never go through it.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

Uptime = dict[str, tuple[int, float | None]]  # per commune: devices, share of device-time online


@dataclass(frozen=True)
class CachedUptime:
    as_of: datetime
    rows: Uptime


class UptimeCache:
    def __init__(self, ttl: timedelta = timedelta(seconds=60), max_entries: int = 256):
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[tuple[str | None, date], CachedUptime] = {}
        self._lock = threading.Lock()

    def get(self, area: str | None, day: date, now: datetime, compute: Callable[[], Uptime]) -> CachedUptime:
        """The area's figures of `day` computed less than `ttl` before `now`, or computed now (as of `now`)."""
        key = (area, day)
        with self._lock:
            found = self._entries.get(key)
        if found is not None and timedelta(0) <= now - found.as_of < self.ttl:
            return found
        fresh = CachedUptime(now, compute())
        with self._lock:
            if len(self._entries) >= self.max_entries:  # yesterday's and rarely viewed areas go first
                self._entries = {k: v for k, v in self._entries.items() if now - v.as_of < self.ttl}
            self._entries[key] = fresh
        return fresh
