"""Alerts, their thresholds per area, and the facts the rules read, in SQL.

The facts of the whole fleet come from a handful of grouped statements (devices with their newest health, newest
schedule version and today's misses), and a pass writes only what changed: at 10,000 devices one evaluation must
stay well under a second.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, insert, select, update
from sqlalchemy.orm import Session

from broadcast.domain.alerts import RELAY_FAILURES, Alert, AlertQuery, AlertState, Cause, DeviceFacts, Transition
from broadcast.persistence.models import AreaRow, DeviceRow, PlayLogRow, SchedulePublicationRow, core_table
from broadcast.persistence.models_health import AlertRow, AlertThresholdRow, DeviceHealthRow
from broadcast.persistence.report_repository import PLAY_TIME
from broadcast.persistence.repositories import _aware, within_areas_clause

ALERTS = core_table(AlertRow)
CHUNK = 1000  # ids per IN list: far below SQLite's and PostgreSQL's limits on bound parameters
ROW_FIELDS = ("device_id", "commune_code", "cause", "state", "first_seen_at", "last_seen_at", "opened_at",
              "clear_since", "details", "acknowledged_by", "acknowledged_at", "note", "resolved_at")


def _chunks(ids: Sequence[int]) -> list[Sequence[int]]:
    return [ids[i:i + CHUNK] for i in range(0, len(ids), CHUNK)]


def _alert(row: Any) -> Alert:
    return Alert(id=row.id, device_id=row.device_id, commune_code=row.commune_code, cause=Cause(row.cause),
                 state=AlertState(row.state), first_seen_at=_aware(row.first_seen_at),
                 last_seen_at=_aware(row.last_seen_at), details=row.details or {},
                 opened_at=_aware(row.opened_at), clear_since=_aware(row.clear_since),
                 acknowledged_by=row.acknowledged_by, acknowledged_at=_aware(row.acknowledged_at), note=row.note,
                 resolved_at=_aware(row.resolved_at))


def _values(alert: Alert) -> dict[str, Any]:
    values = {f: getattr(alert, f) for f in ROW_FIELDS}
    values["cause"], values["state"], values["details"] = alert.cause.value, alert.state.value, dict(alert.details)
    return values


class SqlAlertRepository:
    def __init__(self, session: Session):
        self.session = session

    # ------------------------------------------------------------ what the rules read

    def device_facts(self, today_start: datetime) -> list[DeviceFacts]:
        d, h, pub = DeviceRow, core_table(DeviceHealthRow), SchedulePublicationRow
        newest = select(pub.device_id, func.max(pub.version).label("v")).group_by(pub.device_id).subquery()
        latest = (select(pub.device_id, pub.published_at, pub.received_at)
                  .join(newest, and_(newest.c.device_id == pub.device_id, newest.c.v == pub.version)).subquery())
        missed = (select(PlayLogRow.device_id, func.count().label("n"))
                  .where(PLAY_TIME >= today_start, PlayLogRow.outcome.in_(("missed", "failed")),
                         func.coalesce(PlayLogRow.reason, "") != "power_off")
                  .group_by(PlayLogRow.device_id).subquery())
        relay = (select(PlayLogRow.device_id, func.count().label("n"))
                 .where(PLAY_TIME >= today_start, PlayLogRow.outcome == "failed",
                        PlayLogRow.reason.in_(RELAY_FAILURES))
                 .group_by(PlayLogRow.device_id).subquery())
        rows = self.session.execute(
            select(d.id, d.commune_code, AreaRow.parent_code, d.online, d.last_seen, d.created_at, d.clock_offset_ms,
                   d.storage_free_bytes, h.c.amplifier, h.c.speaker_line, h.c.temperature_c, h.c.supply_mv,
                   latest.c.published_at, latest.c.received_at, missed.c.n, relay.c.n)
            .join(AreaRow, AreaRow.code == d.commune_code)
            .outerjoin(h, h.c.device_id == d.id).outerjoin(latest, latest.c.device_id == d.id)
            .outerjoin(missed, missed.c.device_id == d.id).outerjoin(relay, relay.c.device_id == d.id)
            .where(d.disabled.is_(False), d.test_device.is_(False)))
        return [DeviceFacts(i, c, p or "", bool(on), _aware(seen), _aware(created), offset, free, amp, line, temp,
                            supply, _aware(published), received is not None or published is None, int(n or 0),
                            int(relayed or 0))
                for i, c, p, on, seen, created, offset, free, amp, line, temp, supply, published, received, n, relayed
                in rows]

    # ------------------------------------------------------------ alerts

    def unresolved(self) -> list[Alert]:
        return [_alert(r) for r in self.session.execute(
            select(ALERTS).where(ALERTS.c.state != AlertState.RESOLVED.value))]

    def apply(self, transitions: Sequence[Transition]) -> list[Transition]:
        """Write a pass's changes in a few statements whatever their number. Returns what took effect, in order: new
        alerts with the ids the database gave them, "dropped" ones and changes of state another writer made first
        left out (so each opening and resolution is told once).

        A pass writes only the columns it owns: an acknowledgement committed since the pass read its alerts stays
        (who, when, note, and the acknowledged state while the condition holds). A change of state is conditional
        on the state the pass read: should two passes overlap (a leader handing over), only one opens or resolves."""
        self.session.flush()
        connection = self.session.connection()
        by_kind: dict[str, list[Alert]] = {}
        for t in transitions:
            by_kind.setdefault(t.kind if t.alert.id else "new", []).append(t.alert)
        for chunk in _chunks([a.id for a in by_kind.get("dropped", [])]):
            connection.execute(delete(ALERTS).where(ALERTS.c.id.in_(chunk)))
        new = by_kind.get("new", [])
        new_ids = iter(connection.execute(insert(ALERTS).returning(ALERTS.c.id, sort_by_parameter_order=True),
                                          [_values(a) for a in new]).scalars().all() if new else [])
        touched = by_kind.get("touched", [])
        for chunk in _chunks([a.id for a in touched]):  # all seen at the pass's one `now`
            connection.execute(update(ALERTS).where(ALERTS.c.id.in_(chunk))
                               .values(last_seen_at=touched[0].last_seen_at))
        observed = [a for kind in ("seen", "opened", "resolved") for a in by_kind.get(kind, [])]
        if observed:
            connection.execute(update(ALERTS).where(ALERTS.c.id == bindparam("_id")),
                               [{"_id": a.id, "last_seen_at": a.last_seen_at, "details": dict(a.details),
                                 "clear_since": a.clear_since} for a in observed])
        moved = (self._change_state(by_kind.get("opened", []), "opened_at", (AlertState.PENDING,))
                 | self._change_state(by_kind.get("resolved", []), "resolved_at",
                                      (AlertState.OPEN, AlertState.ACKNOWLEDGED)))
        applied = []
        for t in transitions:
            if t.alert.id == 0:
                applied.append(Transition(t.kind, replace(t.alert, id=next(new_ids))))
            elif t.kind != "dropped" and (t.kind not in ("opened", "resolved") or t.alert.id in moved):
                applied.append(t)
        return applied

    def _change_state(self, alerts: Sequence[Alert], stamp: str, only_from: Sequence[AlertState]) -> set[int]:
        """Move alerts to their new state (all the same, stamped with the pass's one `now`) if still in one of
        `only_from`; returns the ids moved."""
        moved: set[int] = set()
        for chunk in _chunks([a.id for a in alerts]):
            result = self.session.connection().execute(
                update(ALERTS).where(ALERTS.c.id.in_(chunk), ALERTS.c.state.in_([s.value for s in only_from]))
                .values(state=alerts[0].state.value, **{stamp: getattr(alerts[0], stamp)}).returning(ALERTS.c.id))
            moved.update(result.scalars())
        return moved

    def list(self, query: AlertQuery) -> list[Alert]:
        stmt = (select(ALERTS).where(ALERTS.c.state != AlertState.PENDING.value)
                .order_by(ALERTS.c.opened_at.desc(), ALERTS.c.id.desc()).limit(query.limit).offset(query.offset))
        if query.within_areas is not None:
            stmt = stmt.where(within_areas_clause(ALERTS.c.commune_code, query.within_areas))
        if query.state is not None:
            stmt = stmt.where(ALERTS.c.state == query.state)
        if query.cause is not None:
            stmt = stmt.where(ALERTS.c.cause == query.cause)
        if query.device_id is not None:
            stmt = stmt.where(ALERTS.c.device_id == query.device_id)
        return [_alert(r) for r in self.session.execute(stmt)]

    def device_names(self, device_ids: Sequence[str]) -> dict[str, str]:
        """The names of a page of alerts' devices, in one statement."""
        unique = sorted(set(device_ids))
        return {i: n for i, n in self.session.execute(select(DeviceRow.id, DeviceRow.name)
                                                       .where(DeviceRow.id.in_(unique)))} if unique else {}

    def count_open(self, within_areas: frozenset[str] | None) -> int:
        stmt = select(func.count()).select_from(ALERTS).where(ALERTS.c.state == AlertState.OPEN.value)
        if within_areas is not None:
            stmt = stmt.where(within_areas_clause(ALERTS.c.commune_code, within_areas))
        return int(self.session.scalar(stmt) or 0)

    def get(self, alert_id: int) -> Alert | None:
        row = self.session.execute(select(ALERTS).where(ALERTS.c.id == alert_id)).first()
        return _alert(row) if row is not None else None

    def acknowledge(self, alert_id: int, *, by: str, at: datetime, note: str | None) -> bool:
        """Take an open alert in hand; False when it is no longer open (a pass may have resolved it meanwhile)."""
        self.session.flush()
        result = self.session.connection().execute(
            update(ALERTS).where(ALERTS.c.id == alert_id, ALERTS.c.state == AlertState.OPEN.value)
            .values(state=AlertState.ACKNOWLEDGED.value, acknowledged_by=by, acknowledged_at=at, note=note))
        return bool(result.rowcount == 1)

    # ------------------------------------------------------------ thresholds

    def threshold_overrides(self) -> dict[str, dict[str, int]]:
        """Every area's overrides (a few hundred rows at most: one per area that set any)."""
        return {a: dict(o) for a, o in self.session.execute(
            select(AlertThresholdRow.area_code, AlertThresholdRow.overrides))}

    def put_thresholds(self, area_code: str, overrides: dict[str, int], *, by: str, at: datetime) -> None:
        row = self.session.get(AlertThresholdRow, area_code)
        if row is None:
            row = AlertThresholdRow(area_code=area_code)
            self.session.add(row)
        row.overrides, row.updated_by, row.updated_at = overrides, by, at
        self.session.flush()
