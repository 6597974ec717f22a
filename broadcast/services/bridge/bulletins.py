"""Bulletins from the central system, handled as Circular 39/2020 says, each in one transaction with its receipt.

normal (thông thường)  -> a programme (source central, owned by the province) in the pool communes schedule from
priority (ưu tiên)     -> that programme placed in the next allowed window of each target area (bridge_placement)
emergency (khẩn cấp)   -> an emergency broadcast started at once on the targets (stoppable like any other)

Checks come first (areas known, validity not over, audio or text present), then the audio is downloaded and
rendered (or synthesized) outside any transaction, then one transaction writes everything and the receipt.
Refused bulletins are recorded with their reason and a `refused` receipt; nothing else of them is written. The
same id is imported once; a refused id may be sent again (e.g. after its media became reachable).
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from broadcast.domain.areas import Area
from broadcast.domain.audio import AssetStatus, AudioAsset
from broadcast.domain.errors import DomainError, InvalidInput, NotFound
from broadcast.domain.priority import Priority
from broadcast.domain.scheduling import Programme
from broadcast.domain.text import clean_text
from broadcast.services.bridge.outbox import enqueue
from broadcast.services.bridge.placement import NoWindow, place_priority
from broadcast.services.bridge.ports import Bulletin, BulletinRecord, Malformed
from broadcast.services.context import Actor, audit
from broadcast.services.emergencies import (
    MAX_EXPIRY,
    AudioFile,
    EmergencyRequest,
    EmergencyTools,
    prepare_emergency,
    stage_emergency,
)
from broadcast.services.ports import RenderedAudio, UnitOfWork

log = logging.getLogger(__name__)
SOURCE = "central"
HANDLING = {"normal": "pooled", "priority": "placed", "emergency": "broadcast"}
Fetcher = Callable[[str], AudioFile]  # url -> a scratch file the caller deletes; raises InvalidInput / TooLarge


@dataclass(frozen=True)
class BridgeTools:
    emergency: EmergencyTools  # clock, signer, audio processor, public URL, scratch dir
    fetch: Fetcher
    tz: str
    system_id: str = "loaxa"
    lead: timedelta = timedelta(minutes=10)  # a placed bulletin starts at least this far ahead (devices fetch it)


@dataclass(frozen=True)
class Receipt:
    """What the central side is told (and the pushing client gets back)."""

    bulletin_id: str | None
    status: str  # accepted | duplicate | refused
    code: str
    message: str  # Vietnamese, for the officers on both sides
    handling: str | None = None  # pooled | placed | broadcast
    programme_id: int | None = None
    emergency_id: int | None = None
    placements: tuple[dict, ...] = field(default_factory=tuple)

    def payload(self, received_at: datetime, system_id: str) -> dict[str, Any]:
        return {"bulletin_id": self.bulletin_id, "status": self.status, "code": self.code, "message": self.message,
                "handling": self.handling, "received_at": received_at.isoformat(), "system_id": system_id,
                "placements": [{k: p[k] for k in ("area_code", "start", "status")} for p in self.placements]}


def _queue_receipt(uow: UnitOfWork, tools: BridgeTools, receipt: Receipt) -> None:
    clock = tools.emergency.clock
    key = f"receipt:{receipt.bulletin_id}:{uuid.uuid4().hex[:16]}"
    enqueue(uow, clock, "receipt", key, receipt.payload(clock.now(), tools.system_id))


# ------------------------------------------------------------------ checks

def _check(bulletin: Bulletin, now: datetime) -> None:
    if bulletin.valid_until is not None and bulletin.valid_until <= now:
        raise InvalidInput(f"Bản tin đã hết hiệu lực lúc {bulletin.valid_until.isoformat()}; không nhận.",
                           code="expired")
    if bulletin.valid_from and bulletin.valid_until and bulletin.valid_from >= bulletin.valid_until:
        raise InvalidInput("Thời gian hiệu lực không hợp lệ: bắt đầu không trước kết thúc.", code="invalid_window")
    if not bulletin.audio_url and not (bulletin.text or "").strip():
        raise InvalidInput("Bản tin không có tệp âm thanh hay nội dung văn bản để đọc.", code="no_audio")
    if not bulletin.audio_url and bulletin.language != "vi":
        raise InvalidInput("Bản tin tiếng dân tộc thiểu số cần tệp ghi âm (không tổng hợp được giọng đọc).",
                           code="tts_language_unsupported")


def _areas(uow: UnitOfWork, codes: tuple[str, ...]) -> list[Area]:
    found: list[Area] = []
    unknown: list[str] = []
    for code in codes:
        area = uow.areas.get(code)
        if area is not None:
            found.append(area)
        else:
            unknown.append(code)
    if unknown:
        raise NotFound("Địa bàn nhận không tồn tại trong hệ thống: " + ", ".join(unknown) + ".", code="unknown_area")
    return found


# ------------------------------------------------------------------ audio

def _render(tools: BridgeTools, bulletin: Bulletin) -> RenderedAudio:
    """Download and render the audio, or synthesize the text; scratch files are always removed."""
    processor = tools.emergency.processor
    if bulletin.audio_url:
        file = tools.fetch(bulletin.audio_url)
        try:
            checked = processor.check(file.path, file.name)
            return processor.render(file.path, file.name, "speech", checked)
        finally:
            file.path.unlink(missing_ok=True)
    text = (bulletin.text or "").strip()
    processor.check_text(text, "vi")
    tools.emergency.work_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    wav = tools.emergency.work_dir / f"bulletin-{uuid.uuid4().hex}.wav"
    try:
        processor.synthesize(text, "vi", wav)
        return processor.render(wav, "tts.wav", "speech", None)
    finally:
        wav.unlink(missing_ok=True)


def _asset(bulletin: Bulletin, rendered: RenderedAudio, owner: str, actor: Actor, now: datetime) -> AudioAsset:
    tts = not bulletin.audio_url
    return AudioAsset(id=0, title=bulletin.title[:300], kind="tts" if tts else "upload",
                      language=bulletin.language, topic=bulletin.topic, area_code=owner, profile="speech",
                      status=AssetStatus.READY, original_name="tts.wav" if tts else "bulletin-audio",
                      created_by=actor.name, created_at=now, original_sha256=rendered.original_sha256,
                      sha256=rendered.sha256, bytes=rendered.bytes, duration_ms=rendered.duration_ms,
                      loudness=rendered.loudness, silences={"ranges_ms": rendered.silences},
                      tts_text=(bulletin.text or "").strip() if tts else None, voice="vi" if tts else None)


# ------------------------------------------------------------------ records

def _record(bulletin: Bulletin, now: datetime, status: str, **fields: Any) -> BulletinRecord:
    return BulletinRecord(id=bulletin.id, title=bulletin.title[:500], priority=bulletin.priority,
                          target_areas=bulletin.target_areas, status=status, received_at=now, text=bulletin.text,
                          audio_url=bulletin.audio_url, duration_ms=bulletin.duration_ms, topic=bulletin.topic,
                          agency=bulletin.agency, valid_from=bulletin.valid_from, valid_until=bulletin.valid_until,
                          issued_at=bulletin.issued_at, **fields)


def _refusal_record(item: Bulletin | Malformed, now: datetime, reason: str) -> BulletinRecord:
    if isinstance(item, Bulletin):
        return _record(item, now, "refused", reason=reason[:1000], payload={"received": dict(item.payload)})
    raw = item.payload
    raw_title, raw_areas = raw.get("title"), raw.get("areas")
    title = raw_title if isinstance(raw_title, str) else ""
    areas = raw_areas if isinstance(raw_areas, list) else []
    return BulletinRecord(id=item.id or "", title=title[:500], priority=str(raw.get("priority", ""))[:16],
                          target_areas=tuple(str(a)[:16] for a in areas[:100]), status="refused", received_at=now,
                          reason=reason[:1000], payload={"received": dict(raw)})


def _refuse(uow: UnitOfWork, tools: BridgeTools, actor: Actor, item: Bulletin | Malformed, code: str,
            message: str, via: str) -> Receipt:
    receipt = Receipt(item.id, "refused", code, message)
    if item.id is None:
        return receipt  # nothing to refer to: the pushing client sees the answer, a pulled one is logged
    clock = tools.emergency.clock
    with uow:
        current = uow.bridge.get_bulletin(item.id, for_update=True)
        if current is not None and current.status != "refused":
            return Receipt(item.id, "duplicate", "duplicate", "Bản tin đã được nhận trước đó; không nhập lại.",
                           handling=current.status)
        uow.bridge.save_bulletin(_refusal_record(item, clock.now(), f"{code}: {message}"),
                                 replacing=current.status if current else None)
        _queue_receipt(uow, tools, receipt)
        audit(uow, clock, actor, "bridge.bulletin_refused", "bulletin", item.id, code=code, reason=message, via=via)
        uow.commit()
    return receipt


def _duplicate(uow: UnitOfWork, tools: BridgeTools, record: BulletinRecord) -> Receipt:
    receipt = Receipt(record.id, "duplicate", "duplicate",
                      f"Bản tin {record.id} đã được nhận lúc {record.received_at.isoformat()}; không nhập lại.",
                      handling=record.status, programme_id=record.programme_id, emergency_id=record.emergency_id)
    with uow:
        _queue_receipt(uow, tools, receipt)
        uow.commit()
    return receipt


# ------------------------------------------------------------------ use case

def import_bulletin(uow: UnitOfWork, tools: BridgeTools, item: Bulletin | Malformed, *, via: str) -> Receipt:
    """One bulletin, pulled or pushed; never raises a DomainError (it becomes a refused receipt)."""
    actor = Actor(None)
    if isinstance(item, Malformed):
        return _refuse(uow, tools, actor, item, item.code, item.message, via)
    with uow:
        existing = uow.bridge.get_bulletin(item.id)
    if existing is not None and existing.status != "refused":
        return _duplicate(uow, tools, existing)
    try:
        return _accept(uow, tools, actor, item, via)
    except NoWindow as exc:
        return _refuse(uow, tools, actor, item, "no_window",
                       f"Không có khung giờ được phép nào của địa bàn {exc.area.code} ({exc.area.name}) "
                       "trong thời gian hiệu lực của bản tin.", via)
    except DomainError as exc:
        return _refuse(uow, tools, actor, item, exc.code, exc.message, via)


def _accept(uow: UnitOfWork, tools: BridgeTools, actor: Actor, bulletin: Bulletin, via: str) -> Receipt:
    clock = tools.emergency.clock
    bulletin = replace(bulletin, title=clean_text(bulletin.title, "Tiêu đề bản tin"),
                       text=None if bulletin.text is None else clean_text(bulletin.text, "Nội dung bản tin",
                                                                          multiline=True))
    _check(bulletin, clock.now())
    with uow:
        areas = _areas(uow, bulletin.target_areas)
    owner = areas[0].parent_code or areas[0].code  # the province keeps the programme
    if bulletin.priority == "emergency":
        return _accept_emergency(uow, tools, actor, bulletin, via)
    rendered = _render(tools, bulletin)
    with uow:
        current = uow.bridge.get_bulletin(bulletin.id, for_update=True)
        if current is not None and current.status != "refused":  # the same bulletin, imported meanwhile
            return Receipt(bulletin.id, "duplicate", "duplicate", "Bản tin đã được nhận trước đó; không nhập lại.",
                           handling=current.status)
        now = clock.now()
        asset = uow.audio.add(_asset(bulletin, rendered, owner, actor, now))
        priority = Priority.parse(bulletin.priority)
        programme = uow.programmes.add(Programme(
            id=0, title=bulletin.title[:300], topic=bulletin.topic, language=bulletin.language, source=SOURCE,
            priority=priority, area_code=owner, created_by=actor.name, created_at=now, asset_ids=(asset.id,),
            bulletin_id=bulletin.id))
        placements: list[dict] = []
        if priority is Priority.PRIORITY:
            placements = [p.to_dict() for p in place_priority(
                uow, clock, actor, programme, areas, tz=tools.tz, lead=tools.lead, valid_from=bulletin.valid_from,
                valid_until=bulletin.valid_until, bulletin_id=bulletin.id)]
        handling = HANDLING[bulletin.priority]
        waiting = [p for p in placements if p["status"] != "approved"]
        message = {"pooled": "Đã nhận bản tin vào kho bản tin để các xã chọn phát.",
                   "placed": "Đã xếp bản tin ưu tiên vào khung giờ được phép gần nhất của từng địa bàn"
                             + (f"; {len(waiting)} địa bàn trùng giờ với tin ưu tiên của xã, chờ xã quyết định."
                                if waiting else ".")}[handling]
        uow.bridge.save_bulletin(_record(bulletin, now, handling, asset_id=asset.id, programme_id=programme.id,
                                         payload={"received": dict(bulletin.payload), "placements": placements}),
                                 replacing=current.status if current else None)
        receipt = Receipt(bulletin.id, "accepted", "accepted", message, handling, programme.id,
                          placements=tuple(placements))
        _queue_receipt(uow, tools, receipt)
        audit(uow, clock, actor, "bridge.bulletin_accepted", "bulletin", bulletin.id, area_code=owner,
              priority=bulletin.priority, handling=handling, programme_id=programme.id, via=via,
              schedules=[p["schedule_id"] for p in placements])
        uow.commit()
    return receipt


def _accept_emergency(uow: UnitOfWork, tools: BridgeTools, actor: Actor, bulletin: Bulletin, via: str) -> Receipt:
    clock = tools.emergency.clock
    now = clock.now()
    expires_at = min(bulletin.valid_until, now + MAX_EXPIRY).replace(microsecond=0) if bulletin.valid_until else None
    audio_file = tools.fetch(bulletin.audio_url) if bulletin.audio_url else None
    try:
        request = EmergencyRequest(reason=bulletin.title[:1000], areas=bulletin.target_areas, audio_file=audio_file,
                                   text=None if audio_file else (bulletin.text or "").strip(), expires_at=expires_at)
        prepared = prepare_emergency(uow, tools.emergency, actor, request)
    finally:
        if audio_file is not None:
            audio_file.path.unlink(missing_ok=True)
    with uow:
        current = uow.bridge.get_bulletin(bulletin.id, for_update=True)
        if current is not None and current.status != "refused":
            return Receipt(bulletin.id, "duplicate", "duplicate", "Bản tin đã được nhận trước đó; không nhập lại.",
                           handling=current.status)
        emergency = stage_emergency(uow, tools.emergency, actor, prepared, source=SOURCE, external_id=bulletin.id)
        uow.bridge.save_bulletin(_record(bulletin, clock.now(), "broadcast", asset_id=emergency.audio_id,
                                         emergency_id=emergency.id, payload={"received": dict(bulletin.payload)}),
                                 replacing=current.status if current else None)
        receipt = Receipt(bulletin.id, "accepted", "accepted", "Đã phát khẩn cấp bản tin trên các địa bàn nhận.",
                          "broadcast", emergency_id=emergency.id)
        _queue_receipt(uow, tools, receipt)
        audit(uow, clock, actor, "bridge.bulletin_accepted", "bulletin", bulletin.id, area_code=emergency.area_code,
              priority=bulletin.priority, handling="broadcast", emergency_id=emergency.id, via=via)
        uow.commit()
    return receipt
