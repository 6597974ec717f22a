"""Emergency broadcasts (khẩn cấp, Circular 39/2020): play now on every device asked for, and report its reach.

Targets become zone topics (a province's zone is its code, a commune's "{province}-{commune}", villages by id) so
one publish reaches a whole area; devices are tracked one by one for reach. The audio is ready before anything is
written: a library asset must be ready, and text is synthesized and rendered in the request (an emergency cannot
wait behind the render queue). Nothing is written when a target, the audio or the authorization is wrong.

Every message (text, recording, library file, CAP or bulletin) becomes one new rendition: the attention chime,
then the message `repeat` times with pauses (LOAXA_EMERGENCY_REPEAT). A warning has no minimum length: "Cháy!"
is as valid as a minute of instructions. A live relay (stream_url) plays as it is: a command carries either
media or a stream (spec section 3), so it has no chime.
"""
from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from broadcast import protocol
from broadcast.domain.areas import area_zone_id
from broadcast.domain.audio import TTS_VOICES, AssetStatus, AudioAsset
from broadcast.domain.auth import Action, Principal
from broadcast.domain.devices import AckStage
from broadcast.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from broadcast.domain.text import clean_text
from broadcast.services.context import Actor, audit
from broadcast.services.delivery.commands import CommandRequest, stage_command
from broadcast.services.ports import AudioProcessor, Clock, Emergency, EmergencyUnitOfWork, RenderedAudio, Signer

MAX_EXPIRY = timedelta(hours=24)
DEFAULT_EXPIRY = timedelta(minutes=60)
MAX_TARGETS = 1000
STREAM_SCHEMES = ("http", "https", "rtsp", "rtmp")
STOP_TTL = timedelta(minutes=30)
PRIORITY: protocol.Priority = "emergency"


@dataclass(frozen=True)
class EmergencyTools:
    """What starting an emergency needs besides the database."""

    clock: Clock
    signer: Signer
    processor: AudioProcessor
    public_url: str  # media URLs devices download from
    work_dir: Path  # scratch space for TTS
    repeat: int = 2  # times the message is said after the chime


@dataclass(frozen=True)
class AudioFile:
    """Audio already on disk (a CAP resource that was downloaded); owned by the caller."""

    path: Path
    name: str


@dataclass(frozen=True)
class EmergencyRequest:
    reason: str
    areas: Sequence[str] = ()
    zones: Sequence[str] = ()
    devices: Sequence[str] = ()
    audio_id: int | None = None
    text: str | None = None
    voice: str = "vi"
    stream_url: str | None = None
    stream_minutes: int | None = None  # how long a relay plays; default until expiry
    audio_file: AudioFile | None = None
    expires_in_minutes: int | None = None
    expires_at: datetime | None = None
    volume: int = 100
    test_only: bool = False  # only devices flagged test_device (CAP Test / Exercise)


@dataclass(frozen=True)
class EmergencyPlan:
    """Where the commands go and whose acks count, decided once the targets are known and allowed."""

    zone_ids: list[str]
    publish_zones: list[str]
    publish_devices: list[str]
    tracked: list[str]
    chains: list[list[str]]
    owner: str


@dataclass(frozen=True)
class Reach:
    tracked: int
    stages: dict[str, int] = field(default_factory=dict)  # furthest stage each device reported -> devices
    not_reached: int = 0  # no ack at all

    @property
    def received(self) -> int:
        """Devices that took the command (every stage from received on; rejected and expired did not)."""
        return sum(n for s, n in self.stages.items() if s not in (AckStage.REJECTED, AckStage.EXPIRED))


@dataclass(frozen=True)
class EmergencyView:
    emergency: Emergency
    status: str  # active | stopped | expired
    reach: Reach | None
    stop_reach: Reach | None


# ------------------------------------------------------------------ validation (pure)

