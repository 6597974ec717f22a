"""A small world for the use-case tests: two provinces, three wards, a few loudspeakers, people with roles."""
from __future__ import annotations

import zlib
from datetime import UTC, datetime

from broadcast.domain.areas import Area, AreaLevel
from broadcast.domain.auth import Grant, Principal, Role
from broadcast.domain.devices import Device
from broadcast.services.context import Actor

TZ = "Asia/Ho_Chi_Minh"
HANOI, HOAN_KIEM, CUA_NAM = "01", "00070", "00073"  # a province and two of its wards
HCMC, VUNG_TAU = "79", "26506"
AREAS = (
    Area(HANOI, "Thành phố Hà Nội", AreaLevel.PROVINCE, "Thành phố", None),
    Area(HOAN_KIEM, "Phường Hoàn Kiếm", AreaLevel.COMMUNE, "Phường", HANOI),
    Area(CUA_NAM, "Phường Cửa Nam", AreaLevel.COMMUNE, "Phường", HANOI),
    Area(HCMC, "Thành phố Hồ Chí Minh", AreaLevel.PROVINCE, "Thành phố", None),
    Area(VUNG_TAU, "Phường Vũng Tàu", AreaLevel.COMMUNE, "Phường", HCMC),
)
PROVINCE_OF = {a.code: a.parent_code for a in AREAS if a.parent_code}
SEEDED_AT = datetime(2026, 11, 1, tzinfo=UTC)


def device(device_id: str, commune: str, *zones: str, disabled: bool = False, test_device: bool = False) -> Device:
    return Device(id=device_id, name=f"Cụm loa {device_id}", commune_code=commune, province_code=PROVINCE_OF[commune],
                  zones=zones, disabled=disabled, test_device=test_device)


def person(username: str, *grants: tuple[Role, str]) -> Actor:
    """An officer signed in from the web, holding `grants` as (role, area code)."""
    return Actor(Principal(user_id=zlib.crc32(username.encode()), username=username,
                           grants=tuple(Grant(role, area) for role, area in grants)), address="203.0.113.7")
