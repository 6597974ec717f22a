"""Devices, their live state and broker accounts, and commands, in SQL (the outbox and acks: delivery_repository)."""
from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from broadcast.domain.delivery import CommandInfo, CommandPublication
from broadcast.domain.devices import Connection, Device, DeviceQuery, DeviceState, MapPoint
from broadcast.domain.scheduling import TargetSet
from broadcast.domain.text import fold
from broadcast.persistence.models import (
    AreaRow,
    CommandDeliveryRow,
    CommandPublicationRow,
    CommandRow,
    DeviceAckRow,
    DeviceRow,
    DeviceZoneRow,
    SchedulePublicationRow,
)
from broadcast.persistence.playlog_repository import _chunks
from broadcast.persistence.repositories import _aware, within_areas_clause


def _device(row: DeviceRow, province_code: str) -> Device:
    return Device(id=row.id, name=row.name, commune_code=row.commune_code, province_code=province_code,
                  zones=tuple(z.zone_id for z in row.zones), vendor=row.vendor, model=row.model,
                  latitude=row.latitude, longitude=row.longitude, connection=Connection(row.connection),
                  disabled=row.disabled, test_device=row.test_device)


def _device_columns() -> Any:
    """A device's own columns and its province, for lists built without ORM objects."""
    d = DeviceRow
    return (select(d.id, d.name, d.commune_code, AreaRow.parent_code, d.vendor, d.model, d.latitude, d.longitude,
                   d.connection, d.disabled, d.test_device).join(AreaRow, AreaRow.code == d.commune_code))


def _device_of(row: Any, zones: dict[str, list[str]]) -> Device:
    return Device(id=row.id, name=row.name, commune_code=row.commune_code, province_code=row.parent_code or "",
                  zones=tuple(zones.get(row.id, ())), vendor=row.vendor, model=row.model, latitude=row.latitude,
                  longitude=row.longitude, connection=Connection(row.connection), disabled=row.disabled,
                  test_device=row.test_device)


def _state(row: DeviceRow, published: int | None, acknowledged: int | None,
           recent: tuple[dict, ...] = ()) -> DeviceState:
    return DeviceState(online=row.online, last_seen=_aware(row.last_seen), firmware=row.firmware, volume=row.volume,
                       playing_item=row.playing_item, playing_since=_aware(row.playing_since),
                       clock_offset_ms=row.clock_offset_ms, storage_free_bytes=row.storage_free_bytes,
                       reported_version=row.reported_version, published_version=published,
                       acknowledged_version=acknowledged, recent_acks=recent)


def _latest_versions():
    published = (select(SchedulePublicationRow.device_id, func.max(SchedulePublicationRow.version).label("v"))
                 .group_by(SchedulePublicationRow.device_id).subquery())
    acked = (select(SchedulePublicationRow.device_id, func.max(SchedulePublicationRow.version).label("v"))
             .where(SchedulePublicationRow.received_at.is_not(None))
             .group_by(SchedulePublicationRow.device_id).subquery())
    return published, acked


def _filtered(stmt: Any, query: DeviceQuery) -> Any:
    """The query's filters and page on a statement selecting from devices joined to their commune."""
    stmt = stmt.order_by(DeviceRow.id).limit(query.limit).offset(query.offset)
    if query.within_areas is not None:
        stmt = stmt.where(within_areas_clause(DeviceRow.commune_code, query.within_areas))
    if query.area_code is not None:
        stmt = stmt.where(or_(DeviceRow.commune_code == query.area_code, AreaRow.parent_code == query.area_code))
    if query.zone_id is not None:
        stmt = stmt.where(DeviceRow.zones.any(DeviceZoneRow.zone_id == query.zone_id))
    if query.search and (folded := fold(query.search)):
        stmt = stmt.where(or_(DeviceRow.name_folded.contains(folded, autoescape=True),
                              DeviceRow.id.contains(folded, autoescape=True)))
    if query.online is not None:
        stmt = stmt.where(DeviceRow.online.is_(query.online))
    if not query.include_disabled:
        stmt = stmt.where(DeviceRow.disabled.is_(False))
    return stmt


