"""Proof of play: device acks become play-log rows; officers list and export them; old rows are purged.

Acks say what a device did with an item (`played`, `preempted`, `missed`, `failed`); the signed document of
the acked version says what was planned (start, end, title, priority, schedule, programme). The row keeps
both, so a report needs no join against documents that retention or newer versions may have replaced.
"""
from __future__ import annotations

import csv
import io
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime, timedelta, tzinfo
from typing import Any

from broadcast import protocol
from broadcast.domain.audit import SYSTEM_ACTOR, AuditEntry
from broadcast.domain.auth import Action, Principal
from broadcast.domain.delivery import AckReport
from broadcast.domain.errors import InvalidInput
from broadcast.domain.text import printable, spreadsheet_cell
from broadcast.services.areas import get_area
from broadcast.services.ports import Clock, CommandFacts, PlayLogEntry, PlayLogQuery, UnitOfWork

log = logging.getLogger(__name__)

OUTCOME_LABELS_VI = {"played": "đã phát", "preempted": "bị ngắt", "missed": "bỏ lỡ", "failed": "lỗi"}
OUTCOMES = frozenset(OUTCOME_LABELS_VI)
PRIORITY_LABELS_VI = {"normal": "thông thường", "priority": "ưu tiên", "emergency": "khẩn cấp"}
PURGED_TABLES = ("play_log", "device_acks", "audit_log")
SUPERSEDED_SCHEDULES = "schedule_publications"  # versions a device has since received a newer one of


# ---------------------------------------------------------------- recording

def _int_or_none(value: Any) -> int | None:
    """Documents may carry ids as numbers or as digit strings (the compiler's ids are strings)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _time_or_none(value: Any) -> datetime | None:
    try:
        return protocol.parse_time(value) if value else None
    except protocol.ProtocolError:
        return None


def _planned(item: dict[str, Any] | None) -> dict[str, Any]:
    if not item:
        return {}
    return {"planned_start": _time_or_none(item.get("start")), "planned_end": _time_or_none(item.get("end")),
            "title": str(item.get("title") or "")[:300], "priority": item.get("priority"),
            "schedule_id": _int_or_none(item.get("schedule_id")),
            "programme_id": _int_or_none(item.get("programme_id"))}


def _version(ref_id: str) -> int | None:
    return int(ref_id) if ref_id.isdigit() else None


def _command_title(facts: CommandFacts) -> str:
    """An emergency is known by its reason ("Bão số 3 đổ bộ..."), on one line; a live broadcast by who went live
    to where; other commands by what they are."""
    if facts.live_title:
        return facts.live_title[:300]
    if facts.emergency_id is None:
        return "Lệnh phát trực tiếp"
    reason = " ".join(printable(facts.emergency_reason or "").split())
    return reason[:300] or "Phát khẩn cấp"


def entries_from_acks(uow: UnitOfWork, acks: Sequence[AckReport]) -> list[PlayLogEntry]:
    """Play-log rows for the outcome acks of a batch, enriched with a few set-based look-ups.

    Documents are read once per (device, version) and commands once per cmd_id, whatever the batch size.
    An ack whose version or item is unknown is still recorded, with what the ack itself says.
    """
    outcomes = [a for a in acks if a.stage in OUTCOMES]
    if not outcomes:
        return []
    communes = uow.playlog.communes_of({a.device_id for a in outcomes})
    schedule_keys = {(a.device_id, v) for a in outcomes if a.ref_kind == "schedule"
                     and (v := _version(a.ref_id)) is not None}
    documents = uow.playlog.schedule_items(schedule_keys) if schedule_keys else {}
    items: dict[tuple[str, int], dict[str, dict[str, Any]]] = {}
    commands = uow.playlog.command_facts({a.ref_id for a in outcomes if a.ref_kind == "command"})
    entries = []
    for ack in outcomes:
        if ack.device_id not in communes:
            continue  # record_acks already drops unknown devices; a deleted one has no area to report under
        base: dict[str, Any] = {
            "device_id": ack.device_id, "commune_code": communes[ack.device_id], "outcome": ack.stage,
            "recorded_at": ack.received_at, "started_at": ack.started_at, "ended_at": ack.ended_at,
            "reason": (ack.reason or None) and ack.reason[:500]}
        if ack.ref_kind == "command":
            facts = commands.get(ack.ref_id)
            extra: dict[str, Any] = {"item_id": ack.ref_id[:128], "title": "Lệnh phát trực tiếp"}
            if facts is not None:
                extra.update(planned_start=facts.issued_at, priority=facts.priority, emergency_id=facts.emergency_id,
                             title=_command_title(facts), live_session_id=facts.live_session_id)
        else:
            key = (ack.device_id, _version(ack.ref_id) or -1)
            if key not in items:
                items[key] = {str(i.get("item_id")): i for i in documents.get(key, ())}
            extra = {"item_id": ack.item_id, **_planned(items[key].get(ack.item_id) if ack.item_id else None)}
        entries.append(PlayLogEntry(**base, **extra))
    return entries


def record_play(uow: UnitOfWork, acks: Sequence[AckReport]) -> int:
    """DeliveryInbox's on_acks hook: runs inside the inbox transaction with the acks that were new."""
    entries = entries_from_acks(uow, acks)
    return uow.playlog.add_many(entries) if entries else 0


# ---------------------------------------------------------------- reading