def _check_request(request: EmergencyRequest, now: datetime) -> tuple[str, datetime]:
    """The reason (trimmed) and the expiry; raises InvalidInput before anything is read or written."""
    reason = (request.reason or "").strip()
    if not reason or len(reason) > 1000:
        raise InvalidInput("Lý do phát khẩn cấp phải có từ 1 đến 1000 ký tự.", code="invalid_reason")
    if not (request.areas or request.zones or request.devices):
        raise InvalidInput("Cần chọn ít nhất một địa bàn, vùng phát hoặc thiết bị nhận.", code="no_targets")
    if max(len(request.areas), len(request.zones), len(request.devices)) > MAX_TARGETS:
        raise InvalidInput(f"Mỗi loại đích nhận tối đa {MAX_TARGETS} mục.", code="too_many_targets")
    sources = [s for s in (request.audio_id, request.text, request.stream_url, request.audio_file) if s is not None]
    if not sources:
        raise InvalidInput("Cần chọn nội dung phát: mã tệp âm thanh đã sẵn sàng, văn bản để đọc (TTS) "
                           "hoặc địa chỉ luồng tiếp sóng.", code="no_audio")
    if len(sources) > 1:
        raise InvalidInput("Chỉ được chọn một nội dung phát: tệp âm thanh, văn bản hoặc luồng tiếp sóng.",
                           code="too_many_audio")
    if request.text is not None:
        if not request.text.strip():
            raise InvalidInput("Văn bản cần đọc đang trống.", code="text_empty")
        if request.voice not in TTS_VOICES:
            raise InvalidInput(f"Giọng đọc không hợp lệ: {request.voice!r}. Hợp lệ: {', '.join(TTS_VOICES)}.",
                               code="unknown_voice")
    if request.stream_url is not None:
        parts = urlsplit(request.stream_url)
        if parts.scheme not in STREAM_SCHEMES or not parts.hostname or len(request.stream_url) > 500:
            raise InvalidInput("Địa chỉ luồng tiếp sóng phải là URL http(s), rtsp hoặc rtmp, tối đa 500 ký tự.",
                               code="invalid_stream_url")
        if request.stream_minutes is not None and not 1 <= request.stream_minutes <= 24 * 60:
            raise InvalidInput("Thời lượng tiếp sóng phải từ 1 đến 1440 phút.", code="invalid_stream_minutes")
    if not 0 <= request.volume <= 100:
        raise InvalidInput("Âm lượng phải từ 0 đến 100.", code="invalid_volume")
    return reason, _expiry(request, now)


def _expiry(request: EmergencyRequest, now: datetime) -> datetime:
    if request.expires_in_minutes is not None and request.expires_at is not None:
        raise InvalidInput("Chỉ nhập một trong hai: số phút hiệu lực hoặc thời điểm hết hiệu lực.",
                           code="invalid_expiry")
    if request.expires_in_minutes is not None:
        if not 1 <= request.expires_in_minutes <= MAX_EXPIRY.total_seconds() // 60:
            raise InvalidInput("Thời hạn hiệu lực phải từ 1 phút đến 24 giờ.", code="invalid_expiry")
        return now + timedelta(minutes=request.expires_in_minutes)
    if request.expires_at is None:
        return now + DEFAULT_EXPIRY
    if request.expires_at.tzinfo is None:
        raise InvalidInput("Thời điểm hết hiệu lực phải có múi giờ, ví dụ 2026-11-29T06:00:00+07:00.",
                           code="invalid_expiry")
    expires_at = request.expires_at.replace(microsecond=0)
    if expires_at <= now:
        raise InvalidInput("Thời điểm hết hiệu lực đã qua.", code="expired")
    if expires_at - now > MAX_EXPIRY:
        raise InvalidInput("Thời hạn hiệu lực tối đa là 24 giờ.", code="expiry_too_long")
    return expires_at


# ------------------------------------------------------------------ targets and authorization

