"""Programmes, schedules and area policies in SQL."""
from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Integer, or_, select
from sqlalchemy.orm import Session

from broadcast.domain.policy import PolicyOverride, Window
from broadcast.domain.priority import Priority
from broadcast.domain.scheduling import LegalRef, MediaRef, Programme, Schedule, ScheduleStatus, TargetSet
from broadcast.domain.text import fold
from broadcast.persistence.models import AreaPolicyRow, AudioAssetRow, ProgrammeItemRow, ProgrammeRow, ScheduleRow
from broadcast.persistence.repositories import _aware, within_areas_clause


def _programme(row: ProgrammeRow) -> Programme:
    return Programme(id=row.id, title=row.title, topic=row.topic, language=row.language, source=row.source,
                     priority=Priority(row.priority), area_code=row.area_code, created_by=row.created_by,
                     created_at=_aware(row.created_at), asset_ids=tuple(i.asset_id for i in row.items),
                     # A relay plays its channel's URL as it is now (an admin may have moved the station).
                     stream_url=row.relay_channel.url if row.relay_channel is not None else row.stream_url,
                     stream_duration_ms=row.stream_duration_ms,
                     legal_refs=tuple(LegalRef(**r) for r in row.legal_refs or ()), bulletin_id=row.bulletin_id,
                     relay_channel_id=row.relay_channel_id)


class SqlProgrammeRepository:
    def __init__(self, session: Session):
        self.session = session

    def add(self, programme: Programme) -> Programme:
        row = ProgrammeRow(
            title=programme.title, title_folded=fold(programme.title)[:300], topic=programme.topic,
            language=programme.language, source=programme.source,
            priority=programme.priority.value, legal_refs=[r.__dict__ for r in programme.legal_refs],
            stream_url=programme.stream_url, stream_duration_ms=programme.stream_duration_ms,
            relay_channel_id=programme.relay_channel_id,
            area_code=programme.area_code, bulletin_id=programme.bulletin_id, created_by=programme.created_by,
            created_at=programme.created_at,
            items=[ProgrammeItemRow(position=n, asset_id=a) for n, a in enumerate(programme.asset_ids)])
        self.session.add(row)
        self.session.flush()
        self.session.expire(row, ["relay_channel"])  # loaded again from relay_channel_id
        return _programme(row)

    def get(self, programme_id: int) -> Programme | None:
        row = self.session.get(ProgrammeRow, programme_id)
        return _programme(row) if row else None

    def save(self, programme: Programme) -> Programme:
        """Replace what the programme plays and says about itself (its author and creation stay)."""
        row = self.session.get_one(ProgrammeRow, programme.id)
        row.title, row.title_folded = programme.title, fold(programme.title)[:300]
        row.topic, row.language, row.source = programme.topic, programme.language, programme.source
        row.priority, row.area_code = programme.priority.value, programme.area_code
        row.legal_refs = [r.__dict__ for r in programme.legal_refs]
        row.stream_url, row.stream_duration_ms = programme.stream_url, programme.stream_duration_ms
        row.relay_channel_id = programme.relay_channel_id
        row.items.clear()
        self.session.flush()  # the old positions go before new rows take the same keys
        row.items.extend(ProgrammeItemRow(position=n, asset_id=a) for n, a in enumerate(programme.asset_ids))
        self.session.flush()
        self.session.expire(row, ["relay_channel"])  # loaded again from relay_channel_id
        return _programme(row)

    def list(self, *, within_areas, topic=None, limit=100, offset=0, exact_areas=frozenset(),
             query=None) -> Sequence[Programme]:
        """Newest first: programmes of `within_areas` and the areas under them, and of `exact_areas` alone (not
        what lies under those); `query` matches the title ignoring case and diacritics."""
        stmt = select(ProgrammeRow).order_by(ProgrammeRow.id.desc()).limit(limit).offset(offset)
        if within_areas is not None:
            clause = within_areas_clause(ProgrammeRow.area_code, within_areas)
            stmt = stmt.where(or_(clause, ProgrammeRow.area_code.in_(exact_areas)) if exact_areas else clause)
        if topic:
            stmt = stmt.where(ProgrammeRow.topic == topic)
        if query and (folded := fold(query)):
            stmt = stmt.where(ProgrammeRow.title_folded.contains(folded, autoescape=True))
        return [_programme(r) for r in self.session.scalars(stmt)]

    def media(self, programme_ids: Sequence[int]) -> dict[int, builtins.list[tuple[MediaRef | None, str]]]:
        """Per programme, its assets in order: (media, status); media is None until the asset is ready."""
        rows = self.session.execute(
            select(ProgrammeItemRow.programme_id, AudioAssetRow)
            .join(AudioAssetRow, AudioAssetRow.id == ProgrammeItemRow.asset_id)
            .where(ProgrammeItemRow.programme_id.in_(programme_ids))
            .order_by(ProgrammeItemRow.programme_id, ProgrammeItemRow.position))
        out: dict[int, builtins.list[tuple[MediaRef | None, str]]] = {pid: [] for pid in programme_ids}
        for programme_id, asset in rows:
            sha256, size, duration_ms = asset.sha256, asset.bytes, asset.duration_ms
            media = None
            # A ready asset has all three (rendered and measured in one step).
            if asset.status == "ready" and sha256 and size is not None and duration_ms is not None:
                media = MediaRef(asset.id, sha256, size, duration_ms)
            out[programme_id].append((media, asset.status))
        return out


_SCHEDULE_FIELDS = ("programme_id", "start_local", "rrule", "volume", "rank", "area_code", "author", "approver",
                    "rejection_reason")