def scoped_query(uow: UnitOfWork, principal: Principal, query: PlayLogQuery) -> PlayLogQuery:
    """The query restricted to the reader's areas; an explicit area or device outside them is refused."""
    if query.outcome is not None and query.outcome not in OUTCOMES:
        raise InvalidInput(f"Kết quả không hợp lệ: {query.outcome!r}. Hợp lệ: {', '.join(sorted(OUTCOMES))}.",
                           code="invalid_outcome")
    if query.since is not None and query.until is not None and query.since >= query.until:
        raise InvalidInput("Thời điểm bắt đầu phải trước thời điểm kết thúc.", code="invalid_period")
    with uow:
        if query.area_code is not None:
            principal.require(Action.READ, get_area(uow, query.area_code).chain())
        if query.device_id is not None:
            device = uow.devices.get(query.device_id)
            if device is not None:
                principal.require(Action.READ, device.area_chain())
    return PlayLogQuery(**{**query.__dict__, "within_areas": frozenset(principal.areas_for(Action.READ))})


def list_playlog(uow: UnitOfWork, principal: Principal, query: PlayLogQuery) -> Sequence[PlayLogEntry]:
    scoped = scoped_query(uow, principal, query)
    with uow:
        return uow.playlog.list(scoped)


def stream_playlog(uow: UnitOfWork, scoped: PlayLogQuery) -> Iterator[PlayLogEntry]:
    """Every row of an already scoped query, read in chunks inside one transaction."""
    with uow:
        yield from uow.playlog.iterate(scoped)


# ---------------------------------------------------------------- CSV

CSV_HEADERS = ("Thiết bị", "Mã xã/phường", "Xã/phường", "Mã mục", "Chương trình", "Mã chương trình", "Mã lịch phát",
               "Mã khẩn cấp", "Mức ưu tiên", "Bắt đầu dự kiến", "Kết thúc dự kiến", "Bắt đầu thực tế", "Kết thúc",
               "Kết quả", "Lý do", "Ghi nhận lúc",
               "Mã phát trực tiếp")  # last: spreadsheets made from earlier exports keep their columns
BOM = "\ufeff"  # so Excel reads the file as UTF-8


def _local(value: datetime | None, tz: tzinfo) -> str:
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S") if value else ""


def csv_row(e: PlayLogEntry, tz: tzinfo) -> list[str]:
    def text(value: object) -> str:
        return "" if value is None else str(value)

    return [e.device_id, e.commune_code, e.commune_name, e.item_id, e.title, text(e.programme_id),
            text(e.schedule_id), text(e.emergency_id), PRIORITY_LABELS_VI.get(e.priority or "", text(e.priority)),
            _local(e.planned_start, tz), _local(e.planned_end, tz), _local(e.started_at, tz), _local(e.ended_at, tz),
            OUTCOME_LABELS_VI.get(e.outcome, e.outcome), text(e.reason), _local(e.recorded_at, tz),
            text(e.live_session_id)]


def csv_file_name(now: datetime, tz: tzinfo) -> str:
    """'Nhật ký phát 28-11-2026 08h35.csv': when the export was made, local time."""
    return f"Nhật ký phát {now.astimezone(tz):%d-%m-%Y %Hh%M}.csv"


def csv_chunks(entries: Iterable[PlayLogEntry], tz: tzinfo, rows_per_chunk: int = 500) -> Iterator[str]:
    """The export as text chunks: a BOM and the header first, then rows, times in local time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow(CSV_HEADERS)
    pending = 0
    for entry in entries:
        writer.writerow([spreadsheet_cell(cell) for cell in csv_row(entry, tz)])  # titles, reasons: outside text
        pending += 1
        if pending >= rows_per_chunk:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    yield buffer.getvalue()


# ---------------------------------------------------------------- retention

def purge_expired(uow_factory: Callable[[], UnitOfWork], clock: Clock, retention_days: int, *,
                  batch: int = 5000) -> dict[str, int]:
    """Delete play-log, ack and audit rows older than the retention, and schedule versions created before it that
    their device has received a newer one of, in short transactions.

    Returns how many rows of each table went; the purge itself is audited (that entry is new, so it stays).
    """
    if retention_days < 1:
        raise InvalidInput("Thời hạn lưu trữ phải ít nhất 1 ngày.", code="invalid_retention")
    now = clock.now()
    cutoff = now - timedelta(days=retention_days)
    counts = {table: _in_batches(uow_factory, _dated_rows(table, cutoff, batch), batch) for table in PURGED_TABLES}
    counts[SUPERSEDED_SCHEDULES] = _in_batches(uow_factory, lambda uow: uow.delivery.purge_superseded(cutoff, batch),
                                               batch)
    if any(counts.values()):
        uow = uow_factory()
        with uow:
            uow.audit.append(AuditEntry(actor=SYSTEM_ACTOR, action="retention.purge", object_type="retention",
                                        object_id="*", at=now, details={"before": cutoff.isoformat(), **counts}))
            uow.commit()
    log.info("retention purge before %s: %s", cutoff.isoformat(), counts)
    return counts


def _dated_rows(table: str, before: datetime, limit: int) -> Callable[[UnitOfWork], int]:
    return lambda uow: uow.playlog.purge(table, before, limit)


def _in_batches(uow_factory: Callable[[], UnitOfWork], purge: Callable[[UnitOfWork], int], batch: int) -> int:
    """Repeat `purge` (up to `batch` rows), one transaction each, until a pass deletes fewer: locks stay short."""
    total = 0
    while True:
        uow = uow_factory()
        with uow:
            deleted = purge(uow)
            uow.commit()
        total += deleted
        if deleted < batch:
            return total