def _owner(chains: Sequence[Sequence[str]]) -> str:
    """The narrowest area holding every target: one commune, else one province, else the first target's province."""
    if len({c[0] for c in chains}) == 1:
        return chains[0][0]
    if len({c[-1] for c in chains}) == 1:
        return chains[0][-1]
    return chains[0][-1]


def plan_targets(uow: EmergencyUnitOfWork, actor: Actor, *, areas: Sequence[str], zones: Sequence[str],
                 devices: Sequence[str], test_only: bool, action: Action = Action.SEND_EMERGENCY) -> EmergencyPlan:
    """Resolve every target (unknown -> NotFound) and require `action` (sending emergencies, or managing devices
    for remote commands) on each."""
    chains: list[list[str]] = []
    zone_ids: list[str] = []
    for code in dict.fromkeys(areas):
        area = uow.areas.get(code)
        if area is None:
            raise NotFound(f"Không tìm thấy đơn vị hành chính có mã {code}.", code="area_not_found")
        zone_ids.append(area_zone_id(area))
        chains.append(list(area.chain()))
    for zone_id in dict.fromkeys(zones):
        zone = uow.zones.get(zone_id)
        commune = uow.areas.get(zone.commune_code) if zone else None
        if zone is None or commune is None:
            raise NotFound(f"Không tìm thấy vùng phát {zone_id}.", code="zone_not_found")
        zone_ids.append(zone.id)
        chains.append(list(commune.chain()))
    explicit = []
    for device_id in dict.fromkeys(devices):
        device = uow.devices.get(device_id)
        if device is None:
            raise NotFound(f"Không tìm thấy thiết bị {device_id}.", code="device_not_found")
        if device.disabled:
            raise InvalidInput(f"Thiết bị {device_id} đang bị vô hiệu hóa.", code="device_disabled")
        explicit.append(device)
        chains.append(list(device.area_chain()))
    for chain in chains:
        actor.require(action, chain)

    zone_ids = list(dict.fromkeys(zone_ids))
    wanted = set(zone_ids)
    if test_only:
        # Zone topics would reach every device: test alerts go to each test device's own topic.
        ids = [d.id for d in uow.devices.directory() if d.test_device and wanted.intersection(d.all_zones())] \
            if wanted else []
        ids = list(dict.fromkeys(ids + [d.id for d in explicit if d.test_device]))
        if not ids:
            raise InvalidInput("Không có thiết bị thử nghiệm nào trong khu vực nhận.", code="no_test_devices")
        return EmergencyPlan(zone_ids, [], ids, ids, chains, _owner(chains))
    in_zones = uow.devices.ids_in_zones(zone_ids) if zone_ids else []
    outside = [d.id for d in explicit if not wanted.intersection(d.all_zones())]
    tracked = list(dict.fromkeys(in_zones + [d.id for d in explicit]))
    return EmergencyPlan(zone_ids, zone_ids, outside, tracked, chains, _owner(chains))


# ------------------------------------------------------------------ audio

@dataclass(frozen=True)
class _Audio:
    new_asset: AudioAsset | None = None  # rendered now; added in the same transaction as the emergency
    media: list[protocol.Media] | None = None
    duration_ms: int | None = None


def _media_item(public_url: str, sha256: str, size: int, duration_ms: int) -> protocol.Media:
    return protocol.build_media(sha256, protocol.media_url(public_url, sha256), size, duration_ms)


def _library_asset(uow: EmergencyUnitOfWork, actor: Actor, audio_id: int) -> AudioAsset:
    """A ready library asset the actor may read."""
    asset = uow.audio.get(audio_id)
    if asset is None:
        raise NotFound(f"Không tìm thấy tệp âm thanh số {audio_id}.", code="audio_not_found")
    if asset.area_code is not None:
        area = uow.areas.get(asset.area_code)
        actor.require(Action.READ, area.chain() if area else (asset.area_code,))
    if asset.status is not AssetStatus.READY or not asset.sha256:
        raise InvalidInput(f"Tệp âm thanh số {audio_id} chưa sẵn sàng để phát (trạng thái: {asset.status.value}).",
                           code="audio_not_ready")
    return asset


