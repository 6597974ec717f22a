"""Live broadcast sessions in SQL."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcast.domain.live import LiveSession, LiveStatus
from broadcast.persistence.models_live import LiveSessionRow
from broadcast.persistence.repositories import _aware, within_areas_clause

_FIELDS = ("priority", "area_code", "targets", "mount", "stream_url", "created_by", "cmd_id", "stop_cmd_id",
           "end_reason", "bytes_received", "recording_id", "recording_error")
_TIMES = ("created_at", "ends_at", "started_at", "ended_at")


def _session(row: LiveSessionRow) -> LiveSession:
    return LiveSession(id=row.id, status=LiveStatus(row.status), **{name: getattr(row, name) for name in _FIELDS},
                       **{name: _aware(getattr(row, name)) for name in _TIMES})


class SqlLiveSessionRepository:
    def __init__(self, session: Session):
        self.session = session

    def add(self, live: LiveSession) -> LiveSession:
        row = LiveSessionRow(status=live.status.value, **{name: getattr(live, name) for name in _FIELDS + _TIMES})
        self.session.add(row)
        self.session.flush()
        return _session(row)

    def get(self, session_id: int, *, for_update: bool = False) -> LiveSession | None:
        if for_update:
            stmt = select(LiveSessionRow).where(LiveSessionRow.id == session_id).with_for_update()
            row = self.session.scalars(stmt).first()
        else:
            row = self.session.get(LiveSessionRow, session_id)
        return _session(row) if row else None

    def list(self, *, within_areas: frozenset[str] | None, limit: int = 50, offset: int = 0) -> Sequence[LiveSession]:
        stmt = select(LiveSessionRow).order_by(LiveSessionRow.id.desc()).limit(limit).offset(offset)
        if within_areas is not None:
            stmt = stmt.where(within_areas_clause(LiveSessionRow.area_code, within_areas))
        return [_session(r) for r in self.session.scalars(stmt)]

    def open_sessions(self) -> Sequence[LiveSession]:
        stmt = select(LiveSessionRow).where(LiveSessionRow.status.in_([LiveStatus.WAITING.value,
                                                                       LiveStatus.LIVE.value]))
        return [_session(r) for r in self.session.scalars(stmt.order_by(LiveSessionRow.id))]

    def created_between(self, since: datetime, until: datetime) -> Sequence[LiveSession]:
        stmt = select(LiveSessionRow).where(LiveSessionRow.created_at >= since, LiveSessionRow.created_at < until)
        return [_session(r) for r in self.session.scalars(stmt.order_by(LiveSessionRow.id))]

    def update(self, session_id: int, **fields: Any) -> None:
        row = self.session.get_one(LiveSessionRow, session_id)
        for name, value in fields.items():
            setattr(row, name, value.value if isinstance(value, LiveStatus) else value)
        self.session.flush()
