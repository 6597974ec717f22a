"""The bridge's rows in SQL: bulletins, the ordered outbox, small durable state, and what the outbound reads."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import fields
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

from broadcast.domain.errors import Conflict
from broadcast.persistence.models import (
    AreaRow,
    BridgeOutboxRow,
    BridgeStateRow,
    BulletinRow,
    DailyAirtimeRow,
    DailyCommuneRow,
    DeviceRow,
    EmergencyRow,
    PlayLogRow,
    ProgrammeRow,
)
from broadcast.persistence.repositories import _aware, affected_rows
from broadcast.services.bridge.ports import BulletinRecord, OutboxMessage, PlaybackRow, Station

_TIMES = ("valid_from", "valid_until", "issued_at", "received_at")


def _utc(value: Any) -> Any:
    """SQLite keeps a datetime's wall-clock fields without its offset: everything goes in as UTC."""
    return value.astimezone(UTC) if isinstance(value, datetime) and value.tzinfo else value


def _record(row: BulletinRow) -> BulletinRecord:
    values = {f.name: getattr(row, f.name) for f in fields(BulletinRecord)}
    values["target_areas"] = tuple(row.target_areas or ())
    for name in _TIMES:
        values[name] = _aware(values[name])
    return BulletinRecord(**values)


def _message(row: BridgeOutboxRow) -> OutboxMessage:
    return OutboxMessage(id=row.id, kind=row.kind, idempotency_key=row.idempotency_key, payload=row.payload,
                         created_at=_aware(row.created_at), attempts=row.attempts,
                         next_attempt_at=_aware(row.next_attempt_at), delivered_at=_aware(row.delivered_at),
                         last_error=row.last_error)


def _iso(value: datetime | None) -> str | None:
    return _aware(value).isoformat() if value is not None else None