def _library_file(tools: EmergencyTools, asset: AudioAsset) -> AudioFile:
    path = tools.processor.media_path(asset.sha256 or "")
    if path is None:
        raise InvalidInput(f"Không tìm thấy tệp âm thanh số {asset.id} trong kho; hãy tải lên lại.",
                           code="audio_missing")
    return AudioFile(path, asset.original_name)


def _rendered_audio(tools: EmergencyTools, actor: Actor, request: EmergencyRequest, reason: str,
                    owner: str, library: AudioAsset | None) -> _Audio:
    """Synthesize the text, or take the library's or the downloaded file, and render it after the chime, repeated;
    raises InvalidInput on bad audio."""
    processor = tools.processor
    if request.text is not None:
        text = request.text.strip()
        processor.check_text(text, request.voice)
        tools.work_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        wav = tools.work_dir / f"emergency-{uuid.uuid4().hex}.wav"
        try:
            processor.synthesize(text, request.voice, wav)
            rendered = processor.render_alert(wav, "tts.wav", repeat=tools.repeat)
        finally:
            wav.unlink(missing_ok=True)
        kind, name, tts_text, voice = "tts", "tts.wav", text, request.voice
    else:
        message = _library_file(tools, library) if library is not None else request.audio_file
        assert message is not None
        rendered = processor.render_alert(message.path, message.name, repeat=tools.repeat)
        kind, name, tts_text, voice = "upload", message.name, None, None
    now = tools.clock.now()
    asset = _asset(rendered, kind=kind, name=name, title=f"Khẩn cấp: {reason}"[:300], owner=owner,
                   created_by=actor.name, now=now, tts_text=tts_text, voice=voice,
                   language=library.language if library is not None else "vi")
    return _Audio(new_asset=asset, media=[_media_item(tools.public_url, rendered.sha256, rendered.bytes,
                                                      rendered.duration_ms)], duration_ms=rendered.duration_ms)


def _asset(rendered: RenderedAudio, *, kind: str, name: str, title: str, owner: str, created_by: str,
           now: datetime, tts_text: str | None, voice: str | None, language: str = "vi") -> AudioAsset:
    return AudioAsset(id=0, title=title, kind=kind, language=language, topic="other", area_code=owner, profile="speech",
                      status=AssetStatus.READY, original_name=name, created_by=created_by, created_at=now,
                      original_sha256=rendered.original_sha256, sha256=rendered.sha256, bytes=rendered.bytes,
                      duration_ms=rendered.duration_ms, loudness=rendered.loudness,
                      silences={"ranges_ms": rendered.silences}, tts_text=tts_text, voice=voice)


# ------------------------------------------------------------------ use cases

@dataclass(frozen=True)
class Prepared:
    """A checked, authorized and rendered emergency, ready to be staged in a transaction."""

    request: EmergencyRequest
    reason: str
    expires_at: datetime
    plan: EmergencyPlan
    audio: _Audio


def prepare_emergency(uow: EmergencyUnitOfWork, tools: EmergencyTools, actor: Actor,
                      request: EmergencyRequest) -> Prepared:
    """Everything that can fail, before anything is written; TTS and renders happen here, outside a transaction."""
    text = None if request.text is None else clean_text(request.text, "Văn bản cần đọc", multiline=True)
    request = replace(request, reason=clean_text(request.reason, "Lý do phát khẩn cấp", multiline=True), text=text)
    reason, expires_at = _check_request(request, tools.clock.now())
    with uow:
        plan = plan_targets(uow, actor, areas=request.areas, zones=request.zones, devices=request.devices,
                            test_only=request.test_only)
        library = _library_asset(uow, actor, request.audio_id) if request.audio_id is not None else None
    audio = _Audio()
    if request.stream_url is None:
        audio = _rendered_audio(tools, actor, request, reason, plan.owner, library)
    return Prepared(request, reason, expires_at, plan, audio)