def _schedule(row: ScheduleRow) -> Schedule:
    return Schedule(id=row.id, status=ScheduleStatus(row.status), targets=TargetSet.from_dict(row.targets),
                    exdates=tuple(row.exdates or ()), valid_from=_aware(row.valid_from),
                    valid_until=_aware(row.valid_until), created_at=_aware(row.created_at),
                    submitted_at=_aware(row.submitted_at), decided_at=_aware(row.decided_at),
                    editors=tuple(row.editors or ()), **{name: getattr(row, name) for name in _SCHEDULE_FIELDS})


class SqlScheduleRepository:
    def __init__(self, session: Session):
        self.session = session

    def add(self, schedule: Schedule) -> Schedule:
        row = ScheduleRow(status=schedule.status.value, targets=schedule.targets.to_dict(),
                          exdates=list(schedule.exdates), valid_from=schedule.valid_from,
                          valid_until=schedule.valid_until, created_at=schedule.created_at,
                          updated_at=schedule.created_at, editors=list(schedule.editors),
                          **{name: getattr(schedule, name) for name in _SCHEDULE_FIELDS})
        self.session.add(row)
        self.session.flush()
        return _schedule(row)

    def save(self, schedule: Schedule, *, at: datetime) -> Schedule:
        row = self.session.get_one(ScheduleRow, schedule.id)
        row.status = schedule.status.value
        row.targets = schedule.targets.to_dict()
        row.exdates = list(schedule.exdates)
        row.valid_from, row.valid_until = schedule.valid_from, schedule.valid_until
        row.submitted_at, row.decided_at = schedule.submitted_at, schedule.decided_at
        row.editors = list(schedule.editors)
        for name in _SCHEDULE_FIELDS:
            setattr(row, name, getattr(schedule, name))
        row.updated_at = at
        self.session.flush()
        return _schedule(row)

    def get(self, schedule_id: int, *, for_update: bool = False) -> Schedule | None:
        if for_update:
            row = self.session.scalar(select(ScheduleRow).where(ScheduleRow.id == schedule_id).with_for_update())
        else:
            row = self.session.get(ScheduleRow, schedule_id)
        return _schedule(row) if row else None

    def list(self, *, within_areas, status=None, programme_id=None, limit=100, offset=0) -> Sequence[Schedule]:
        stmt = select(ScheduleRow).order_by(ScheduleRow.id.desc()).limit(limit).offset(offset)
        if within_areas is not None:
            stmt = stmt.where(within_areas_clause(ScheduleRow.area_code, within_areas))
        if status:
            stmt = stmt.where(ScheduleRow.status == status)
        if programme_id:
            stmt = stmt.where(ScheduleRow.programme_id == programme_id)
        return [_schedule(r) for r in self.session.scalars(stmt)]

    def approved(self) -> Sequence[Schedule]:
        stmt = select(ScheduleRow).where(ScheduleRow.status == ScheduleStatus.APPROVED.value).order_by(ScheduleRow.id)
        return [_schedule(r) for r in self.session.scalars(stmt)]

    def change_marker(self) -> tuple:
        """Cheap fingerprint of everything a compilation reads: schedules, devices, audio readiness."""
        from sqlalchemy import func

        from broadcast.persistence.models import DeviceRow, DeviceZoneRow

        return (
            tuple(self.session.execute(select(func.count(ScheduleRow.id), func.max(ScheduleRow.updated_at))).one()),
            tuple(self.session.execute(select(func.count(DeviceRow.id), func.max(DeviceRow.created_at),
                                              func.max(DeviceRow.updated_at),  # zones moved (same row count)
                                              func.sum(DeviceRow.disabled.cast(Integer)))).one()),
            self.session.scalar(select(func.count()).select_from(DeviceZoneRow)),
            self.session.scalar(select(func.max(AudioAssetRow.updated_at))),
        )

    def uses_programme(self, programme_id: int) -> bool:
        stmt = select(ScheduleRow.id).where(ScheduleRow.programme_id == programme_id,
                                            ScheduleRow.status != ScheduleStatus.CANCELLED.value).limit(1)
        return self.session.scalar(stmt) is not None


class SqlPolicyRepository:
    def __init__(self, session: Session):
        self.session = session

    def get(self, area_code: str) -> PolicyOverride | None:
        row = self.session.get(AreaPolicyRow, area_code)
        if row is None:
            return None
        windows = None
        if row.windows is not None:
            per_day = tuple(Window.parse(w) for w in row.windows)
            windows = {day: per_day for day in range(7)}
        return PolicyOverride(windows=windows, max_minutes_per_day=row.max_minutes_per_day,
                              allowed_weekdays=frozenset(row.weekdays) if row.weekdays is not None else None)

    def raw(self, area_code: str) -> dict | None:
        row = self.session.get(AreaPolicyRow, area_code)
        if row is None:
            return None
        return {"windows": row.windows, "max_minutes_per_day": row.max_minutes_per_day, "weekdays": row.weekdays}

    def put(self, area_code: str, *, windows: list[str] | None, max_minutes_per_day: int | None,
            weekdays: list[int] | None, by: str, at: datetime) -> None:
        row = self.session.get(AreaPolicyRow, area_code)
        if row is None:
            row = AreaPolicyRow(area_code=area_code)
            self.session.add(row)
        row.windows, row.max_minutes_per_day, row.weekdays = windows, max_minutes_per_day, weekdays
        row.updated_by, row.updated_at = by, at
        self.session.flush()
