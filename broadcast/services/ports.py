"""What the use cases need from the outside world, as typing.Protocols.

Persistence implements these with SQLAlchemy; unit tests pass in-memory fakes.
"""
from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from broadcast.domain.areas import Area, AreaLevel, Zone
from broadcast.domain.audio import AudioAsset
from broadcast.domain.audit import AuditEntry, AuditQuery
from broadcast.domain.auth import Grant
from broadcast.domain.delivery import AckReport, CommandPublication, DuePublication, Publication, StatusReport
from broadcast.domain.devices import Device, DeviceQuery, DeviceState
from broadcast.domain.policy import PolicyOverride
from broadcast.domain.scheduling import MediaRef, Programme, Schedule
from broadcast.domain.users import User
from broadcast.services.reports_ports import ReportRepository
from broadcast.services.bridge_ports import BridgeRepository


class AreaRepository(Protocol):
    def get(self, code: str) -> Area | None: ...
    def list(self, *, level: AreaLevel | None = None, parent_code: str | None = None, query: str | None = None,
             limit: int = 100, offset: int = 0) -> Sequence[Area]: ...
    def count(self, level: AreaLevel | None = None) -> int: ...
    def upsert_many(self, areas: Iterable[Area]) -> int: ...


class ZoneRepository(Protocol):
    def get(self, zone_id: str) -> Zone | None: ...
    def add(self, zone: Zone, *, created_by: str, created_at: datetime) -> None: ...
    def name_taken(self, commune_code: str, name: str) -> bool: ...
    def list(self, *, commune_code: str | None = None, within_areas: frozenset[str] | None = None,
             limit: int = 100, offset: int = 0) -> Sequence[Zone]: ...


class UserRepository(Protocol):
    def get(self, user_id: int) -> User | None: ...
    def get_by_username(self, username: str) -> User | None: ...
    def add(self, *, username: str, full_name: str, password_hash: str, grants: Sequence[Grant],
            created_at: datetime) -> User: ...
    def set_password_hash(self, user_id: int, password_hash: str) -> None: ...
    def list(self, *, within_areas: frozenset[str] | None = None, limit: int = 100, offset: int = 0) -> Sequence[User]: ...


class AuditRepository(Protocol):
    def append(self, entry: AuditEntry) -> None: ...
    def list(self, query: AuditQuery) -> Sequence[AuditEntry]: ...


class LoginThrottleRepository(Protocol):
    def blocked_until(self, key: str) -> datetime | None: ...
    def record_failure(self, key: str, *, now: datetime, max_failures: int, block_seconds: int) -> None: ...
    def reset(self, key: str) -> None: ...


class UnitOfWork(Protocol):
    areas: AreaRepository
    zones: ZoneRepository
    users: UserRepository
    audit: AuditRepository
    login_throttle: LoginThrottleRepository
    devices: DeviceRepository
    delivery: DeliveryRepository
    audio: AudioRepository
    commands: CommandRepository
    playlog: PlayLogRepository
    emergencies: EmergencyRepository
    programmes: ProgrammeRepository
    schedules: ScheduleRepository
    policies: PolicyRepository
    bridge: BridgeRepository
    reports: ReportRepository

    def __enter__(self) -> UnitOfWork: ...
    def __exit__(self, *exc: object) -> None: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...


class PasswordHasher(Protocol):
    def hash(self, password: str) -> str: ...
    def verify(self, password_hash: str, password: str) -> bool: ...
    def needs_rehash(self, password_hash: str) -> bool: ...


class TokenIssuer(Protocol):
    def issue(self, *, user_id: int, username: str, now: datetime) -> tuple[str, int]: ...
    def read(self, token: str, *, now: datetime) -> int: ...


class Clock(Protocol):
    def now(self) -> datetime: ...