def stage_emergency(uow: EmergencyUnitOfWork, tools: EmergencyTools, actor: Actor, prepared: Prepared, *,
                    source: str = "operator", external_id: str | None = None) -> Emergency:
    """Write the emergency, its audio asset, the play_now command per topic and the audit entry. No commit."""
    request, plan, audio = prepared.request, prepared.plan, prepared.audio
    now = tools.clock.now()
    if now >= prepared.expires_at - timedelta(seconds=5):
        raise InvalidInput("Thời hạn hiệu lực đã qua trong lúc chuẩn bị âm thanh.", code="expired")
    audio_id = uow.audio.add(audio.new_asset).id if audio.new_asset is not None else None
    if audio.duration_ms is not None:
        end = now + timedelta(seconds=math.ceil(audio.duration_ms / 1000))
    else:
        minutes = request.stream_minutes
        end = min(now + timedelta(minutes=minutes), prepared.expires_at) if minutes else prepared.expires_at
    targets = {"areas": list(dict.fromkeys(request.areas)), "zones": list(dict.fromkeys(request.zones)),
               "devices": list(dict.fromkeys(request.devices)),
               "publish": {"zones": plan.publish_zones, "devices": plan.publish_devices},
               "chains": plan.chains, "volume": request.volume, "end": end.isoformat(),
               "duration_ms": audio.duration_ms, "tracked": len(plan.tracked)}
    emergency = uow.emergencies.add(Emergency(
        id=0, status="active", reason=prepared.reason, targets=targets, area_code=plan.owner, created_by=actor.name,
        created_at=now, expires_at=prepared.expires_at, audio_id=audio_id, stream_url=request.stream_url,
        text=request.text.strip() if request.text else None, test_only=request.test_only, source=source,
        external_id=external_id))
    cmd_id = stage_command(uow, tools.clock, tools.signer, CommandRequest(
        action="play_now", zones=plan.publish_zones, devices=plan.publish_devices, tracked_devices=plan.tracked,
        priority=PRIORITY, volume=request.volume, media=audio.media, stream_url=request.stream_url, end=end,
        ttl=prepared.expires_at - now), created_by=actor.name, emergency_id=emergency.id)
    uow.emergencies.update(emergency.id, cmd_id=cmd_id)
    audit(uow, tools.clock, actor, "emergency.start", "emergency", emergency.id, area_code=plan.owner,
          reason=prepared.reason, source=source, external_id=external_id, cmd_id=cmd_id, test_only=request.test_only,
          areas=targets["areas"], zones=targets["zones"], devices=targets["devices"], audio_id=audio_id,
          stream_url=request.stream_url, tracked=len(plan.tracked))
    return replace(emergency, cmd_id=cmd_id)


def start_emergency(uow: EmergencyUnitOfWork, tools: EmergencyTools, actor: Actor,
                    request: EmergencyRequest) -> Emergency:
    prepared = prepare_emergency(uow, tools, actor, request)
    with uow:
        emergency = stage_emergency(uow, tools, actor, prepared)
        uow.commit()
    return emergency


def _require_on_targets(actor: Actor, emergency: Emergency) -> None:
    for chain in emergency.targets.get("chains", [[emergency.area_code]]):
        actor.require(Action.SEND_EMERGENCY, chain)


