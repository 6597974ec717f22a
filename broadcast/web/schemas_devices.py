"""Request and response bodies of the device management API: zones, volume, resync."""
from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from pydantic import BaseModel, Field

from broadcast.services.device_zones import MAX_ZONE_MEMBERS
from broadcast.web.schemas import HealthOut, StrictModel


class DeviceZonesIn(StrictModel):
    zones: list[str] = Field(max_length=200)  # zone ids of the device's commune; [] leaves only its area zones


class ZoneDevicesIn(StrictModel):
    devices: list[str] = Field(max_length=MAX_ZONE_MEMBERS)  # device ids of the zone's commune


class ZoneDevicesOut(BaseModel):
    zone_id: str
    devices: list[str]


class VolumeIn(StrictModel):
    volume: int = Field(ge=0, le=100)


class CommandOut(BaseModel):
    cmd_id: str
    action: str
    device_id: str


class HealthBucketOut(BaseModel):
    bucket: datetime
    samples: int
    temperature_min: int | None
    temperature_max: int | None
    temperature_last: int | None
    supply_min: int | None
    supply_max: int | None
    supply_last: int | None
    rssi_last: int | None
    amplifier_faults: int
    line_faults: int
    power_off: int


class DeviceHealthOut(BaseModel):
    current: HealthOut | None
    history: list[HealthBucketOut]

    @classmethod
    def of(cls, health) -> DeviceHealthOut:
        current = None if health.current is None else HealthOut(at=health.at, **asdict(health.current))
        return cls(current=current, history=[HealthBucketOut(**asdict(b)) for b in health.history])
