"""Device health in SQL: the newest values per device, and the bucketed history (domain/health.py).

Both are upserts built once, one statement per batch of the inbox (executemany on SQLite, rows from arrays on
PostgreSQL: persistence/array_rows.py): a fleet of 10,000 devices sends a status a minute each, and the inbox must
keep up on one thread.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from datetime import datetime
from typing import Any

from sqlalchemy import Table, and_, case, delete, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from broadcast.domain.health import LINE_FAULTS, CommuneFleet, HealthBucket, HealthReading
from broadcast.persistence.array_rows import array_params, array_rows
from broadcast.persistence.device_repositories import _latest_versions
from broadcast.persistence.models import AreaRow, DeviceRow, PlayLogRow, core_table
from broadcast.persistence.models_health import DeviceHealthRow, DeviceHealthSampleRow
from broadcast.persistence.report_repository import PLAY_TIME
from broadcast.persistence.repositories import _aware, affected_rows
from broadcast.protocol.status import HealthValue

CURRENT = core_table(DeviceHealthRow)
SAMPLES = core_table(DeviceHealthSampleRow)
HEALTH_FIELDS = tuple(f.name for f in fields(HealthValue))
BUCKET_FIELDS = tuple(f.name for f in fields(HealthBucket))
CURRENT_COLUMNS = ("device_id", "at", *HEALTH_FIELDS)


def _upsert_current(stmt: Any) -> Any:
    return stmt.on_conflict_do_update(index_elements=["device_id"], set_={
        c: stmt.excluded[c] for c in CURRENT_COLUMNS[1:]})


def _merge_samples(stmt: Any, least: Any, greatest: Any) -> Any:
    """Two-argument min/max of a stored and a new value (SQLite's scalar min/max, PostgreSQL's least/greatest);
    coalesce both ways so a NULL on either side keeps the other."""
    new, old = stmt.excluded, SAMPLES.c

    def lower(name: str) -> Any:
        return least(func.coalesce(old[name], new[name]), func.coalesce(new[name], old[name]))

    def upper(name: str) -> Any:
        return greatest(func.coalesce(old[name], new[name]), func.coalesce(new[name], old[name]))

    def last(name: str) -> Any:
        return func.coalesce(new[name], old[name])

    return stmt.on_conflict_do_update(index_elements=["device_id", "bucket"], set_={
        "samples": old.samples + new.samples,
        "temperature_min": lower("temperature_min"), "temperature_max": upper("temperature_max"),
        "temperature_last": last("temperature_last"),
        "supply_min": lower("supply_min"), "supply_max": upper("supply_max"), "supply_last": last("supply_last"),
        "rssi_last": last("rssi_last"),
        "amplifier_faults": old.amplifier_faults + new.amplifier_faults,
        "line_faults": old.line_faults + new.line_faults, "power_off": old.power_off + new.power_off,
    })


def _from_arrays(table: Table, names: Sequence[str], alias: str) -> Any:
    rows = array_rows(table, names, alias=alias)
    return postgresql.insert(table).from_select(names, select(*(rows.c[n] for n in names)))


# Built once: the inbox runs them for every batch with a status.
_SQLITE_CURRENT = _upsert_current(sqlite.insert(CURRENT))
_SQLITE_SAMPLES = _merge_samples(sqlite.insert(SAMPLES), func.min, func.max)
_PG_CURRENT = _upsert_current(_from_arrays(CURRENT, CURRENT_COLUMNS, "current"))
_PG_SAMPLES = _merge_samples(_from_arrays(SAMPLES, BUCKET_FIELDS, "sample"), func.least, func.greatest)


def _count(condition: Any) -> Any:
    return func.sum(case((condition, 1), else_=0))


class SqlHealthRepository:
    def __init__(self, session: Session):
        self.session = session

    def record(self, readings: Sequence[HealthReading], buckets: Sequence[HealthBucket]) -> None:
        """The newest reading per device replaces the current values; each bucket merges into the stored one."""
        if not readings:
            return
        self.session.flush()
        connection = self.session.connection()
        newest = {r.device_id: r for r in readings}
        current = [{"device_id": r.device_id, "at": r.at, **{f: getattr(r.health, f) for f in HEALTH_FIELDS}}
                   for r in newest.values()]
        samples = [{f: getattr(b, f) for f in BUCKET_FIELDS} for b in buckets]
        if connection.dialect.name == "postgresql":  # one statement each from arrays; keys are unique in both
            connection.execute(_PG_CURRENT, array_params("current", CURRENT_COLUMNS, current))
            connection.execute(_PG_SAMPLES, array_params("sample", BUCKET_FIELDS, samples))
        else:
            connection.execute(_SQLITE_CURRENT, current)
            connection.execute(_SQLITE_SAMPLES, samples)

    def current(self, device_id: str) -> tuple[datetime, HealthValue] | None:
        row = self.session.execute(select(CURRENT).where(CURRENT.c.device_id == device_id)).first()
        if row is None:
            return None
        return _aware(row.at), HealthValue(**{f: getattr(row, f) for f in HEALTH_FIELDS})

    def history(self, device_id: str, start: datetime, end: datetime) -> list[HealthBucket]:
        rows = self.session.execute(select(SAMPLES).where(SAMPLES.c.device_id == device_id,
                                                          SAMPLES.c.bucket >= start, SAMPLES.c.bucket < end)
                                    .order_by(SAMPLES.c.bucket))
        return [HealthBucket(**{f: (_aware(getattr(r, f)) if f == "bucket" else getattr(r, f))
                                for f in BUCKET_FIELDS}) for r in rows]

    def fleet(self, since: datetime) -> list[CommuneFleet]:
        """Per commune (with its province): devices, online, in fault, powered off, with a stale schedule, and
        plays missed and failed since `since`. Test devices are left out, as in reports. A few grouped statements,
        whatever the fleet's size: Prometheus scrapes this every 15-60 s."""
        d, h = DeviceRow, CURRENT
        fault = or_(h.c.amplifier == "fault", h.c.speaker_line.in_(sorted(LINE_FAULTS)))
        published, acked = _latest_versions()
        stale = and_(published.c.v.is_not(None), or_(acked.c.v.is_(None), acked.c.v < published.c.v))
        counts = self.session.execute(
            select(d.commune_code, AreaRow.parent_code, func.count(), _count(d.online.is_(True)), _count(fault),
                   _count(h.c.power == "off"), _count(stale))
            .join(AreaRow, AreaRow.code == d.commune_code)
            .outerjoin(h, h.c.device_id == d.id)
            .outerjoin(published, published.c.device_id == d.id).outerjoin(acked, acked.c.device_id == d.id)
            .where(d.disabled.is_(False), d.test_device.is_(False))
            .group_by(d.commune_code, AreaRow.parent_code))
        figures = {c: CommuneFleet(c, p or "", n, int(o or 0), int(f or 0), int(off or 0), int(s or 0))
                   for c, p, n, o, f, off, s in counts}
        for commune, outcome, n in self.session.execute(
                select(PlayLogRow.commune_code, PlayLogRow.outcome, func.count())
                .where(PLAY_TIME >= since, PlayLogRow.outcome.in_(("missed", "failed")))
                .group_by(PlayLogRow.commune_code, PlayLogRow.outcome)):
            if commune in figures:
                setattr(figures[commune], outcome, n)
        return list(figures.values())

    def purge(self, *, before: datetime) -> int:
        return affected_rows(self.session.execute(delete(SAMPLES).where(SAMPLES.c.bucket < before)))