class SqlDeviceRepository:
    def __init__(self, session: Session):
        self.session = session

    def _province_of(self, commune_code: str) -> str:
        return self.session.scalar(select(AreaRow.parent_code).where(AreaRow.code == commune_code)) or ""

    def get(self, device_id: str) -> Device | None:
        row = self.session.get(DeviceRow, device_id)
        return _device(row, self._province_of(row.commune_code)) if row else None

    def add(self, device: Device, *, mqtt_password_hash: str, created_at: datetime) -> None:
        self.session.add(DeviceRow(
            id=device.id, name=device.name, name_folded=fold(device.name), commune_code=device.commune_code,
            vendor=device.vendor,
            model=device.model, latitude=device.latitude, longitude=device.longitude,
            connection=device.connection.value, mqtt_password_hash=mqtt_password_hash, disabled=device.disabled,
            test_device=device.test_device, created_at=created_at, online=False,
            zones=[DeviceZoneRow(zone_id=z) for z in device.zones]))
        self.session.flush()

    def set_password_hash(self, device_id: str, mqtt_password_hash: str) -> None:
        self.session.get_one(DeviceRow, device_id).mqtt_password_hash = mqtt_password_hash

    def set_disabled(self, device_id: str, disabled: bool) -> None:
        self.session.get_one(DeviceRow, device_id).disabled = disabled

    def set_zones(self, device_id: str, zone_ids: Sequence[str], *, at: datetime) -> None:
        """Replace the device's own zones (villages...); `updated_at` tells the compiler it changed."""
        row = self.session.get_one(DeviceRow, device_id)
        kept = {z.zone_id: z for z in row.zones}
        row.zones = [kept.get(z) or DeviceZoneRow(zone_id=z) for z in dict.fromkeys(zone_ids)]
        row.updated_at = at
        self.session.flush()

    def list(self, query: DeviceQuery) -> Sequence[tuple[Device, DeviceState]]:
        published, acked = _latest_versions()
        stmt = (select(DeviceRow, AreaRow.parent_code, published.c.v, acked.c.v)
                .join(AreaRow, AreaRow.code == DeviceRow.commune_code)
                .outerjoin(published, published.c.device_id == DeviceRow.id)
                .outerjoin(acked, acked.c.device_id == DeviceRow.id))
        if query.stale_schedule is not None:
            stale = and_(published.c.v.is_not(None), or_(acked.c.v.is_(None), acked.c.v < published.c.v))
            stmt = stmt.where(stale if query.stale_schedule else ~stale)
        return [(_device(row, province or ""), _state(row, pub, ack))
                for row, province, pub, ack in self.session.execute(_filtered(stmt, query))]

    def list_plain(self, query: DeviceQuery) -> Sequence[Device]:
        """As `list`, without the live state and by plain columns: pickers need names, not ORM objects and the
        versions of every publication (500 devices cost 50 ms that way)."""
        if query.stale_schedule is not None:
            raise ValueError("stale_schedule needs the live state: use list()")
        rows = self.session.execute(_filtered(_device_columns(), query)).all()
        zones: dict[str, list[str]] = {}
        for chunk in _chunks([row.id for row in rows]):
            for device_id, zone_id in self.session.execute(
                    select(DeviceZoneRow.device_id, DeviceZoneRow.zone_id).where(DeviceZoneRow.device_id.in_(chunk))
                    .order_by(DeviceZoneRow.zone_id)):
                zones.setdefault(device_id, []).append(zone_id)
        return [_device_of(row, zones) for row in rows]

    def map_points(self, query: DeviceQuery) -> builtins.list[MapPoint]:
        """As `list`, with only what a map marker shows: a province's 5,000 devices with their state cost 0.5 s."""
        if query.stale_schedule is not None:
            raise ValueError("stale_schedule needs the live state: use list()")
        d = DeviceRow
        stmt = select(d.id, d.name, d.latitude, d.longitude, d.online).join(AreaRow, AreaRow.code == d.commune_code)
        rows = self.session.execute(_filtered(stmt, query))
        return [MapPoint(i, n, lat, lon, bool(on)) for i, n, lat, lon, on in rows]

    def state(self, device_id: str, *, recent_acks: int = 20) -> DeviceState:
        row = self.session.get_one(DeviceRow, device_id)
        published = self.session.scalar(select(func.max(SchedulePublicationRow.version))
                                        .where(SchedulePublicationRow.device_id == device_id))
        acked = self.session.scalar(select(func.max(SchedulePublicationRow.version))
                                    .where(SchedulePublicationRow.device_id == device_id,
                                           SchedulePublicationRow.received_at.is_not(None)))
        acks = self.session.scalars(select(DeviceAckRow).where(DeviceAckRow.device_id == device_id)
                                    .order_by(DeviceAckRow.id.desc()).limit(recent_acks))
        recent = tuple({"ref": {a.ref_kind: int(a.ref_id) if a.ref_kind == "schedule" else a.ref_id},
                        "stage": a.stage, "item_id": a.item_id or None, "at": _aware(a.at),
                        "reason": a.reason} for a in acks)
        return _state(row, published, acked, recent)

    def broker_accounts(self) -> Sequence[tuple[str, str]]:
        rows = self.session.execute(select(DeviceRow.id, DeviceRow.mqtt_password_hash)
                                    .where(DeviceRow.disabled.is_(False)).order_by(DeviceRow.id))
        return [(device_id, password_hash) for device_id, password_hash in rows]

    def ids_in_zones(self, zone_ids: Sequence[str]) -> builtins.list[str]:
        """Enabled devices listening on any of these zones (area zones included)."""
        wanted = set(zone_ids)
        return [d.id for d in self.directory() if wanted.intersection(d.all_zones())]

    def reached_by(self, targets: TargetSet) -> builtins.list[str]:
        """Ids of the enabled devices the targets reach, in one statement: the compiler's rule
        (scheduler.compiler.hits) in SQL, so a form or an inbox shows a schedule's reach without loading every
        device (the directory of 10,000 devices cost 80 ms a view)."""
        d = DeviceRow

        def matching(areas: Sequence[str], zones: Sequence[str], devices: Sequence[str]) -> Any:
            clauses = []
            if areas:
                clauses += [d.commune_code.in_(areas), AreaRow.parent_code.in_(areas)]
            if zones:
                clauses.append(d.id.in_(select(DeviceZoneRow.device_id).where(DeviceZoneRow.zone_id.in_(zones))))
            if devices:
                clauses.append(d.id.in_(devices))
            return or_(*clauses) if clauses else None

        included = matching(targets.areas, targets.zones, targets.devices)
        if included is None:
            return []
        stmt = (select(d.id).join(AreaRow, AreaRow.code == d.commune_code)
                .where(d.disabled.is_(False), included).order_by(d.id))
        excluded = matching(targets.exclude_areas, targets.exclude_zones, targets.exclude_devices)
        if excluded is not None:
            stmt = stmt.where(~excluded)
        return builtins.list(self.session.scalars(stmt))

    def enabled_per_commune(self) -> builtins.list[tuple[str, str | None, int]]:
        """(commune, its parent, enabled devices) for every commune with a device: one grouped scan from which the
        reach of any area-only target set is a sum (the approvals inbox counts many schedules at once)."""
        rows = self.session.execute(
            select(DeviceRow.commune_code, AreaRow.parent_code, func.count())
            .join(AreaRow, AreaRow.code == DeviceRow.commune_code)
            .where(DeviceRow.disabled.is_(False)).group_by(DeviceRow.commune_code, AreaRow.parent_code))
        return [(commune, parent, count) for commune, parent, count in rows]

    def directory(self) -> Sequence[Device]:
        """Every enabled device, by plain column queries: ORM objects for ten thousand devices cost 0.3-0.8 s, which
        the schedule form and the approvals inbox (the reach of a schedule) pay on every view."""
        zones: dict[str, list[str]] = {}
        for device_id, zone_id in self.session.execute(
                select(DeviceZoneRow.device_id, DeviceZoneRow.zone_id).order_by(DeviceZoneRow.zone_id)):
            zones.setdefault(device_id, []).append(zone_id)
        rows = self.session.execute(_device_columns().where(DeviceRow.disabled.is_(False)).order_by(DeviceRow.id))
        return [_device_of(row, zones) for row in rows]


