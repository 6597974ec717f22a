"""Loudspeaker controllers (cụm thu phát thanh) as the registry knows them, and their delivery states."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from broadcast.domain.errors import InvalidInput

DEVICE_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{2,63}$")  # protocol v1, section 1
# MQTT client ids are one namespace for the whole broker and a device's client id is its id, so the server's
# accounts and client ids (loaxa-server-<name>) live where no device id may: "server" and "loaxa-...".
SERVER_ACCOUNT_NAMES = frozenset({"server"})
SERVER_NAMESPACE = "loaxa-"


def is_server_name(name: str) -> bool:
    """Whether `name` belongs to the server (an account or a client id), never to a device."""
    return name in SERVER_ACCOUNT_NAMES or name.startswith(SERVER_NAMESPACE)


class Connection(StrEnum):
    CELLULAR = "cellular"  # 3G/4G/5G
    ETHERNET = "ethernet"
    FIBER = "fiber"
    WIFI = "wifi"
    INTEGRATION = "integration"  # behind an integration device for old FM/wired clusters
    OTHER = "other"


class AckStage(StrEnum):
    RECEIVED = "received"
    REJECTED = "rejected"
    READY = "ready"
    FAILED = "failed"
    PLAYING = "playing"
    PLAYED = "played"
    PREEMPTED = "preempted"
    MISSED = "missed"
    EXPIRED = "expired"


# How far along a document is: a later stage never moves a delivery backwards.
STAGE_PROGRESS = {
    AckStage.RECEIVED: 1, AckStage.REJECTED: 1, AckStage.EXPIRED: 1, AckStage.READY: 2, AckStage.FAILED: 2,
    AckStage.PLAYING: 3, AckStage.PLAYED: 4, AckStage.PREEMPTED: 4, AckStage.MISSED: 4,
}


@dataclass(frozen=True)
class Device:
    id: str
    name: str
    commune_code: str
    province_code: str
    zones: tuple[str, ...] = ()
    vendor: str = ""
    model: str = ""
    latitude: float | None = None
    longitude: float | None = None
    connection: Connection = Connection.OTHER
    disabled: bool = False
    test_device: bool = False

    def area_chain(self) -> tuple[str, str]:
        return (self.commune_code, self.province_code)

    def all_zones(self) -> tuple[str, ...]:
        """Zones the device listens on: its province, its commune, then its own (villages...)."""
        base = (self.province_code, f"{self.province_code}-{self.commune_code}")
        return base + tuple(z for z in self.zones if z not in base)


@dataclass(frozen=True)
class DeviceState:
    """What the device last told us, plus where its newest schedule stands."""

    online: bool = False
    last_seen: datetime | None = None
    firmware: str | None = None
    volume: int | None = None
    playing_item: str | None = None
    playing_since: datetime | None = None
    clock_offset_ms: int | None = None
    storage_free_bytes: int | None = None
    reported_version: int | None = None
    published_version: int | None = None
    acknowledged_version: int | None = None  # newest version acked `received` (or later)
    recent_acks: tuple[dict[str, Any], ...] = field(default_factory=tuple)


def check_device_fields(device_id: str, name: str, latitude: float | None, longitude: float | None) -> None:
    if not DEVICE_ID_RE.match(device_id or ""):
        raise InvalidInput(
            f"Mã thiết bị không hợp lệ: {device_id!r} (3–64 ký tự: chữ thường không dấu, số, gạch ngang).",
            code="invalid_device_id")
    if is_server_name(device_id):
        raise InvalidInput(
            f"Mã thiết bị {device_id!r} dành cho máy chủ LoaXa (tài khoản và mã kết nối MQTT của máy chủ); "
            f"hãy chọn mã khác, không phải “server” và không bắt đầu bằng “{SERVER_NAMESPACE}”.",
            code="reserved_device_id")
    if not (name or "").strip() or len(name) > 200:
        raise InvalidInput("Tên thiết bị phải có từ 1 đến 200 ký tự.", code="invalid_device_name")
    if (latitude is None) != (longitude is None):
        raise InvalidInput("Cần nhập đủ cả vĩ độ và kinh độ.", code="invalid_location")
    if latitude is not None and longitude is not None and not (8.0 <= latitude <= 24.0 and 102.0 <= longitude <= 118.0):
        raise InvalidInput("Tọa độ nằm ngoài lãnh thổ Việt Nam.", code="invalid_location")


@dataclass(frozen=True)
class MapPoint:
    """What a map marker needs of a device; latitude None: the device has no location."""

    id: str
    name: str
    latitude: float | None
    longitude: float | None
    online: bool


@dataclass(frozen=True)
class DeviceQuery:
    within_areas: frozenset[str] | None = None  # None: everywhere
    area_code: str | None = None  # a province or a commune
    zone_id: str | None = None
    online: bool | None = None
    stale_schedule: bool | None = None  # newest published version not yet acknowledged
    search: str | None = None  # part of the name or id, case and diacritics ignored
    include_disabled: bool = True
    limit: int = 100
    offset: int = 0
