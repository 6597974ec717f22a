"""What the province tells the central system, queued in the outbox with keys that make each message once.

- master data (dữ liệu danh mục): stations (communes with devices) and their clusters, keyed by day and content,
  so an unchanged registry is sent at most once a day and a change goes out on the next run;
- playback (kết quả phát): play-log rows of central bulletins after a cursor kept in the database, in batches,
  keyed by their id range; only rows older than a lag are read, so rows of transactions still in flight are not
  skipped;
- daily aggregates (số liệu tổng hợp ngày) per commune from the stored daily tables, keyed by day, commune and
  content: figures recomputed later go out again as a new version of the same day.
"""
from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from broadcast.services.bridge.outbox import enqueue
from broadcast.services.ports import Clock, UnitOfWork

PLAYBACK_CURSOR = "playback_cursor"
PLAYBACK_BATCH = 500
PLAYBACK_LAG = timedelta(minutes=2)
NOT_LEGAL_TOPICS = frozenset({"news", "music", "other"})  # as the province reports count legal education


def _digest(payload: Any) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def enqueue_master_data(uow: UnitOfWork, clock: Clock, system_id: str) -> bool:
    with uow:
        stations = uow.bridge.stations()
        body: list[dict[str, Any]] = [
            {"commune_code": s.commune_code, "commune_name": s.commune_name, "province_code": s.province_code,
             "clusters": list(s.clusters), "clusters_total": len(s.clusters),
             "clusters_online": sum(1 for c in s.clusters if c["state"] == "online")} for s in stations]
        # last_seen changes every minute: it is reported but not part of what makes the registry "changed".
        identity = [{**s, "clusters": [{k: v for k, v in c.items() if k != "last_seen"} for c in s["clusters"]],
                     "clusters_online": None} for s in body]
        now = clock.now()
        key = f"master_data:{now.date().isoformat()}:{_digest(identity)}"
        queued = enqueue(uow, clock, "master_data", key,
                         {"system_id": system_id, "generated_at": now.isoformat(), "stations": body})
        uow.commit()
        return queued


def enqueue_playback(uow_factory: Callable[[], UnitOfWork], clock: Clock, system_id: str,
                     batch: int = PLAYBACK_BATCH) -> int:
    """Queue every new play of a central bulletin; returns how many rows went into messages."""
    total = 0
    while True:
        uow = uow_factory()
        with uow:
            after = int(uow.bridge.get_state(PLAYBACK_CURSOR) or 0)
            rows = uow.bridge.playback_after(after, recorded_before=clock.now() - PLAYBACK_LAG, limit=batch)
            if not rows:
                return total
            plays = [{"bulletin_id": r.bulletin_id, "cluster_id": r.device_id, "commune_code": r.commune_code,
                      "outcome": r.outcome, "planned_start": _iso(r.planned_start), "started_at": _iso(r.started_at),
                      "ended_at": _iso(r.ended_at), "reason": r.reason} for r in rows]
            key = f"playback:{rows[0].id}-{rows[-1].id}"
            enqueue(uow, clock, "playback", key, {"system_id": system_id, "plays": plays})
            uow.bridge.set_state(PLAYBACK_CURSOR, str(rows[-1].id), at=clock.now())
            uow.commit()
        total += len(rows)


def enqueue_daily(uow: UnitOfWork, clock: Clock, system_id: str, day: date) -> int:
    """One message per commune with figures for `day`; returns how many were new."""
    with uow:
        airtime, communes = uow.bridge.daily_rows(day)
        by_commune: dict[str, dict[str, Any]] = defaultdict(lambda: {"airtime": [], "outcomes": None})
        for row in airtime:
            by_commune[row["commune_code"]]["airtime"].append({k: v for k, v in row.items() if k != "commune_code"})
        for row in communes:
            by_commune[row["commune_code"]]["outcomes"] = {k: v for k, v in row.items() if k != "commune_code"}
        queued = 0
        for commune, figures in sorted(by_commune.items()):
            seconds = sum(a["seconds"] for a in figures["airtime"])
            legal = sum(a["seconds"] for a in figures["airtime"] if a["topic"] not in NOT_LEGAL_TOPICS)
            payload = {"system_id": system_id, "day": day.isoformat(), "commune_code": commune, **figures,
                       "seconds_total": seconds,
                       "legal_education_share": round(legal / seconds, 4) if seconds else None}
            key = f"daily:{day.isoformat()}:{commune}:{_digest(payload)}"
            queued += enqueue(uow, clock, "daily_report", key, payload)
        uow.commit()
        return queued