class DeviceRepository(Protocol):
    def get(self, device_id: str) -> Device | None: ...
    def add(self, device: Device, *, mqtt_password_hash: str, created_at: datetime) -> None: ...
    def set_password_hash(self, device_id: str, mqtt_password_hash: str) -> None: ...
    def set_disabled(self, device_id: str, disabled: bool) -> None: ...
    def list(self, query: DeviceQuery) -> Sequence[tuple[Device, DeviceState]]: ...
    def state(self, device_id: str, *, recent_acks: int = 20) -> DeviceState: ...
    def broker_accounts(self) -> Sequence[tuple[str, str]]: ...
    def directory(self) -> Sequence[Device]: ...
    def ids_in_zones(self, zone_ids: Sequence[str]) -> list[str]: ...


class DeliveryRepository(Protocol):
    def latest_publication(self, device_id: str) -> Publication | None: ...
    def add_publication(self, publication: Publication) -> None: ...
    def due_publications(self, *, now: datetime, limit: int) -> Sequence[DuePublication]: ...
    def mark_published(self, published: Sequence[tuple[str, int, datetime]], *, at: datetime) -> None: ...
    def record_statuses(self, statuses: Sequence[StatusReport], *, known: Collection[str] | None = None) -> int: ...
    def record_acks(self, acks: Sequence[AckReport], *, known: Collection[str] | None = None) -> list[AckReport]: ...


class CommandRepository(Protocol):
    def add(self, *, cmd_id: str, action: str, priority: str | None, issued_at: datetime, expires_at: datetime,
            created_by: str, emergency_id: int | None, publications: Sequence[CommandPublication],
            tracked_devices: Sequence[str]) -> None: ...
    def due(self, *, now: datetime, limit: int) -> Sequence[CommandPublication]: ...
    def mark_published(self, cmd_id: str, target_kind: str, target_id: str, *, at: datetime) -> None: ...
    def reach(self, cmd_id: str) -> dict[str | None, int]: ...
    def exists(self, cmd_id: str) -> bool: ...


class ProgrammeRepository(Protocol):
    def add(self, programme: Programme) -> Programme: ...
    def get(self, programme_id: int) -> Programme | None: ...
    def list(self, *, within_areas: frozenset[str] | None, topic: str | None = None, limit: int = 100,
             offset: int = 0) -> Sequence[Programme]: ...
    def media(self, programme_ids: Sequence[int]) -> dict[int, list[tuple[MediaRef | None, str]]]: ...


class ScheduleRepository(Protocol):
    def add(self, schedule: Schedule) -> Schedule: ...
    def save(self, schedule: Schedule, *, at: datetime) -> Schedule: ...
    def get(self, schedule_id: int, *, for_update: bool = False) -> Schedule | None: ...
    def list(self, *, within_areas: frozenset[str] | None, status: str | None = None,
             programme_id: int | None = None, limit: int = 100, offset: int = 0) -> Sequence[Schedule]: ...
    def approved(self) -> Sequence[Schedule]: ...
    def uses_programme(self, programme_id: int) -> bool: ...
    def change_marker(self) -> tuple: ...


class PolicyRepository(Protocol):
    def get(self, area_code: str) -> PolicyOverride | None: ...
    def raw(self, area_code: str) -> dict | None: ...
    def put(self, area_code: str, *, windows: list[str] | None, max_minutes_per_day: int | None,
            weekdays: list[int] | None, by: str, at: datetime) -> None: ...


class Signer(Protocol):
    public_key_b64: str

    def sign(self, doc: Mapping[str, Any]) -> dict[str, Any]: ...


class DevicePublisher(Protocol):
    """The MQTT side as services see it: True once the broker took the message (PUBACK)."""

    def publish_schedules(self, batch: Sequence[tuple[str, bytes]], *, timeout: float) -> list[bool]: ...
    def publish_commands(self, batch: Sequence[CommandPublication], *, timeout: float) -> list[bool]: ...


class AudioRepository(Protocol):
    def add(self, asset: AudioAsset) -> AudioAsset: ...
    def get(self, asset_id: int) -> AudioAsset | None: ...
    def update(self, asset_id: int, *, at: datetime, **fields: Any) -> None: ...
    def list(self, *, within_areas: frozenset[str] | None, status: str | None, topic: str | None,
             language: str | None, limit: int, offset: int) -> Sequence[AudioAsset]: ...
    def delete(self, asset_id: int) -> None: ...
    def in_use(self, asset_id: int) -> bool: ...
    def processing(self) -> Sequence[AudioAsset]: ...
    def sha256_known(self, sha256: str) -> bool: ...