def stage_stop(uow: EmergencyUnitOfWork, clock: Clock, signer: Signer, actor: Actor, emergency: Emergency, *,
               why: str = "") -> str:
    """A `stop` referring to the play_now, on the same topics; the emergency becomes stopped. No commit."""
    _require_on_targets(actor, emergency)
    if emergency.status == "stopped":
        raise Conflict(f"Lệnh khẩn cấp số {emergency.id} đã được dừng trước đó.", code="already_stopped")
    publish = emergency.targets.get("publish", {})
    zones, devices = list(publish.get("zones", [])), list(publish.get("devices", []))
    tracked = devices if emergency.test_only else list(dict.fromkeys(
        (uow.devices.ids_in_zones(zones) if zones else []) + devices + list(emergency.targets.get("devices", []))))
    stop_id = stage_command(uow, clock, signer, CommandRequest(
        action="stop", zones=zones, devices=devices, tracked_devices=tracked, priority=PRIORITY,
        ref_cmd_id=emergency.cmd_id, ttl=STOP_TTL), created_by=actor.name, emergency_id=emergency.id)
    now = clock.now()
    uow.emergencies.update(emergency.id, status="stopped", stop_cmd_id=stop_id, stopped_at=now)
    audit(uow, clock, actor, "emergency.stop", "emergency", emergency.id, area_code=emergency.area_code,
          cmd_id=emergency.cmd_id, stop_cmd_id=stop_id, why=why or None)
    return stop_id


def stop_emergency(uow: EmergencyUnitOfWork, clock: Clock, signer: Signer, actor: Actor,
                   emergency_id: int) -> Emergency:
    with uow:
        emergency = uow.emergencies.get(emergency_id)
        if emergency is None:
            raise NotFound(f"Không tìm thấy lệnh khẩn cấp số {emergency_id}.", code="emergency_not_found")
        stage_stop(uow, clock, signer, actor, emergency)
        uow.commit()
        stopped = uow.emergencies.get(emergency_id)
        if stopped is None:  # emergencies are never deleted
            raise NotFound(f"Không tìm thấy lệnh khẩn cấp số {emergency_id}.", code="emergency_not_found")
        return stopped


# ------------------------------------------------------------------ reading

def _reach(uow: EmergencyUnitOfWork, cmd_id: str | None) -> Reach | None:
    if cmd_id is None:
        return None
    counts = uow.commands.reach(cmd_id)
    stages = {str(s): n for s, n in counts.items() if s is not None}
    return Reach(tracked=sum(counts.values()), stages=stages, not_reached=counts.get(None, 0))


def effective_status(emergency: Emergency, now: datetime) -> str:
    if emergency.status == "active" and now >= emergency.expires_at:
        return "expired"
    return emergency.status


def may_read(principal: Principal, emergency: Emergency) -> bool:
    chains = emergency.targets.get("chains") or [[emergency.area_code]]
    return any(principal.may(Action.READ, chain) for chain in chains)


def get_emergency(uow: EmergencyUnitOfWork, clock: Clock, principal: Principal, emergency_id: int) -> EmergencyView:
    with uow:
        emergency = uow.emergencies.get(emergency_id)
        if emergency is None:
            raise NotFound(f"Không tìm thấy lệnh khẩn cấp số {emergency_id}.", code="emergency_not_found")
        if not may_read(principal, emergency):
            raise PermissionDenied(f"Tài khoản {principal.username} không có quyền xem lệnh khẩn cấp này.")
        return EmergencyView(emergency, effective_status(emergency, clock.now()), _reach(uow, emergency.cmd_id),
                             _reach(uow, emergency.stop_cmd_id))


def list_emergencies(uow: EmergencyUnitOfWork, clock: Clock, principal: Principal, *, status: str | None, limit: int,
                     offset: int) -> list[EmergencyView]:
    """Newest first, within the reader's areas (by the emergency's owner area); reach only on the detail view."""
    stored = {"active": "active", "expired": "active", "stopped": "stopped", None: None}
    if status not in stored:
        raise InvalidInput("Trạng thái phải là active, stopped hoặc expired.", code="invalid_status")
    now = clock.now()
    with uow:
        rows = uow.emergencies.list(within_areas=frozenset(principal.areas_for(Action.READ)), status=stored[status],
                                    limit=limit, offset=offset)
    views = [EmergencyView(e, effective_status(e, now), None, None) for e in rows]
    return [v for v in views if status is None or v.status == status]
