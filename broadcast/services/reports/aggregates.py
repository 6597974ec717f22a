"""Daily aggregates per commune and local day: what aired, play outcomes, devices and uptime, emergencies.

They outlive the play-log purge, so reports over any period read them. Rules (docs/reports.md):
- A day is computed for every commune at once and stored by delete-and-insert: recomputing is idempotent.
- Only "open" days are (re)computed: a day whose play log may have been purged in part is never recomputed,
  its stored figures are final.
- The nightly job recomputes yesterday, every open closed day without figures, and every day that received
  proof of play after it was computed (devices offline for days report late). Reports do the same for the days
  they cover before reading, so a figure never lags the play log; today is computed live and not stored.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from broadcast.domain.audit import SYSTEM_ACTOR, AuditEntry, AuditQuery
from broadcast.services.ports import Clock, UnitOfWork
from broadcast.services.reports.ports import (
    AirtimeAggregate,
    CommuneDay,
    ContentFacts,
    DeviceSpan,
    PlayedItem,
    PresenceEvent,
)
from broadcast.services.reports.uptime_cache import UptimeCache

log = logging.getLogger(__name__)

AGGREGATE_ACTION = "reports.aggregate"
UNKNOWN_CONTENT = ContentFacts(topic="other", language="other", source="other")
SAFETY = timedelta(days=1)  # a day this close to the retention cutoff may already have lost rows


@dataclass(frozen=True)
class DayFigures:
    day: date
    airtime: list[AirtimeAggregate]
    communes: list[CommuneDay]


# ---------------------------------------------------------------- calendar (pure)

def local_day(moment: datetime, tz: tzinfo) -> date:
    return moment.astimezone(tz).date()


def day_bounds(day: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """[start, end) of a local calendar day as aware datetimes (DST-safe, though Vietnam has none)."""
    return datetime.combine(day, time(), tz), datetime.combine(day + timedelta(days=1), time(), tz)


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def first_open_day(now: datetime, tz: tzinfo, retention_days: int) -> date:
    """The oldest day whose play log is still whole: older days are served only from stored figures."""
    return local_day(now - timedelta(days=retention_days) + SAFETY, tz) + timedelta(days=1)


# ---------------------------------------------------------------- folding (pure)

def item_seconds(item: PlayedItem) -> int:
    """Airtime of one item: its planned length, else (commands) first start to last end over its devices."""
    if item.planned_start is not None and item.planned_end is not None:
        span = item.planned_end - item.planned_start
    elif item.first_started is not None and item.last_ended is not None:
        span = item.last_ended - item.first_started
    else:
        return 0
    return max(int(span.total_seconds()), 0)


def fold_airtime(day: date, items: Iterable[PlayedItem], programmes: dict[int, ContentFacts],
                 emergencies: dict[int, ContentFacts],
                 lives: dict[int, ContentFacts] | None = None) -> list[AirtimeAggregate]:
    totals: dict[tuple[str, str, str, str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for item in items:
        facts = (programmes.get(item.programme_id) if item.programme_id is not None
                 else emergencies.get(item.emergency_id) if item.emergency_id is not None
                 else (lives or {}).get(item.live_session_id) if item.live_session_id is not None else None)
        facts = facts or UNKNOWN_CONTENT
        priority = item.priority or ("emergency" if item.emergency_id is not None else "normal")
        key = (item.commune_code, facts.source, facts.topic, facts.language, priority)
        total = totals[key]
        total[0] += 1
        total[1] += item.plays
        total[2] += item_seconds(item)
    return [AirtimeAggregate(day=day, commune_code=c, source=s, topic=t, language=lang, priority=p, items=i,
                             plays=n, seconds=sec)
            for (c, s, t, lang, p), (i, n, sec) in sorted(totals.items())]


def uptime(devices: Sequence[DeviceSpan], before: dict[str, bool], events: Sequence[PresenceEvent],
           start: datetime, end: datetime) -> dict[str, tuple[int, float | None]]:
    """Per commune: devices registered by `end` and the share of their device-time in [start, end) spent online.

    A device's time starts at max(start, registration); its state at that point is its last recorded change
    (never heard: offline); each presence change flips it. None: no device-time at all.
    """
    by_device: dict[str, list[PresenceEvent]] = defaultdict(list)
    for event in events:
        by_device[event.device_id].append(event)
    seconds: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])  # online, total
    counted: dict[str, int] = defaultdict(int)
    for device in devices:
        begin = max(start, device.created_at)
        if begin >= end:
            continue
        counted[device.commune_code] += 1
        online, since, up = before.get(device.device_id, False), begin, 0.0
        for event in sorted(by_device.get(device.device_id, ()), key=lambda e: e.at):
            at = min(max(event.at, begin), end)
            if online:
                up += (at - since).total_seconds()
            online, since = event.online, at
        if online:
            up += (end - since).total_seconds()
        total = seconds[device.commune_code]
        total[0] += up
        total[1] += (end - begin).total_seconds()
    return {c: (counted[c], (round(up / total, 6) if total > 0 else None)) for c, (up, total) in seconds.items()}


# ---------------------------------------------------------------- one day

def compute_day(uow: UnitOfWork, day: date, tz: tzinfo, *, now: datetime, area: str | None = None,
                uptime_cache: UptimeCache | None = None) -> DayFigures:
    """Figures of one local day from the play log, presence changes and command deliveries (inside `uow`).

    For today, device-time stops at `now`. `area` limits the work to one province or commune (live figures);
    `uptime_cache` lets a page reuse the device-time it computed less than a minute ago.
    """
    start, end = day_bounds(day, tz)
    until = min(end, now)
    repo = uow.reports
    items = repo.played_items(start, end, area)
    programmes = repo.programme_facts({i.programme_id for i in items if i.programme_id is not None})
    emergencies = repo.emergency_facts({i.emergency_id for i in items if i.emergency_id is not None})
    lives = repo.live_facts({i.live_session_id for i in items if i.live_session_id is not None})
    airtime = fold_airtime(day, items, programmes, emergencies, lives)

    rows: dict[str, dict[str, Any]] = defaultdict(dict)  # per commune: keyword arguments of CommuneDay
    for (commune, outcome), n in repo.outcome_counts(start, end, area).items():
        if outcome in ("played", "missed", "failed", "preempted", "powered_off"):
            rows[commune][outcome] = n
    if until > start:
        def device_time(until: datetime = until) -> dict[str, tuple[int, float | None]]:
            devices = repo.device_spans(until, area)
            before = repo.presence_before(start, area) if devices else {}
            events = repo.presence_events(start, until, area) if devices else []
            return uptime(devices, before, events, start, until)

        figures = device_time() if uptime_cache is None else uptime_cache.get(area, day, now, device_time).rows
        for commune, (count, ratio) in figures.items():
            rows[commune].update(devices=count, uptime_ratio=ratio)
    for reach in repo.emergency_reach(start, end, area):
        row = rows[reach.commune_code]
        row["emergencies"] = int(row.get("emergencies", 0) or 0) + 1
        row["emergency_devices"] = int(row.get("emergency_devices", 0) or 0) + reach.tracked
        row["emergency_reached"] = int(row.get("emergency_reached", 0) or 0) + reach.reached
    communes = [CommuneDay(day=day, commune_code=c, **fields) for c, fields in sorted(rows.items())]
    return DayFigures(day, airtime, communes)


# ---------------------------------------------------------------- keeping stored figures current

def last_scan(uow: UnitOfWork) -> datetime | None:
    """Until when the nightly job last looked for late proof of play (its audit entry)."""
    entries = uow.audit.list(AuditQuery(action=AGGREGATE_ACTION, limit=1))
    if not entries:
        return None
    value = entries[0].details.get("scanned_until")
    return datetime.fromisoformat(value) if value else entries[0].at


def stale_days(uow: UnitOfWork, tz: tzinfo, first: date, last: date, *, scanned_until: datetime | None) -> list[date]:
    """Days in [first, last] to (re)compute: without stored figures, or with proof of play newer than them."""
    if first > last:
        return []
    computed = uow.reports.computed_days(first, last)
    stale = {d for d in days_between(first, last) if d not in computed}
    if computed:
        since = scanned_until or min(computed.values())
        start, _ = day_bounds(first, tz)
        _, end = day_bounds(last, tz)
        for played_at, recorded_at in uow.reports.late_play_times(since, start, end):
            day = local_day(played_at, tz)
            if day in computed and recorded_at > computed[day]:
                stale.add(day)
    return sorted(stale)


def store_days(uow_factory: Callable[[], UnitOfWork], clock: Clock, tz: tzinfo, days: Iterable[date]) -> int:
    """Compute and store each day in its own short transaction; returns how many days were written."""
    written = 0
    for day in days:
        uow = uow_factory()
        with uow:
            now = clock.now()
            figures = compute_day(uow, day, tz, now=now)
            uow.reports.replace_day(day, figures.airtime, figures.communes, computed_at=now)
            uow.commit()
        written += 1
    return written


def refresh(uow_factory: Callable[[], UnitOfWork], clock: Clock, tz: tzinfo, first: date, last: date, *,
            retention_days: int) -> list[date]:
    """Bring the stored figures of the closed, open days in [first, last] up to date; returns the days redone."""
    now = clock.now()
    first = max(first, first_open_day(now, tz, retention_days))
    last = min(last, local_day(now, tz) - timedelta(days=1))
    uow = uow_factory()
    with uow:
        first_seen = uow.reports.first_activity()
        if first_seen is None:
            return []  # nothing ever happened: no figures to compute
        first = max(first, local_day(first_seen, tz))
        days = stale_days(uow, tz, first, last, scanned_until=last_scan(uow))
    store_days(uow_factory, clock, tz, days)
    return days


def nightly(uow_factory: Callable[[], UnitOfWork], clock: Clock, tz: tzinfo, *, retention_days: int) -> list[date]:
    """The timer job: yesterday always, plus missing and late days since the earliest open day; audited."""
    now = clock.now()
    yesterday = local_day(now, tz) - timedelta(days=1)
    uow = uow_factory()
    with uow:
        first_seen = uow.reports.first_activity()
        days: set[date] = set()
        if first_seen is not None:
            first = max(first_open_day(now, tz, retention_days), local_day(first_seen, tz))
            days.update(stale_days(uow, tz, first, yesterday, scanned_until=last_scan(uow)))
    days.add(yesterday)
    done = sorted(days)
    store_days(uow_factory, clock, tz, done)
    uow = uow_factory()
    with uow:
        uow.audit.append(AuditEntry(actor=SYSTEM_ACTOR, action=AGGREGATE_ACTION, object_type="report", object_id="*",
                                    at=now, details={"scanned_until": now.isoformat(), "days": len(done),
                                                     "first": done[0].isoformat(), "last": done[-1].isoformat()}))
        uow.commit()
    log.info("daily aggregates: %s days recomputed (%s .. %s)", len(done), done[0], done[-1])
    return done
