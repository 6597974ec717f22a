"""Reports in SQL: device presence changes, the inputs of daily aggregates, the stored aggregates themselves.

Grouping happens in the database (one row per item and commune, not per proof-of-play row), so a day of a
10,000-device province folds ~60,000 play-log rows into a few thousand before Python sees them.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime

from sqlalchemy import and_, any_, bindparam, case, delete, false, func, insert, select, update
from sqlalchemy.orm import Session

from broadcast.domain.devices import AckStage
from broadcast.persistence.array_rows import BinaryArray
from broadcast.persistence.models import (
    AreaRow,
    AudioAssetRow,
    CommandDeliveryRow,
    DailyAirtimeRow,
    DailyCommuneRow,
    DevicePresenceRow,
    DeviceRow,
    EmergencyRow,
    PlayLogRow,
    ProgrammeRow,
    ScheduleRow,
    core_table,
)
from broadcast.persistence.models_live import LiveSessionRow
from broadcast.persistence.playlog_repository import _chunks
from broadcast.persistence.repositories import _aware, within_areas_clause
from broadcast.services.reports.ports import (
    AirtimeAggregate,
    CommuneDay,
    ContentFacts,
    Decision,
    DeviceCount,
    DeviceSpan,
    EmergencyReach,
    PlayedItem,
    PresenceEvent,
)

# A device "was reached" by a command once it took it: every stage but a refusal (same rule as emergency reach).
REACHED_STAGES = [s.value for s in AckStage if s not in (AckStage.REJECTED, AckStage.EXPIRED)]
# The moment a proof-of-play row belongs to: its plan, else when it started, else when it was reported.
PLAY_TIME = func.coalesce(PlayLogRow.planned_start, PlayLogRow.started_at, PlayLogRow.recorded_at)
COMMUNE_FIELDS = ("played", "missed", "failed", "preempted", "powered_off", "devices", "uptime_ratio", "emergencies",
                  "emergency_devices", "emergency_reached")
AIRTIME_FIELDS = ("source", "topic", "language", "priority", "items", "plays", "seconds")


def _utc(value: datetime) -> datetime:
    """SQLite keeps wall-clock fields only: every bound datetime goes in as UTC, like the stored ones."""
    return value.astimezone(UTC)


def _in_area(column, area: str | None):
    return True if area is None else within_areas_clause(column, frozenset({area}))


def _presence_in_area(area: str | None):
    """Presence changes of the area's devices, by a subquery: a province's ten thousand ids as bound parameters
    cost more than the query itself."""
    if area is None:
        return True
    return DevicePresenceRow.device_id.in_(select(DeviceRow.id).where(_in_area(DeviceRow.commune_code, area)))


_DEVICES = core_table(DeviceRow)
_FLAGS = (select(_DEVICES.c.id, _DEVICES.c.online, _DEVICES.c.last_seen)
          .where(_DEVICES.c.id == any_(bindparam("ids", type_=BinaryArray(_DEVICES.c.id.type)))))
_FLAGS_LOCKED = _FLAGS.order_by(_DEVICES.c.id).with_for_update(key_share=True)  # FOR NO KEY UPDATE, in id order


class SqlReportRepository:
    def __init__(self, session: Session):
        self.session = session

    # ------------------------------------------------------------ presence

    def online_flags(self, device_ids: Iterable[str], *, lock: bool = False) -> dict[str, bool | None]:
        """Known devices' stored online flag; None for a device that never sent a status.

        `lock`: hold the rows until the transaction ends (PostgreSQL; SQLite has one writer anyway), so two nodes
        handling statuses of the same device (the same status twice, without shared subscriptions) take turns and
        the second sees what the first stored: a change of presence is recorded once. Rows are locked in id
        order, the same in every node, so two inbox transactions never deadlock; and FOR NO KEY UPDATE, not FOR
        UPDATE, so rows that only refer to a device (an alert, a health sample: their foreign key takes KEY SHARE)
        can still be written meanwhile: FOR UPDATE made the alert pass and the inbox deadlock at 10,000 devices."""
        found: dict[str, bool | None] = {}
        if self.session.get_bind().dialect.name == "postgresql":
            # One array parameter: a statement prepared once, where an IN list of a batch's ids was rendered and
            # parsed again for every batch of the inbox (a third of its client CPU at 10,000 devices).
            ids = sorted(set(device_ids))
            for device_id, online, last_seen in self.session.connection().execute(
                    _FLAGS_LOCKED if lock else _FLAGS, {"ids": ids}):
                found[device_id] = None if last_seen is None else bool(online)
            return found
        if lock:
            # No row locks in SQLite: a write that matches nothing takes the database's write lock now (waiting up to
            # busy_timeout for another process's), so what is read below is the newest committed.
            self.session.connection().execute(update(core_table(DeviceRow)).where(false()).values(online=None))
        for chunk in _chunks(sorted(set(device_ids))):
            stmt = select(DeviceRow.id, DeviceRow.online, DeviceRow.last_seen).where(DeviceRow.id.in_(chunk))
            if lock:
                stmt = stmt.order_by(DeviceRow.id).with_for_update(key_share=True)  # FOR NO KEY UPDATE
            for device_id, online, last_seen in self.session.execute(stmt):
                found[device_id] = None if last_seen is None else bool(online)
        return found

    def add_presence(self, events: Sequence[PresenceEvent]) -> int:
        if not events:
            return 0
        self.session.flush()
        self.session.connection().execute(insert(core_table(DevicePresenceRow)), [
            {"device_id": e.device_id, "online": e.online, "at": _utc(e.at)} for e in events])
        return len(events)

    # ------------------------------------------------------------ inputs of a day's aggregates

    def played_items(self, start: datetime, end: datetime, area: str | None) -> list[PlayedItem]:
        p = PlayLogRow
        stmt = (select(p.commune_code, p.item_id, p.programme_id, p.emergency_id, p.priority, func.count(),
                       func.min(p.planned_start), func.min(p.planned_end), func.min(p.started_at),
                       func.max(p.ended_at), p.live_session_id)
                .where(p.outcome == "played", PLAY_TIME >= _utc(start), PLAY_TIME < _utc(end),
                       _in_area(p.commune_code, area))
                .group_by(p.commune_code, p.item_id, p.programme_id, p.emergency_id, p.priority, p.live_session_id))
        return [PlayedItem(commune_code=c, item_id=i, programme_id=pid, emergency_id=eid, priority=prio, plays=n,
                           planned_start=_aware(ps), planned_end=_aware(pe), first_started=_aware(fs),
                           last_ended=_aware(le), live_session_id=live)
                for c, i, pid, eid, prio, n, ps, pe, fs, le, live in self.session.execute(stmt)]

    def outcome_counts(self, start: datetime, end: datetime, area: str | None) -> dict[tuple[str, str], int]:
        """Per commune and outcome; a miss because the amplifier was switched off (reason power_off, spec 9.2)
        counts as `powered_off`, not as a miss: someone chose it."""
        p = PlayLogRow
        outcome = case((and_(p.outcome == "missed", p.reason == "power_off"), "powered_off"), else_=p.outcome)
        stmt = (select(p.commune_code, outcome, func.count())
                .where(PLAY_TIME >= _utc(start), PLAY_TIME < _utc(end), _in_area(p.commune_code, area))
                .group_by(p.commune_code, outcome))
        return {(c, o): n for c, o, n in self.session.execute(stmt)}

    def programme_facts(self, programme_ids: Iterable[int]) -> dict[int, ContentFacts]:
        found = {}
        for chunk in _chunks(set(programme_ids)):
            for pid, topic, language, source in self.session.execute(
                    select(ProgrammeRow.id, ProgrammeRow.topic, ProgrammeRow.language, ProgrammeRow.source)
                    .where(ProgrammeRow.id.in_(chunk))):
                found[pid] = ContentFacts(topic=topic, language=language, source=source)
        return found

    def live_facts(self, session_ids: Iterable[int]) -> dict[int, ContentFacts]:
        """A live talk's source is the level of the area that went live; its topic and language are not known."""
        found = {}
        for chunk in _chunks(set(session_ids)):
            stmt = (select(LiveSessionRow.id, AreaRow.level)
                    .outerjoin(AreaRow, AreaRow.code == LiveSessionRow.area_code)
                    .where(LiveSessionRow.id.in_(chunk)))
            for sid, level in self.session.execute(stmt):
                found[sid] = ContentFacts(topic="other", language="other",
                                          source="province" if level == "province" else "commune")
        return found

    def emergency_facts(self, emergency_ids: Iterable[int]) -> dict[int, ContentFacts]:
        """Topic and language of the emergency's audio; source: central, else the level of the owner area."""
        found = {}
        for chunk in _chunks(set(emergency_ids)):
            stmt = (select(EmergencyRow.id, EmergencyRow.source, EmergencyRow.text, AudioAssetRow.topic,
                           AudioAssetRow.language, AreaRow.level)
                    .outerjoin(AudioAssetRow, AudioAssetRow.id == EmergencyRow.audio_id)
                    .outerjoin(AreaRow, AreaRow.code == EmergencyRow.area_code)
                    .where(EmergencyRow.id.in_(chunk)))
            for eid, source, text, topic, language, level in self.session.execute(stmt):
                origin = "central" if source == "central" else ("province" if level == "province" else "commune")
                found[eid] = ContentFacts(topic=topic or "other", language=language or ("vi" if text else "other"),
                                          source=origin)
        return found

    def device_spans(self, until: datetime, area: str | None) -> list[DeviceSpan]:
        """Devices registered before `until`; test devices are left out of fleet figures."""
        stmt = (select(DeviceRow.id, DeviceRow.commune_code, DeviceRow.created_at)
                .where(DeviceRow.created_at < _utc(until), DeviceRow.test_device.is_(False),
                       _in_area(DeviceRow.commune_code, area)))
        return [DeviceSpan(d, c, _aware(at)) for d, c, at in self.session.execute(stmt)]

    def presence_before(self, at: datetime, area: str | None) -> dict[str, bool]:
        """Each device's state as of `at`: its last recorded change before it (absent: never heard)."""
        last = (select(func.max(DevicePresenceRow.id).label("id"))
                .where(DevicePresenceRow.at < _utc(at), _presence_in_area(area))
                .group_by(DevicePresenceRow.device_id).subquery())
        return {device_id: bool(online) for device_id, online in self.session.execute(
            select(DevicePresenceRow.device_id, DevicePresenceRow.online)
            .join(last, last.c.id == DevicePresenceRow.id))}

    def presence_events(self, start: datetime, end: datetime, area: str | None) -> list[PresenceEvent]:
        stmt = (select(DevicePresenceRow.device_id, DevicePresenceRow.online, DevicePresenceRow.at)
                .where(DevicePresenceRow.at >= _utc(start), DevicePresenceRow.at < _utc(end), _presence_in_area(area))
                .order_by(DevicePresenceRow.at, DevicePresenceRow.id))
        return [PresenceEvent(d, bool(o), _aware(at)) for d, o, at in self.session.execute(stmt)]

    def emergency_reach(self, start: datetime, end: datetime, area: str | None) -> list[EmergencyReach]:
        """Per emergency started in [start, end) and commune: devices tracked and reached. Test alerts excluded."""
        reached = func.sum(case((CommandDeliveryRow.stage.in_(REACHED_STAGES), 1), else_=0))
        stmt = (select(EmergencyRow.id, DeviceRow.commune_code, func.count(), reached)
                .join(CommandDeliveryRow, CommandDeliveryRow.cmd_id == EmergencyRow.cmd_id)
                .join(DeviceRow, DeviceRow.id == CommandDeliveryRow.device_id)
                .where(EmergencyRow.created_at >= _utc(start), EmergencyRow.created_at < _utc(end),
                       EmergencyRow.test_only.is_(False), _in_area(DeviceRow.commune_code, area))
                .group_by(EmergencyRow.id, DeviceRow.commune_code))
        return [EmergencyReach(e, c, n, int(r or 0)) for e, c, n, r in self.session.execute(stmt)]

    # ------------------------------------------------------------ stored aggregates

    def replace_day(self, day: date, airtime: Sequence[AirtimeAggregate], communes: Sequence[CommuneDay], *,
                    computed_at: datetime) -> None:
        """The day's figures, all communes at once: delete and insert in the caller's transaction (idempotent)."""
        self.session.flush()
        connection = self.session.connection()
        connection.execute(delete(core_table(DailyAirtimeRow)).where(DailyAirtimeRow.day == day))
        connection.execute(delete(core_table(DailyCommuneRow)).where(DailyCommuneRow.day == day))
        if airtime:
            connection.execute(insert(core_table(DailyAirtimeRow)), [
                {"day": day, "commune_code": a.commune_code, **{f: getattr(a, f) for f in AIRTIME_FIELDS}}
                for a in airtime])
        if communes:
            connection.execute(insert(core_table(DailyCommuneRow)), [
                {"day": day, "commune_code": c.commune_code, "computed_at": _utc(computed_at),
                 **{f: getattr(c, f) for f in COMMUNE_FIELDS}} for c in communes])

    def computed_days(self, first: date, last: date) -> dict[date, datetime]:
        stmt = (select(DailyCommuneRow.day, func.min(DailyCommuneRow.computed_at))
                .where(DailyCommuneRow.day >= first, DailyCommuneRow.day <= last).group_by(DailyCommuneRow.day))
        return {day: _aware(at) for day, at in self.session.execute(stmt)}

    def airtime(self, first: date, last: date, area: str) -> list[AirtimeAggregate]:
        r = DailyAirtimeRow
        stmt = select(r).where(r.day >= first, r.day <= last, _in_area(r.commune_code, area))
        return [AirtimeAggregate(day=x.day, commune_code=x.commune_code,
                                 **{f: getattr(x, f) for f in AIRTIME_FIELDS}) for x in self.session.scalars(stmt)]

    def commune_days(self, first: date, last: date, area: str) -> list[CommuneDay]:
        r = DailyCommuneRow
        stmt = select(r).where(r.day >= first, r.day <= last, _in_area(r.commune_code, area))
        return [CommuneDay(day=x.day, commune_code=x.commune_code, **{f: getattr(x, f) for f in COMMUNE_FIELDS})
                for x in self.session.scalars(stmt)]

    def late_play_times(self, recorded_after: datetime, start: datetime,
                        end: datetime) -> list[tuple[datetime, datetime]]:
        """(when it happened, latest report of it) for rows reported after `recorded_after`: days to recount."""
        stmt = (select(PLAY_TIME, func.max(PlayLogRow.recorded_at))
                .where(PlayLogRow.recorded_at > _utc(recorded_after), PLAY_TIME >= _utc(start), PLAY_TIME < _utc(end))
                .group_by(PLAY_TIME))
        return [(_aware(t), _aware(r)) for t, r in self.session.execute(stmt) if t is not None]

    def first_activity(self) -> datetime | None:
        candidates = [self.session.scalar(select(func.min(PlayLogRow.recorded_at))),
                      self.session.scalar(select(func.min(DevicePresenceRow.at))),
                      self.session.scalar(select(func.min(DeviceRow.created_at)))]
        known = [_aware(c) for c in candidates if c is not None]
        return min(known) if known else None

    # ------------------------------------------------------------ read directly

    def decisions(self, start: datetime, end: datetime, area: str) -> list[Decision]:
        s = ScheduleRow
        stmt = (select(s.area_code, s.status, s.submitted_at, s.decided_at)
                .where(s.submitted_at.is_not(None), s.decided_at.is_not(None), s.submitted_at >= _utc(start),
                       s.submitted_at < _utc(end), _in_area(s.area_code, area)))
        return [Decision(a, st, _aware(sub), _aware(dec)) for a, st, sub, dec in self.session.execute(stmt)
                if sub is not None and dec is not None]  # always: the statement selects decided ones only

    def device_counts(self, area: str) -> list[DeviceCount]:
        online = func.sum(case((DeviceRow.online.is_(True), 1), else_=0))
        stmt = (select(DeviceRow.commune_code, func.count(), online)
                .where(DeviceRow.test_device.is_(False), _in_area(DeviceRow.commune_code, area))
                .group_by(DeviceRow.commune_code))
        return [DeviceCount(c, n, int(o or 0)) for c, n, o in self.session.execute(stmt)]

    def area_names(self, codes: Iterable[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for chunk in _chunks(set(codes)):
            found.update(self.session.execute(select(AreaRow.code, AreaRow.name).where(AreaRow.code.in_(chunk))).all())
        return found

