"""Proof of play in SQL: idempotent inserts, the look-ups that enrich acks, scoped listings and retention."""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from itertools import islice
from typing import Any

from sqlalchemy import delete, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import InstrumentedAttribute, Session

from broadcast.domain.live import live_title
from broadcast.domain.text import fold
from broadcast.persistence.folding import folded
from broadcast.persistence.models import (
    AreaRow,
    AuditRow,
    CommandRow,
    DeviceAckRow,
    DeviceRow,
    EmergencyRow,
    PlayLogRow,
    SchedulePublicationRow,
)
from broadcast.persistence.models_live import LiveSessionRow
from broadcast.persistence.repositories import _aware, affected_rows, within_areas_clause
from broadcast.services.ports import CommandFacts, PlayLogEntry, PlayLogQuery

# Bound parameters per statement stay far below SQLite's and PostgreSQL's limits.
CHUNK = 500
# What retention may delete, and the column that dates each row.
PURGEABLE: dict[str, tuple[type[PlayLogRow | AuditRow | DeviceAckRow], InstrumentedAttribute[datetime]]] = {
    "play_log": (PlayLogRow, PlayLogRow.recorded_at),
    "audit_log": (AuditRow, AuditRow.at),
    "device_acks": (DeviceAckRow, DeviceAckRow.received_at)}
ENTRY_FIELDS = ("device_id", "commune_code", "item_id", "outcome", "recorded_at", "schedule_id", "programme_id",
                "emergency_id", "title", "priority", "planned_start", "planned_end", "started_at", "ended_at",
                "reason", "live_session_id")


def _utc(value: Any) -> Any:
    """SQLite stores a datetime's wall-clock fields without its offset: everything goes in as UTC."""
    return value.astimezone(UTC) if isinstance(value, datetime) and value.tzinfo else value


def _chunks(values: Iterable[Any], size: int = CHUNK) -> Iterator[list[Any]]:
    it = iter(values)
    while chunk := list(islice(it, size)):
        yield chunk


def _entry(row: PlayLogRow, commune_name: str | None) -> PlayLogEntry:
    return PlayLogEntry(
        device_id=row.device_id, commune_code=row.commune_code, item_id=row.item_id, outcome=row.outcome,
        recorded_at=_aware(row.recorded_at), schedule_id=row.schedule_id, programme_id=row.programme_id,
        emergency_id=row.emergency_id, title=row.title, priority=row.priority,
        planned_start=_aware(row.planned_start), planned_end=_aware(row.planned_end),
        started_at=_aware(row.started_at), ended_at=_aware(row.ended_at), reason=row.reason,
        commune_name=commune_name or "", live_session_id=row.live_session_id)


