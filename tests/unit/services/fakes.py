"""In-memory repositories behind one unit of work, for the schedule, delivery and emergency use cases.

Dict-backed, with the semantics those use cases rely on and the SQL repositories give them: ids grow; a unit of
work is re-entrant and whatever it did not commit is gone when it is left; a repository used outside a transaction
is an error. For delivery: a newer version retires the older unacknowledged ones, only the newest waiting version of
an enabled device is due (an offline device gets only what was never sent), the first received ack stamps a version,
acks are stored once and command deliveries only move forward. The ack rules are the domain's own functions
(admissible_acks, confirms_version, advanced_deliveries), shared with SqlDeliveryRepository, not copies.

Only the methods those use cases call are here: a call to any other fails loudly (AttributeError).
"""
from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from broadcast import protocol
from broadcast.domain.areas import Area, Zone
from broadcast.domain.audio import AssetStatus, AudioAsset
from broadcast.domain.audit import AuditEntry
from broadcast.domain.delivery import (
    AckReport,
    CommandPublication,
    DuePublication,
    Publication,
    StatusReport,
    admissible_acks,
    advanced_deliveries,
    confirms_version,
)
from broadcast.domain.devices import Device, DeviceState
from broadcast.domain.policy import PolicyOverride
from broadcast.domain.scheduling import MediaRef, Programme, Schedule, ScheduleStatus, TargetSet
from broadcast.scheduler.compiler import hits
from broadcast.services.planning import compiler_targets, device_info
from broadcast.services.ports import Emergency
from broadcast.services.reports.ports import PresenceEvent

AckKey = tuple[str, str, str, str, str]


@dataclass(frozen=True)
class StoredCommand:
    cmd_id: str
    action: str
    priority: str | None
    issued_at: datetime
    expires_at: datetime
    created_by: str
    emergency_id: int | None


@dataclass
class Tables:
    """Everything stored; a transaction works on this and is undone by putting back a copy."""

    areas: dict[str, Area] = field(default_factory=dict)
    zones: dict[str, Zone] = field(default_factory=dict)
    devices: dict[str, Device] = field(default_factory=dict)
    device_state: dict[str, DeviceState] = field(default_factory=dict)
    audio: dict[int, AudioAsset] = field(default_factory=dict)
    programmes: dict[int, Programme] = field(default_factory=dict)
    schedules: dict[int, Schedule] = field(default_factory=dict)
    policies: dict[str, PolicyOverride] = field(default_factory=dict)
    audit: list[AuditEntry] = field(default_factory=list)
    publications: dict[tuple[str, int], Publication] = field(default_factory=dict)
    acks: dict[AckKey, AckReport] = field(default_factory=dict)
    commands: dict[str, StoredCommand] = field(default_factory=dict)
    command_publications: dict[tuple[str, str, str], CommandPublication] = field(default_factory=dict)
    deliveries: dict[tuple[str, str], str | None] = field(default_factory=dict)  # (cmd_id, device_id) -> stage
    emergencies: dict[int, Emergency] = field(default_factory=dict)
    presence: list[PresenceEvent] = field(default_factory=list)
    last_ids: Counter[str] = field(default_factory=Counter)

    def next_id(self, table: str) -> int:
        self.last_ids[table] += 1
        return self.last_ids[table]


class FakeDatabase:
    """The committed state, shared by every unit of work made from it (as one database is)."""

    def __init__(self) -> None:
        self.tables = Tables()
        self.commits = 0

    def uow(self) -> FakeUnitOfWork:
        return FakeUnitOfWork(self)

    def add(self, *rows: Area | Zone | Device | AudioAsset | Programme) -> None:
        """Seed committed rows, as fixtures do with a real database (policies: tables.policies[code] = ...)."""
        for row in rows:
            if isinstance(row, Area):
                self.tables.areas[row.code] = row
            elif isinstance(row, Zone):
                self.tables.zones[row.id] = row
            elif isinstance(row, Device):
                self.tables.devices[row.id] = row
            elif isinstance(row, AudioAsset):
                self.tables.audio[row.id] = row
                self.tables.last_ids["audio"] = max(self.tables.last_ids["audio"], row.id)
            elif isinstance(row, Programme):
                self.tables.programmes[row.id] = row
                self.tables.last_ids["programmes"] = max(self.tables.last_ids["programmes"], row.id)
            else:
                raise TypeError(f"cannot seed {row!r}")


