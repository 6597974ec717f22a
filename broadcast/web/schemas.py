"""Request and response bodies of the public API."""
from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from broadcast import protocol
from broadcast.domain.areas import Area, Zone
from broadcast.domain.audit import AuditEntry
from broadcast.domain.users import MAX_PASSWORD_LENGTH, User


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


class AreaOut(BaseModel):
    code: str
    name: str
    level: str
    division_type: str
    parent_code: str | None

    @classmethod
    def of(cls, area: Area) -> AreaOut:
        return cls(code=area.code, name=area.name, level=area.level.value, division_type=area.division_type,
                   parent_code=area.parent_code)


class ZoneIn(StrictModel):
    commune_code: str = Field(min_length=1, max_length=16)
    name: str = Field(min_length=1, max_length=200)
    kind: str = "village"
    slug: str | None = Field(default=None, max_length=40)
    description: str = Field(default="", max_length=2000)


class ZoneOut(BaseModel):
    id: str
    name: str
    kind: str
    commune_code: str
    description: str

    @classmethod
    def of(cls, zone: Zone) -> ZoneOut:
        return cls(id=zone.id, name=zone.name, kind=zone.kind, commune_code=zone.commune_code,
                   description=zone.description)


class GrantOut(BaseModel):
    role: str
    area_code: str


class GrantIn(StrictModel):
    role: str = Field(max_length=32)
    area_code: str = Field(max_length=16)


class UserIn(StrictModel):
    """One role at one area (role, area_code), or several in `grants`; both together add up."""

    username: str = Field(max_length=64)
    password: str = Field(max_length=256)
    role: str | None = Field(default=None, max_length=32)
    area_code: str | None = Field(default=None, max_length=16)
    grants: list[GrantIn] = Field(default_factory=list, max_length=20)
    full_name: str = Field(default="", max_length=200)


class GrantsIn(StrictModel):
    grants: list[GrantIn] = Field(min_length=1, max_length=20)


class PasswordChangeIn(StrictModel):
    current_password: str = Field(max_length=MAX_PASSWORD_LENGTH)
    new_password: str = Field(max_length=MAX_PASSWORD_LENGTH)


class UserOut(BaseModel):
    id: int
    username: str
    full_name: str
    disabled: bool
    grants: list[GrantOut]
    email: str | None = None

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(id=user.id, username=user.username, full_name=user.full_name, disabled=user.disabled,
                   grants=[GrantOut(role=g.role.value, area_code=g.area_code) for g in user.grants],
                   email=user.email)


class AuditOut(BaseModel):
    id: int | None
    at: datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    area_code: str | None
    address: str | None
    details: dict

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditOut:
        return cls(**entry.__dict__)


class DeviceIn(StrictModel):
    id: str = Field(max_length=64)
    name: str = Field(max_length=200)
    area_code: str = Field(max_length=16)
    zones: list[str] = Field(default_factory=list, max_length=50)
    vendor: str = Field(default="", max_length=100)
    model: str = Field(default="", max_length=100)
    latitude: float | None = None
    longitude: float | None = None
    connection: str = "other"
    test_device: bool = False


class DeviceStateOut(BaseModel):
    online: bool
    last_seen: datetime | None
    firmware: str | None
    volume: int | None
    playing_item: str | None
    playing_since: datetime | None
    clock_offset_ms: int | None
    storage_free_bytes: int | None
    reported_version: int | None
    published_version: int | None
    acknowledged_version: int | None
    recent_acks: list[dict] = Field(default_factory=list)


class HealthOut(BaseModel):
    """The newest health a device sent (spec section 9.1); members it does not measure are null."""

    at: datetime
    temperature_c: int | None
    supply_mv: int | None
    amplifier: str | None
    speaker_line: str | None
    rssi_dbm: int | None
    network: str | None
    uptime_s: int | None
    power: str | None


class DeviceOut(BaseModel):
    id: str
    name: str
    area_code: str
    province_code: str
    zones: list[str]
    listens_on: list[str]
    vendor: str
    model: str
    latitude: float | None
    longitude: float | None
    connection: str
    disabled: bool
    test_device: bool
    state: DeviceStateOut | None = None
    health: HealthOut | None = None  # on a single device: its newest health (section 9.1)

    @classmethod
    def of(cls, device, state=None) -> DeviceOut:
        return cls(id=device.id, name=device.name, area_code=device.commune_code, province_code=device.province_code,
                   zones=list(device.zones), listens_on=list(device.all_zones()), vendor=device.vendor,
                   model=device.model, latitude=device.latitude, longitude=device.longitude,
                   connection=device.connection.value, disabled=device.disabled, test_device=device.test_device,
                   state=(DeviceStateOut(**{**state.__dict__, "recent_acks": list(state.recent_acks)}) if state
                          else None))


class DeviceCredentialsOut(BaseModel):
    device: DeviceOut
    mqtt_username: str
    mqtt_password: str
    signing_public_key: str
    topic_prefix: str


class AudioOut(BaseModel):
    id: int
    title: str
    kind: str
    language: str
    topic: str
    area_code: str | None
    profile: str
    status: str
    original_name: str
    sha256: str | None
    original_sha256: str | None
    bytes: int | None
    duration_ms: int | None
    loudness: dict
    silences: dict
    voice: str | None
    error: dict | None
    media_url: str | None
    created_by: str
    created_at: datetime

    @classmethod
    def of(cls, asset, public_url: str) -> AudioOut:
        return cls(id=asset.id, title=asset.title, kind=asset.kind, language=asset.language, topic=asset.topic,
                   area_code=asset.area_code, profile=asset.profile, status=asset.status.value,
                   original_name=asset.original_name, sha256=asset.sha256, original_sha256=asset.original_sha256,
                   bytes=asset.bytes, duration_ms=asset.duration_ms, loudness=asset.loudness, silences=asset.silences,
                   voice=asset.voice,
                   error={"code": asset.error_code, "message": asset.error_message} if asset.error_code else None,
                   media_url=protocol.media_url(public_url, asset.sha256) if asset.sha256 else None,
                   created_by=asset.created_by, created_at=asset.created_at)


class TtsIn(StrictModel):
    text: str = Field(max_length=100_000)
    voice: str = "vi"
    title: str = Field(max_length=300)
    area_code: str | None = Field(default=None, max_length=16)  # None: the shared library (admins)
    topic: str = "other"
