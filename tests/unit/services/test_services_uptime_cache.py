"""Today's device-time is computed once a minute per area, then again: never older than the TTL, never shared
between areas or days."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from broadcast.services.reports.uptime_cache import UptimeCache

NOW = datetime(2026, 12, 1, 3, tzinfo=UTC)
TODAY = date(2026, 12, 1)


class Counting:
    def __init__(self):
        self.calls = 0

    def __call__(self):
        self.calls += 1
        return {"00070": (self.calls, 0.5)}


def test_reused_within_the_minute_then_computed_again():
    cache, compute = UptimeCache(timedelta(seconds=60)), Counting()
    first = cache.get("01", TODAY, NOW, compute)
    assert cache.get("01", TODAY, NOW + timedelta(seconds=59), compute) == first
    assert compute.calls == 1
    later = cache.get("01", TODAY, NOW + timedelta(seconds=60), compute)
    assert compute.calls == 2 and later.as_of == NOW + timedelta(seconds=60) and later.rows["00070"][0] == 2


def test_areas_and_days_are_kept_apart():
    cache, compute = UptimeCache(), Counting()
    cache.get("01", TODAY, NOW, compute)
    cache.get("79", TODAY, NOW, compute)
    cache.get("01", TODAY + timedelta(days=1), NOW, compute)
    assert compute.calls == 3


def test_a_clock_set_back_computes_again():
    cache, compute = UptimeCache(), Counting()
    cache.get("01", TODAY, NOW, compute)
    cache.get("01", TODAY, NOW - timedelta(seconds=5), compute)
    assert compute.calls == 2


def test_the_cache_stays_bounded():
    cache, compute = UptimeCache(timedelta(seconds=60), max_entries=4), Counting()
    for n in range(10):
        cache.get(f"{n:02d}", TODAY, NOW + timedelta(minutes=n), compute)
    assert len(cache._entries) <= 4
