"""Device health (spec section 9.1) as the server keeps it: the newest values per device, and a history folded into
fixed buckets so ten thousand devices reporting every minute stay a bounded table (one row per device per bucket,
not per status)."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from broadcast.protocol.status import HealthValue

LINE_FAULTS = frozenset({"open", "short"})


@dataclass(frozen=True)
class HealthReading:
    device_id: str
    at: datetime  # received (UTC)
    health: HealthValue


@dataclass
class HealthBucket:
    """One device's readings within one bucket: ranges, last values and fault counts."""

    device_id: str
    bucket: datetime
    samples: int = 0
    temperature_min: int | None = None
    temperature_max: int | None = None
    temperature_last: int | None = None
    supply_min: int | None = None
    supply_max: int | None = None
    supply_last: int | None = None
    rssi_last: int | None = None
    amplifier_faults: int = 0
    line_faults: int = 0
    power_off: int = 0

    def add(self, h: HealthValue) -> None:
        self.samples += 1
        if h.temperature_c is not None:
            self.temperature_min = _lesser(self.temperature_min, h.temperature_c)
            self.temperature_max = _greater(self.temperature_max, h.temperature_c)
            self.temperature_last = h.temperature_c
        if h.supply_mv is not None:
            self.supply_min = _lesser(self.supply_min, h.supply_mv)
            self.supply_max = _greater(self.supply_max, h.supply_mv)
            self.supply_last = h.supply_mv
        if h.rssi_dbm is not None:
            self.rssi_last = h.rssi_dbm
        self.amplifier_faults += h.amplifier == "fault"
        self.line_faults += h.speaker_line in LINE_FAULTS
        self.power_off += h.power == "off"


@dataclass
class CommuneFleet:
    """One commune's loudspeakers at a glance (the metrics and the fleet pages)."""

    commune_code: str
    province_code: str
    devices: int
    online: int
    in_fault: int  # amplifier in fault, or speaker line open or short
    powered_off: int
    stale_schedule: int  # the newest published version not yet acknowledged
    missed: int = 0  # plays today
    failed: int = 0


def _lesser(a: int | None, b: int) -> int:
    return b if a is None else min(a, b)


def _greater(a: int | None, b: int) -> int:
    return b if a is None else max(a, b)


def bucket_start(at: datetime, size: timedelta) -> datetime:
    """The start of the bucket holding `at`: buckets are aligned on the epoch, so every node agrees."""
    seconds = int(size.total_seconds())
    epoch = int(at.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, UTC)


def fold_readings(readings: Iterable[HealthReading], size: timedelta) -> list[HealthBucket]:
    """A batch of readings as buckets, in arrival order within each (the stored bucket merges them)."""
    buckets: dict[tuple[str, datetime], HealthBucket] = {}
    for reading in readings:
        start = bucket_start(reading.at, size)
        bucket = buckets.get((reading.device_id, start))
        if bucket is None:
            bucket = buckets[(reading.device_id, start)] = HealthBucket(reading.device_id, start)
        bucket.add(reading.health)
    return list(buckets.values())