class SqlBridgeRepository:
    def __init__(self, session: Session):
        self.session = session

    def _insert(self, model):
        dialect = self.session.get_bind().dialect.name
        return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)

    # ------------------------------------------------------------------ bulletins

    def get_bulletin(self, bulletin_id: str, *, for_update: bool = False) -> BulletinRecord | None:
        stmt = select(BulletinRow).where(BulletinRow.id == bulletin_id)
        if for_update:
            stmt = stmt.with_for_update()
        row = self.session.scalar(stmt)
        return _record(row) if row else None

    def save_bulletin(self, record: BulletinRecord, *, replacing: str | None = None) -> None:
        """Insert a new bulletin (replacing=None), or replace the stored one only if it still has the status
        `replacing`; either way a concurrent import of the same id fails with Conflict instead of being
        overwritten (without this, SQLite's autocommit reads let two imports both "accept" one bulletin)."""
        values = {f.name: _utc(getattr(record, f.name)) for f in fields(BulletinRecord)}
        values["target_areas"] = list(record.target_areas)
        values["payload"] = dict(record.payload)
        if replacing is None:
            self.session.add(BulletinRow(**values))
            self.session.flush()  # a unique violation: Conflict (persistence.database)
            return
        changed = self.session.execute(update(BulletinRow).where(BulletinRow.id == record.id,
                                                                 BulletinRow.status == replacing).values(**values))
        if affected_rows(changed) != 1:
            raise Conflict(f"Bản tin {record.id} vừa được xử lý đồng thời; không ghi đè.", code="concurrent_change")

    def list_bulletins(self, *, status: str | None, limit: int, offset: int) -> Sequence[BulletinRecord]:
        stmt = select(BulletinRow).order_by(BulletinRow.received_at.desc(), BulletinRow.id).limit(limit).offset(offset)
        if status:
            stmt = stmt.where(BulletinRow.status == status)
        return [_record(r) for r in self.session.scalars(stmt)]

    # ------------------------------------------------------------------ outbox

    def enqueue(self, kind: str, idempotency_key: str, payload: Mapping[str, Any], *, at: datetime) -> bool:
        """False when a message with this key is already queued (or was sent): each message exists once."""
        stmt = self._insert(BridgeOutboxRow).values(
            kind=kind, idempotency_key=idempotency_key, payload=dict(payload), created_at=_utc(at), attempts=0,
            next_attempt_at=_utc(at)).on_conflict_do_nothing(index_elements=["idempotency_key"])
        # rowcount is -1 on PostgreSQL here: whether a row came back says whether it was inserted.
        return self.session.execute(stmt.returning(BridgeOutboxRow.id)).scalar() is not None

    def pending(self, *, limit: int) -> Sequence[OutboxMessage]:
        stmt = (select(BridgeOutboxRow).where(BridgeOutboxRow.delivered_at.is_(None))
                .order_by(BridgeOutboxRow.id).limit(limit))
        return [_message(r) for r in self.session.scalars(stmt)]

    def mark_delivered(self, message_id: int, *, at: datetime, error: str | None = None) -> None:
        row = self.session.get_one(BridgeOutboxRow, message_id)
        row.delivered_at = _utc(at)
        row.attempts += 1
        row.last_error = error[:1000] if error else None
        self.session.flush()

    def mark_failed(self, message_id: int, *, error: str, next_attempt_at: datetime) -> None:
        row = self.session.get_one(BridgeOutboxRow, message_id)
        row.attempts += 1
        row.last_error = error[:1000]
        row.next_attempt_at = _utc(next_attempt_at)
        self.session.flush()

    def outbox_summary(self) -> dict[str, Any]:
        waiting = BridgeOutboxRow.delivered_at.is_(None)
        queued, oldest = self.session.execute(
            select(func.count(), func.min(BridgeOutboxRow.created_at)).where(waiting)).one()
        head = self.session.scalar(select(BridgeOutboxRow).where(waiting).order_by(BridgeOutboxRow.id).limit(1))
        delivered = self.session.scalar(select(func.count()).where(BridgeOutboxRow.delivered_at.is_not(None)))
        return {"queued": queued, "delivered": delivered, "oldest_queued_at": _iso(oldest),
                "head": None if head is None else {"id": head.id, "kind": head.kind, "attempts": head.attempts,
                                                   "next_attempt_at": _iso(head.next_attempt_at),
                                                   "last_error": head.last_error}}

    # ------------------------------------------------------------------ state

    def get_state(self, key: str) -> str | None:
        row = self.session.get(BridgeStateRow, key)
        return row.value if row else None

    def set_state(self, key: str, value: str, *, at: datetime) -> None:
        row = self.session.get(BridgeStateRow, key)
        if row is None:
            self.session.add(BridgeStateRow(key=key, value=value, updated_at=_utc(at)))
        else:
            row.value, row.updated_at = value, _utc(at)
        self.session.flush()

    # ------------------------------------------------------------------ what goes out

    def stations(self) -> Sequence[Station]:
        commune = aliased(AreaRow)
        rows = self.session.execute(
            select(DeviceRow, commune.name, commune.parent_code)
            .join(commune, commune.code == DeviceRow.commune_code)
            .order_by(DeviceRow.commune_code, DeviceRow.id))
        grouped: dict[str, tuple[str, str | None, list[dict]]] = {}
        for device, name, province in rows:
            state = "disabled" if device.disabled else ("online" if device.online else "offline")
            cluster = {"id": device.id, "name": device.name, "vendor": device.vendor, "model": device.model,
                       "connection": device.connection, "state": state, "last_seen": _iso(device.last_seen),
                       "latitude": device.latitude, "longitude": device.longitude, "firmware": device.firmware,
                       "test_device": device.test_device}
            grouped.setdefault(device.commune_code, (name, province, []))[2].append(cluster)
        return [Station(code, name, province, tuple(clusters)) for code, (name, province, clusters) in grouped.items()]

    def playback_after(self, after_id: int, *, recorded_before: datetime, limit: int) -> Sequence[PlaybackRow]:
        """Play-log rows of central bulletins: scheduled programmes with a bulletin id, or central emergencies."""
        bulletin = func.coalesce(ProgrammeRow.bulletin_id, EmergencyRow.external_id)
        stmt = (select(PlayLogRow, bulletin)
                .outerjoin(ProgrammeRow, ProgrammeRow.id == PlayLogRow.programme_id)
                .outerjoin(EmergencyRow, EmergencyRow.id == PlayLogRow.emergency_id)
                .where(PlayLogRow.id > after_id, PlayLogRow.recorded_at < _utc(recorded_before))
                .where((ProgrammeRow.bulletin_id.is_not(None)) | (EmergencyRow.source == "central"))
                .order_by(PlayLogRow.id).limit(limit))
        return [PlaybackRow(id=r.id, bulletin_id=b, device_id=r.device_id, commune_code=r.commune_code,
                            outcome=r.outcome, planned_start=_aware(r.planned_start), started_at=_aware(r.started_at),
                            ended_at=_aware(r.ended_at), recorded_at=_aware(r.recorded_at), reason=r.reason)
                for r, b in self.session.execute(stmt)]

    def daily_rows(self, day: date) -> tuple[Sequence[dict], Sequence[dict]]:
        airtime = [{"commune_code": r.commune_code, "source": r.source, "topic": r.topic, "language": r.language,
                    "priority": r.priority, "items": r.items, "plays": r.plays, "seconds": r.seconds}
                   for r in self.session.scalars(select(DailyAirtimeRow).where(DailyAirtimeRow.day == day)
                                                 .order_by(DailyAirtimeRow.commune_code, DailyAirtimeRow.source,
                                                           DailyAirtimeRow.topic, DailyAirtimeRow.language,
                                                           DailyAirtimeRow.priority))]
        communes = [{"commune_code": r.commune_code, "played": r.played, "missed": r.missed, "failed": r.failed,
                     "preempted": r.preempted, "devices": r.devices, "uptime_ratio": r.uptime_ratio,
                     "emergencies": r.emergencies, "emergency_devices": r.emergency_devices,
                     "emergency_reached": r.emergency_reached}
                    for r in self.session.scalars(select(DailyCommuneRow).where(DailyCommuneRow.day == day)
                                                  .order_by(DailyCommuneRow.commune_code))]
        return airtime, communes