class FakeUnitOfWork:
    """Satisfies ScheduleUnitOfWork, DeliveryUnitOfWork and EmergencyUnitOfWork (services.ports)."""

    def __init__(self, db: FakeDatabase):
        self.db = db
        self._depth = 0
        self._begin: Tables | None = None
        self.areas = FakeAreas(self)
        self.zones = FakeZones(self)
        self.devices = FakeDevices(self)
        self.audio = FakeAudio(self)
        self.programmes = FakeProgrammes(self)
        self.schedules = FakeSchedules(self)
        self.policies = FakePolicies(self)
        self.audit = FakeAudit(self)
        self.delivery = FakeDelivery(self)
        self.commands = FakeCommands(self)
        self.emergencies = FakeEmergencies(self)
        self.reports = FakePresence(self)

    def __enter__(self) -> FakeUnitOfWork:
        if self._depth == 0:
            self._begin = copy.deepcopy(self.db.tables)
        self._depth += 1
        return self

    def __exit__(self, *exc: object) -> None:
        self._depth -= 1
        if self._depth == 0:
            assert self._begin is not None
            self.db.tables, self._begin = self._begin, None  # anything not committed is discarded

    def commit(self) -> None:
        assert self._depth > 0, "commit outside a transaction"
        self._begin = copy.deepcopy(self.db.tables)
        self.db.commits += 1

    def rollback(self) -> None:
        assert self._begin is not None
        self.db.tables = copy.deepcopy(self._begin)

    def tables(self) -> Tables:
        if self._depth == 0:
            raise AssertionError("a repository was used outside its unit of work (`with uow:`)")
        return self.db.tables


class _Repository:
    def __init__(self, uow: FakeUnitOfWork):
        self._uow = uow

    @property
    def _t(self) -> Tables:
        return self._uow.tables()


class FakeAreas(_Repository):
    def get(self, code: str) -> Area | None:
        return self._t.areas.get(code)


class FakeZones(_Repository):
    def get(self, zone_id: str) -> Zone | None:
        return self._t.zones.get(zone_id)


class FakeDevices(_Repository):
    def get(self, device_id: str) -> Device | None:
        return self._t.devices.get(device_id)  # disabled ones too, as the registry shows them

    def directory(self) -> Sequence[Device]:
        return [d for _, d in sorted(self._t.devices.items()) if not d.disabled]

    def reached_by(self, targets: TargetSet) -> list[str]:
        wanted = compiler_targets(targets)
        return [d.id for d in self.directory() if hits(wanted, device_info(d))]

    def ids_in_zones(self, zone_ids: Sequence[str]) -> list[str]:
        wanted = set(zone_ids)
        return [d.id for d in self.directory() if wanted.intersection(d.all_zones())]


class FakeAudio(_Repository):
    def get(self, asset_id: int) -> AudioAsset | None:
        return self._t.audio.get(asset_id)

    def add(self, asset: AudioAsset) -> AudioAsset:
        stored = replace(asset, id=self._t.next_id("audio"))
        self._t.audio[stored.id] = stored
        return stored


class FakeProgrammes(_Repository):
    def get(self, programme_id: int) -> Programme | None:
        return self._t.programmes.get(programme_id)

    def media(self, programme_ids: Sequence[int]) -> dict[int, list[tuple[MediaRef | None, str]]]:
        """Per programme, its assets in order: (media, status); media is None until the asset is ready."""
        out: dict[int, list[tuple[MediaRef | None, str]]] = {}
        for programme_id in programme_ids:
            out[programme_id] = []
            for asset_id in self._t.programmes[programme_id].asset_ids:
                asset = self._t.audio[asset_id]
                ready = asset.status is AssetStatus.READY and asset.sha256
                media = (MediaRef(asset.id, asset.sha256 or "", asset.bytes or 0, asset.duration_ms or 0)
                         if ready else None)
                out[programme_id].append((media, asset.status.value))
        return out