class SqlPlayLogRepository:
    def __init__(self, session: Session):
        self.session = session

    def _insert(self):
        dialect = self.session.get_bind().dialect.name
        return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(PlayLogRow)

    def add_many(self, entries: Sequence[PlayLogEntry]) -> int:
        """Insert what is not there yet; (device, item, outcome) already present is left as it was.

        Returns how many rows were offered after de-duplication (executemany gives no reliable count).

        ON CONFLICT DO NOTHING rather than read-then-write: two inbox workers, or a duplicate arriving while
        the first is in flight, can never fail the batch on the unique constraint.
        """
        unique = {(e.device_id, e.item_id, e.outcome): e for e in reversed(entries)}  # first one wins
        if not unique:
            return 0
        rows = [{f: _utc(getattr(e, f)) for f in ENTRY_FIELDS} for e in unique.values()]
        # One statement, many parameter sets: compiled once and cached (a multi-row VALUES is compiled anew
        # for every batch, which cost ~8 s per 10k rows); SQLAlchemy batches the rows for the driver.
        stmt = self._insert().on_conflict_do_nothing(index_elements=["device_id", "item_id", "outcome"])
        self.session.connection().execute(stmt, rows)
        return len(rows)

    def communes_of(self, device_ids: Iterable[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for chunk in _chunks(set(device_ids)):
            rows = self.session.execute(select(DeviceRow.id, DeviceRow.commune_code).where(DeviceRow.id.in_(chunk)))
            found.update((device_id, commune) for device_id, commune in rows)
        return found

    def schedule_items(self, keys: Iterable[tuple[str, int]]) -> dict[tuple[str, int], list[dict[str, Any]]]:
        """The items of each published (device, version) asked for; absent keys were never published."""
        found: dict[tuple[str, int], list[dict[str, Any]]] = {}
        for chunk in _chunks(set(keys), 200):
            rows = self.session.execute(
                select(SchedulePublicationRow.device_id, SchedulePublicationRow.version,
                       SchedulePublicationRow.document)
                .where(tuple_(SchedulePublicationRow.device_id, SchedulePublicationRow.version).in_(chunk)))
            for device_id, version, document in rows:
                found[(device_id, int(version))] = list((document or {}).get("items") or [])
        return found

    def command_facts(self, cmd_ids: Iterable[str]) -> dict[str, CommandFacts]:
        found: dict[str, CommandFacts] = {}
        for chunk in _chunks(set(cmd_ids)):
            rows = self.session.execute(
                select(CommandRow, EmergencyRow.reason, LiveSessionRow.id, LiveSessionRow.targets,
                       LiveSessionRow.created_by)
                .outerjoin(EmergencyRow, EmergencyRow.id == CommandRow.emergency_id)
                .outerjoin(LiveSessionRow, LiveSessionRow.cmd_id == CommandRow.cmd_id)
                .where(CommandRow.cmd_id.in_(chunk)))
            for row, reason, live_id, live_targets, live_by in rows:
                found[row.cmd_id] = CommandFacts(
                    issued_at=_aware(row.issued_at), priority=row.priority, emergency_id=row.emergency_id,
                    action=row.action, emergency_reason=reason, live_session_id=live_id,
                    live_title=None if live_id is None else live_title(live_id, live_targets or {}, live_by))
        return found

    def _select(self, query: PlayLogQuery):
        order = ((PlayLogRow.planned_start.desc().nulls_last(), PlayLogRow.id.desc()) if query.newest_first
                 else (PlayLogRow.planned_start.asc().nulls_last(), PlayLogRow.id))
        stmt = (select(PlayLogRow, AreaRow.name).outerjoin(AreaRow, AreaRow.code == PlayLogRow.commune_code)
                .order_by(*order))
        if query.within_areas is not None:
            stmt = stmt.where(within_areas_clause(PlayLogRow.commune_code, query.within_areas))
        if query.area_code is not None:
            stmt = stmt.where(within_areas_clause(PlayLogRow.commune_code, frozenset({query.area_code})))
        for column, value in ((PlayLogRow.device_id, query.device_id), (PlayLogRow.programme_id, query.programme_id),
                              (PlayLogRow.schedule_id, query.schedule_id),
                              (PlayLogRow.emergency_id, query.emergency_id), (PlayLogRow.outcome, query.outcome),
                              (PlayLogRow.live_session_id, query.live_session_id)):
            if value is not None:
                stmt = stmt.where(column == value)
        if query.title_contains:
            stmt = stmt.where(folded(PlayLogRow.title).contains(fold(query.title_contains), autoescape=True))
        timed = PlayLogRow.recorded_at if query.by_recorded else PlayLogRow.planned_start
        if query.since is not None:
            stmt = stmt.where(timed >= _utc(query.since))
        if query.until is not None:
            stmt = stmt.where(timed < _utc(query.until))
        if query.limit is not None:
            stmt = stmt.limit(query.limit)
        if query.offset:
            stmt = stmt.offset(query.offset)
        return stmt

    def list(self, query: PlayLogQuery) -> Sequence[PlayLogEntry]:
        return [_entry(row, name) for row, name in self.session.execute(self._select(query))]

    def iterate(self, query: PlayLogQuery) -> Iterator[PlayLogEntry]:
        """Rows in chunks (a server-side cursor on PostgreSQL), so an export of millions stays small in memory."""
        result = self.session.execute(self._select(query).execution_options(yield_per=1000))
        for row, name in result:
            yield _entry(row, name)

    def purge(self, table: str, before: datetime, limit: int) -> int:
        """Delete up to `limit` rows of `table` dated before `before`; the caller commits and repeats."""
        model, dated = PURGEABLE[table]
        oldest = select(model.id).where(dated < _utc(before)).order_by(model.id).limit(limit)
        result = self.session.execute(delete(model).where(model.id.in_(oldest)),
                                      execution_options={"synchronize_session": False})
        return max(affected_rows(result) or 0, 0)