class SqlCommandRepository:
    def __init__(self, session: Session):
        self.session = session

    def add(self, *, cmd_id: str, action: str, priority: str | None, issued_at: datetime, expires_at: datetime,
            created_by: str, emergency_id: int | None, publications: Sequence[CommandPublication],
            tracked_devices: Sequence[str]) -> None:
        self.session.add(CommandRow(cmd_id=cmd_id, action=action, priority=priority, issued_at=issued_at,
                                    expires_at=expires_at, created_by=created_by, emergency_id=emergency_id))
        self.session.flush()
        self.session.add_all(CommandPublicationRow(cmd_id=cmd_id, target_kind=p.target_kind, target_id=p.target_id,
                                                   document=p.document, attempts=0) for p in publications)
        self.session.add_all(CommandDeliveryRow(cmd_id=cmd_id, device_id=d) for d in dict.fromkeys(tracked_devices))
        self.session.flush()

    def due(self, *, now: datetime, limit: int) -> Sequence[CommandPublication]:
        """Never-published documents of commands that have not expired (an expired command is not sent)."""
        stmt = (select(CommandPublicationRow).join(CommandRow, CommandRow.cmd_id == CommandPublicationRow.cmd_id)
                .where(CommandPublicationRow.published_at.is_(None), CommandRow.expires_at > now)
                .order_by(CommandRow.issued_at).limit(limit))
        return [CommandPublication(r.cmd_id, r.target_kind, r.target_id, r.document)
                for r in self.session.scalars(stmt)]

    def mark_published(self, cmd_id: str, target_kind: str, target_id: str, *, at: datetime) -> None:
        self.session.execute(update(CommandPublicationRow)
                             .where(CommandPublicationRow.cmd_id == cmd_id,
                                    CommandPublicationRow.target_kind == target_kind,
                                    CommandPublicationRow.target_id == target_id)
                             .values(published_at=at, attempts=CommandPublicationRow.attempts + 1))

    def reach(self, cmd_id: str) -> dict[str | None, int]:
        """How many tracked devices stand at each stage (None: nothing heard yet)."""
        rows = self.session.execute(select(CommandDeliveryRow.stage, func.count())
                                    .where(CommandDeliveryRow.cmd_id == cmd_id).group_by(CommandDeliveryRow.stage))
        return {stage: n for stage, n in rows}

    def info(self, cmd_id: str) -> CommandInfo | None:
        row = self.session.get(CommandRow, cmd_id)
        if row is None:
            return None
        return CommandInfo(row.cmd_id, row.action, row.priority, _aware(row.issued_at), _aware(row.expires_at),
                           row.created_by, row.emergency_id)

    def deliveries(self, cmd_id: str, within_areas: frozenset[str]) -> builtins.list[tuple[str, str | None]]:
        """(device, stage) of the tracked devices in those areas, by device id."""
        rows = self.session.execute(
            select(CommandDeliveryRow.device_id, CommandDeliveryRow.stage)
            .join(DeviceRow, DeviceRow.id == CommandDeliveryRow.device_id)
            .where(CommandDeliveryRow.cmd_id == cmd_id, within_areas_clause(DeviceRow.commune_code, within_areas))
            .order_by(CommandDeliveryRow.device_id))
        return [(d, s) for d, s in rows]

    def exists(self, cmd_id: str) -> bool:
        return self.session.get(CommandRow, cmd_id) is not None