@dataclass(frozen=True)
class CheckedAudio:
    """What validation learned about an upload; handed back to render() so nothing is decoded twice."""

    duration_ms: int
    extension: str
    handle: object = None


@dataclass(frozen=True)
class RenderedAudio:
    original_sha256: str
    sha256: str
    bytes: int
    duration_ms: int
    loudness: dict
    silences: list


class AudioProcessor(Protocol):
    """The audio library as use cases see it; its errors arrive as InvalidInput / TooLarge."""

    def check(self, path: Path, original_name: str) -> CheckedAudio: ...
    def render(self, path: Path, original_name: str, profile: str, checked: CheckedAudio | None) -> RenderedAudio: ...
    def check_text(self, text: str, voice: str) -> None: ...
    def synthesize(self, text: str, voice: str, out_path: Path) -> None: ...


class JobQueue(Protocol):
    def submit(self, job: Callable[[], None]) -> None: ...


@dataclass(frozen=True)
class PlayLogEntry:
    """Proof of play: what one device did with one item (or command), and what was planned for it."""

    device_id: str
    commune_code: str
    item_id: str
    outcome: str  # played | preempted | missed | failed
    recorded_at: datetime
    schedule_id: int | None = None
    programme_id: int | None = None
    emergency_id: int | None = None
    title: str = ""
    priority: str | None = None
    planned_start: datetime | None = None
    planned_end: datetime | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    reason: str | None = None
    commune_name: str = ""  # filled when read back


@dataclass(frozen=True)
class PlayLogQuery:
    within_areas: frozenset[str] | None = None  # the reader's scope; None: everything
    area_code: str | None = None  # a province or a commune
    device_id: str | None = None
    programme_id: int | None = None
    schedule_id: int | None = None
    emergency_id: int | None = None
    outcome: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    by_recorded: bool = False  # since/until apply to recorded_at instead of planned_start
    limit: int | None = 100
    offset: int = 0


@dataclass(frozen=True)
class CommandFacts:
    issued_at: datetime
    priority: str | None
    emergency_id: int | None
    action: str


class PlayLogRepository(Protocol):
    def add_many(self, entries: Sequence[PlayLogEntry]) -> int: ...
    def communes_of(self, device_ids: Iterable[str]) -> dict[str, str]: ...
    def schedule_items(self, keys: Iterable[tuple[str, int]]) -> dict[tuple[str, int], list[dict[str, Any]]]: ...
    def command_facts(self, cmd_ids: Iterable[str]) -> dict[str, CommandFacts]: ...
    def list(self, query: PlayLogQuery) -> Sequence[PlayLogEntry]: ...
    def iterate(self, query: PlayLogQuery) -> Iterable[PlayLogEntry]: ...
    def purge(self, table: str, before: datetime, limit: int) -> int: ...


@dataclass(frozen=True)
class Emergency:
    """An emergency broadcast (khẩn cấp): what played where, and the play_now / stop commands that carried it."""

    id: int
    status: str  # active | stopped (expired is derived from expires_at when read)
    reason: str
    targets: dict  # {areas, zones, devices} as asked, plus {publish: {zones, devices}, chains, volume, ...}
    area_code: str  # owner, for listing
    created_by: str
    created_at: datetime
    expires_at: datetime
    audio_id: int | None = None
    stream_url: str | None = None
    text: str | None = None
    cmd_id: str | None = None
    stop_cmd_id: str | None = None
    test_only: bool = False
    source: str = "operator"  # operator | cap | central
    external_id: str | None = None
    stopped_at: datetime | None = None


class EmergencyRepository(Protocol):
    def add(self, emergency: Emergency) -> Emergency: ...
    def get(self, emergency_id: int) -> Emergency | None: ...
    def list(self, *, within_areas: frozenset[str] | None, status: str | None = None, limit: int = 100,
             offset: int = 0) -> Sequence[Emergency]: ...
    def by_external_id(self, source: str, external_id: str) -> Sequence[Emergency]: ...
    def update(self, emergency_id: int, **fields: Any) -> None: ...