class FakeSchedules(_Repository):
    def add(self, schedule: Schedule) -> Schedule:
        stored = replace(schedule, id=self._t.next_id("schedules"))
        self._t.schedules[stored.id] = stored
        return stored

    def save(self, schedule: Schedule, *, at: datetime) -> Schedule:
        if schedule.id not in self._t.schedules:
            raise LookupError(f"no schedule {schedule.id} to save")  # the SQL get_one raises too
        self._t.schedules[schedule.id] = schedule
        return schedule

    def get(self, schedule_id: int, *, for_update: bool = False) -> Schedule | None:
        return self._t.schedules.get(schedule_id)

    def approved(self) -> Sequence[Schedule]:
        return [s for _, s in sorted(self._t.schedules.items()) if s.status is ScheduleStatus.APPROVED]


class FakePolicies(_Repository):
    def get(self, area_code: str) -> PolicyOverride | None:
        return self._t.policies.get(area_code)


class FakeAudit(_Repository):
    def append(self, entry: AuditEntry) -> None:
        self._t.audit.append(replace(entry, id=self._t.next_id("audit")))


class FakeDelivery(_Repository):
    def latest_publication(self, device_id: str) -> Publication | None:
        versions = [p for (d, _), p in self._t.publications.items() if d == device_id]
        return max(versions, key=lambda p: p.version, default=None)

    def add_publication(self, publication: Publication) -> None:
        key = (publication.device_id, publication.version)
        if key in self._t.publications:
            raise KeyError(f"version {key} exists")  # the primary key refuses it
        self._t.publications[key] = replace(publication, attempts=0, next_attempt_at=publication.created_at)
        for (device_id, version), older in list(self._t.publications.items()):
            if (device_id == publication.device_id and version < publication.version and older.received_at is None
                    and older.next_attempt_at is not None):
                self._t.publications[(device_id, version)] = replace(older, next_attempt_at=None)  # retired

    def due_publications(self, *, now: datetime, limit: int) -> Sequence[DuePublication]:
        due = []
        for publication in self._t.publications.values():
            device = self._t.devices.get(publication.device_id)
            online = self._t.device_state.get(publication.device_id, DeviceState()).online
            if (device is not None and not device.disabled and publication.received_at is None
                    and publication.next_attempt_at is not None and publication.next_attempt_at <= now
                    and (publication.published_at is None or online)):
                due.append(publication)
        due.sort(key=lambda p: (p.published_at is not None, p.created_at))
        return [DuePublication(p.device_id, p.version, p.attempts, protocol.encode(p.document)) for p in due[:limit]]

    def mark_published(self, published: Sequence[tuple[str, int, datetime]], *, at: datetime) -> None:
        for device_id, version, next_attempt_at in published:
            p = self._t.publications[(device_id, version)]
            self._t.publications[(device_id, version)] = replace(p, published_at=at, attempts=p.attempts + 1,
                                                                 next_attempt_at=next_attempt_at)

    def resend_newer(self, receipts: Mapping[str, tuple[int, datetime]]) -> None:
        for (device_id, version), p in list(self._t.publications.items()):
            if device_id not in receipts:
                continue
            read, heard = receipts[device_id]
            if (version > read and p.received_at is None and p.published_at is not None
                    and p.next_attempt_at is not None and p.next_attempt_at > heard):
                self._t.publications[(device_id, version)] = replace(p, next_attempt_at=heard)

    def record_statuses(self, statuses: Sequence[StatusReport], *, known: Collection[str] | None = None) -> int:
        newest = {s.device_id: s for s in statuses}
        known = self._t.devices.keys() if known is None else known
        applied = {d: s for d, s in newest.items() if d in known}
        for device_id, s in applied.items():
            state = self._t.device_state.get(device_id, DeviceState())
            if s.online:
                state = replace(state, online=True, last_seen=s.received_at, firmware=s.firmware, volume=s.volume,
                                playing_item=s.playing_item, playing_since=s.playing_since,
                                clock_offset_ms=s.clock_offset_ms, storage_free_bytes=s.storage_free_bytes,
                                reported_version=s.schedule_version)
            else:
                state = replace(state, online=False, last_seen=s.received_at, playing_item=None, playing_since=None)
            self._t.device_state[device_id] = state
        return len(applied)

    def record_acks(self, acks: Sequence[AckReport], *, known: Collection[str] | None = None) -> list[AckReport]:
        known = self._t.devices.keys() if known is None else known
        unique = admissible_acks(acks, known, self._t.deliveries.keys())
        new = [a for key, a in unique.items() if key not in self._t.acks]
        for ack in new:
            self._t.acks[ack.key] = ack
            if confirms_version(ack):
                key = (ack.device_id, int(ack.ref_id))
                publication = self._t.publications.get(key)
                if publication is not None and publication.received_at is None:  # the first one wins
                    self._t.publications[key] = replace(publication, received_at=ack.received_at)
        commands = [a for a in new if a.ref_kind == "command"]
        stages = {(a.ref_id, a.device_id): self._t.deliveries[(a.ref_id, a.device_id)] for a in commands}
        for key, ack in advanced_deliveries(commands, stages).items():
            self._t.deliveries[key] = ack.stage
        return new


