"""Emergencies in SQL."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcast.persistence.models import EmergencyRow
from broadcast.persistence.repositories import _aware, within_areas_clause
from broadcast.services.ports import Emergency

_FIELDS = ("status", "reason", "targets", "area_code", "created_by", "audio_id", "stream_url", "text", "cmd_id",
           "stop_cmd_id", "test_only", "source", "external_id")


def _emergency(row: EmergencyRow) -> Emergency:
    return Emergency(id=row.id, created_at=_aware(row.created_at), expires_at=_aware(row.expires_at),
                     stopped_at=_aware(row.stopped_at), **{name: getattr(row, name) for name in _FIELDS})


class SqlEmergencyRepository:
    def __init__(self, session: Session):
        self.session = session

    def add(self, emergency: Emergency) -> Emergency:
        row = EmergencyRow(created_at=emergency.created_at, expires_at=emergency.expires_at,
                           stopped_at=emergency.stopped_at, **{name: getattr(emergency, name) for name in _FIELDS})
        self.session.add(row)
        self.session.flush()
        return _emergency(row)

    def get(self, emergency_id: int) -> Emergency | None:
        row = self.session.get(EmergencyRow, emergency_id)
        return _emergency(row) if row else None

    def list(self, *, within_areas: frozenset[str] | None, status: str | None = None, limit: int = 100,
             offset: int = 0) -> Sequence[Emergency]:
        stmt = select(EmergencyRow).order_by(EmergencyRow.id.desc()).limit(limit).offset(offset)
        if within_areas is not None:
            stmt = stmt.where(within_areas_clause(EmergencyRow.area_code, within_areas))
        if status is not None:
            stmt = stmt.where(EmergencyRow.status == status)
        return [_emergency(r) for r in self.session.scalars(stmt)]

    def by_external_id(self, source: str, external_id: str) -> Sequence[Emergency]:
        stmt = (select(EmergencyRow).where(EmergencyRow.source == source, EmergencyRow.external_id == external_id)
                .order_by(EmergencyRow.id))
        return [_emergency(r) for r in self.session.scalars(stmt)]

    def update(self, emergency_id: int, **fields: Any) -> None:
        row = self.session.get_one(EmergencyRow, emergency_id)
        for name, value in fields.items():
            setattr(row, name, value)
        self.session.flush()
