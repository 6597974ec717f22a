"""Request and response bodies of the device management API: zones, volume, resync."""
from __future__ import annotations

from pydantic import BaseModel, Field

from broadcast.services.device_zones import MAX_ZONE_MEMBERS
from broadcast.web.schemas import StrictModel


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