class FakeCommands(_Repository):
    def add(self, *, cmd_id: str, action: str, priority: str | None, issued_at: datetime, expires_at: datetime,
            created_by: str, emergency_id: int | None, publications: Sequence[CommandPublication],
            tracked_devices: Sequence[str]) -> None:
        if cmd_id in self._t.commands:
            raise KeyError(f"command {cmd_id} exists")
        self._t.commands[cmd_id] = StoredCommand(cmd_id, action, priority, issued_at, expires_at, created_by,
                                                 emergency_id)
        for p in publications:
            self._t.command_publications[(cmd_id, p.target_kind, p.target_id)] = replace(p, published_at=None)
        for device_id in dict.fromkeys(tracked_devices):
            self._t.deliveries[(cmd_id, device_id)] = None

    def due(self, *, now: datetime, limit: int) -> Sequence[CommandPublication]:
        """Never-published documents of commands that have not expired, oldest command first."""
        due = [p for p in self._t.command_publications.values()
               if p.published_at is None and self._t.commands[p.cmd_id].expires_at > now]
        due.sort(key=lambda p: self._t.commands[p.cmd_id].issued_at)
        return due[:limit]

    def mark_published(self, cmd_id: str, target_kind: str, target_id: str, *, at: datetime) -> None:
        key = (cmd_id, target_kind, target_id)
        self._t.command_publications[key] = replace(self._t.command_publications[key], published_at=at)

    def reach(self, cmd_id: str) -> dict[str | None, int]:
        return dict(Counter(stage for (c, _), stage in self._t.deliveries.items() if c == cmd_id))

    def exists(self, cmd_id: str) -> bool:
        return cmd_id in self._t.commands


class FakeEmergencies(_Repository):
    def add(self, emergency: Emergency) -> Emergency:
        stored = replace(emergency, id=self._t.next_id("emergencies"))
        self._t.emergencies[stored.id] = stored
        return stored

    def get(self, emergency_id: int) -> Emergency | None:
        return self._t.emergencies.get(emergency_id)

    def update(self, emergency_id: int, **fields: Any) -> None:
        self._t.emergencies[emergency_id] = replace(self._t.emergencies[emergency_id], **fields)


class FakePresence(_Repository):
    def online_flags(self, device_ids: Iterable[str], *, lock: bool = False) -> dict[str, bool | None]:
        """Known devices' stored online flag; None for a device that never sent a status (`lock`: one process here)."""
        flags: dict[str, bool | None] = {}
        for device_id in set(device_ids):
            if device_id in self._t.devices:
                state = self._t.device_state.get(device_id, DeviceState())
                flags[device_id] = None if state.last_seen is None else state.online
        return flags

    def add_presence(self, events: Sequence[PresenceEvent]) -> int:
        self._t.presence.extend(events)
        return len(events)


class RecordingPublisher:
    """The broker as the outbox sees it: records each batch and answers per message (`accept`)."""

    def __init__(self, accept: bool = True):
        self.accept = accept
        self.schedules: list[tuple[str, bytes]] = []
        self.commands: list[CommandPublication] = []

    def publish_schedules(self, batch: Sequence[tuple[str, bytes]], *, timeout: float) -> list[bool]:
        self.schedules.extend(batch)
        return [self.accept] * len(batch)

    def publish_commands(self, batch: Sequence[CommandPublication], *, timeout: float) -> list[bool]:
        self.commands.extend(batch)
        return [self.accept] * len(batch)
