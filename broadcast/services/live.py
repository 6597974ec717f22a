"""Live broadcast (phát trực tiếp): start a session, stop it, read it, and keep its recording.

Starting resolves the targets like an emergency (services/emergencies.py `plan_targets`): an editor needs the
right to edit schedules on every target and goes live only inside the allowed windows and daily caps
(services/live_policy.py); an emergency operator needs the emergency right and may go live at any time. The
play_now command naming the session's Icecast mount is staged in the same transaction as the session and its
audit entry, so devices start listening while the officer's audio begins to flow (they wait up to 10 s for the
first audio, spec 9.3). Stopping stages a `stop` referring to it. Acks of both commands enter the play log like
every command (services/playlog.py). The audio path itself (socket, encoder, idle watchdog) is
services/live_relay.py.
"""
from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from broadcast.domain.audio import AudioMeta
from broadcast.domain.auth import Action, Principal
from broadcast.domain.errors import Conflict, DomainError, InvalidInput, NotFound, PermissionDenied
from broadcast.domain.live import LiveSession, LiveStatus, check_class, live_end, mount_name, session_label
from broadcast.domain.recurrence import DEFAULT_TZ, zone_for
from broadcast.services.audio import upload_audio
from broadcast.services.context import Actor, audit
from broadcast.services.delivery.commands import CommandRequest, stage_command
from broadcast.services.emergencies import MAX_TARGETS, Reach, plan_targets
from broadcast.services.live_policy import editor_end
from broadcast.services.ports import AudioProcessor, Clock, JobQueue, LiveUnitOfWork, Signer, UnitOfWork

STOP_TTL = timedelta(minutes=30)


@dataclass(frozen=True)
class LiveTools:
    clock: Clock
    signer: Signer
    stream_public_url: str  # where devices reach Icecast, e.g. http://radio.example.vn:8001
    max_length: timedelta = timedelta(hours=2)
    tz: str = DEFAULT_TZ


@dataclass(frozen=True)
class LiveRequest:
    areas: Sequence[str] = ()
    zones: Sequence[str] = ()
    devices: Sequence[str] = ()
    priority: str = "normal"
    volume: int = 100


@dataclass(frozen=True)
class LiveView:
    session: LiveSession
    reach: Reach | None
    stop_reach: Reach | None = None
    elapsed_s: int = 0
    extra: dict = field(default_factory=dict)


def _action(priority: str) -> Action:
    return Action.SEND_EMERGENCY if priority == "emergency" else Action.EDIT_SCHEDULES


def _check(request: LiveRequest) -> None:
    check_class(request.priority)
    if not (request.areas or request.zones or request.devices):
        raise InvalidInput("Cần chọn ít nhất một địa bàn, vùng phát hoặc thiết bị nhận.", code="no_targets")
    if max(len(request.areas), len(request.zones), len(request.devices)) > MAX_TARGETS:
        raise InvalidInput(f"Mỗi loại đích nhận tối đa {MAX_TARGETS} mục.", code="too_many_targets")
    if not 0 <= request.volume <= 100:
        raise InvalidInput("Âm lượng phải từ 0 đến 100.", code="invalid_volume")


def _label(uow: LiveUnitOfWork, actor: Actor, request: LiveRequest) -> str:
    """Who goes live to where, by name (the play log and reports show it): the targets are known to exist here."""
    user = uow.users.get(actor.principal.user_id) if actor.principal is not None else None
    places = [getattr(found, "name", code) for code, found in (
        *((c, uow.areas.get(c)) for c in dict.fromkeys(request.areas)),
        *((z, uow.zones.get(z)) for z in dict.fromkeys(request.zones)),
        *((d, uow.devices.get(d)) for d in dict.fromkeys(request.devices)))]
    return session_label(user.full_name if user is not None else "", actor.name, places)


def start_live(uow: LiveUnitOfWork, tools: LiveTools, actor: Actor, request: LiveRequest) -> LiveSession:
    """Checks everything, then writes the session, its play_now command and the audit entry in one transaction."""
    _check(request)
    now = tools.clock.now().replace(microsecond=0)
    with uow:
        plan = plan_targets(uow, actor, areas=request.areas, zones=request.zones, devices=request.devices,
                            test_only=False, action=_action(request.priority))
        if not plan.tracked:
            raise InvalidInput("Nơi nhận đã chọn chưa có thiết bị nào đang hoạt động.", code="no_devices")
        if request.priority == "emergency":
            ends_at = live_end([], now, tools.max_length, tools.tz)  # exempt from windows and caps
        else:
            ends_at = editor_end(uow, plan.chains, now, tools.max_length, tools.tz)
        token = secrets.token_hex(8)
        targets = {"areas": list(dict.fromkeys(request.areas)), "zones": list(dict.fromkeys(request.zones)),
                   "devices": list(dict.fromkeys(request.devices)), "label": _label(uow, actor, request),
                   "publish": {"zones": plan.publish_zones, "devices": plan.publish_devices},
                   "chains": plan.chains, "volume": request.volume, "tracked": len(plan.tracked)}
        live = uow.live.add(LiveSession(
            id=0, status=LiveStatus.WAITING, priority=request.priority, area_code=plan.owner, targets=targets,
            mount=f"pending-{token}", stream_url="", created_by=actor.name, created_at=now, ends_at=ends_at))
        mount = mount_name(live.id, token)
        stream_url = f"{tools.stream_public_url.rstrip('/')}/{mount}"
        cmd_id = stage_command(uow, tools.clock, tools.signer, CommandRequest(
            action="play_now", zones=plan.publish_zones, devices=plan.publish_devices, tracked_devices=plan.tracked,
            priority=request.priority, volume=request.volume, stream_url=stream_url, end=ends_at,  # type: ignore[arg-type]
            ttl=max(timedelta(seconds=5), ends_at - now)), created_by=actor.name)
        uow.live.update(live.id, mount=mount, stream_url=stream_url, cmd_id=cmd_id)
        audit(uow, tools.clock, actor, "live.start", "live_session", live.id, area_code=plan.owner,
              priority=request.priority, cmd_id=cmd_id, areas=targets["areas"], zones=targets["zones"],
              devices=targets["devices"], tracked=len(plan.tracked), ends_at=ends_at.isoformat())
        uow.commit()
        started = uow.live.get(live.id)
    assert started is not None
    return started


def _require_on_targets(actor: Actor, live: LiveSession) -> None:
    for chain in live.targets.get("chains", [[live.area_code]]):
        actor.require(_action(live.priority), chain)


def end_live(uow: LiveUnitOfWork, tools: LiveTools, actor: Actor, session_id: int, *,
             status: LiveStatus = LiveStatus.ENDED, reason: str = "stopped",
             bytes_received: int | None = None) -> LiveSession | None:
    """Stage the `stop` for the session's play_now and close the session. Returns None when it was already closed
    (a drop racing an officer's stop is not an error); an officer's own stop of a closed session is a Conflict."""
    with uow:
        live = uow.live.get(session_id, for_update=True)
        if live is None:
            raise NotFound(f"Không tìm thấy phiên phát trực tiếp số {session_id}.", code="live_not_found")
        _require_on_targets(actor, live)
        if not live.status.open:
            if reason == "stopped" and actor.principal is not None:
                raise Conflict(f"Phiên phát trực tiếp số {session_id} đã kết thúc.", code="already_ended")
            return None
        publish = live.targets.get("publish", {})
        zones, devices = list(publish.get("zones", [])), list(publish.get("devices", []))
        tracked = list(dict.fromkeys((uow.devices.ids_in_zones(zones) if zones else []) + devices
                                     + list(live.targets.get("devices", []))))
        stop_id = stage_command(uow, tools.clock, tools.signer, CommandRequest(
            action="stop", zones=zones, devices=devices, tracked_devices=tracked,
            priority=live.priority, ref_cmd_id=live.cmd_id, ttl=STOP_TTL),  # type: ignore[arg-type]
            created_by=actor.name)
        fields: dict = {"status": status, "stop_cmd_id": stop_id, "ended_at": tools.clock.now(),
                        "end_reason": reason}
        if bytes_received is not None:
            fields["bytes_received"] = bytes_received
        uow.live.update(session_id, **fields)
        audit(uow, tools.clock, actor, "live.drop" if status is LiveStatus.DROPPED else "live.stop", "live_session",
              session_id, area_code=live.area_code, cmd_id=live.cmd_id, stop_cmd_id=stop_id, status=status.value,
              reason=reason, started_by=live.created_by)
        uow.commit()
        return uow.live.get(session_id)


def mark_live(uow: LiveUnitOfWork, clock: Clock, session_id: int) -> bool:
    """The first audio arrived: waiting -> live. False when the session is no longer open."""
    with uow:
        live = uow.live.get(session_id, for_update=True)
        if live is None or not live.status.open:
            return False
        if live.status is LiveStatus.WAITING:
            uow.live.update(session_id, status=LiveStatus.LIVE, started_at=clock.now())
            uow.commit()
        return True


def is_open(uow: LiveUnitOfWork, session_id: int) -> bool:
    with uow:
        live = uow.live.get(session_id)
        return live is not None and live.status.open


def may_read(principal: Principal, live: LiveSession) -> bool:
    return any(principal.may(Action.READ, chain) for chain in live.targets.get("chains", [[live.area_code]]))


def _reach(uow: LiveUnitOfWork, cmd_id: str | None) -> Reach | None:
    if cmd_id is None:
        return None
    counts = uow.commands.reach(cmd_id)
    stages = {str(s): n for s, n in counts.items() if s is not None}
    return Reach(tracked=sum(counts.values()), stages=stages, not_reached=counts.get(None, 0))


def readable_session(uow: LiveUnitOfWork, principal: Principal, session_id: int) -> LiveSession:
    live = uow.live.get(session_id)
    if live is None:
        raise NotFound(f"Không tìm thấy phiên phát trực tiếp số {session_id}.", code="live_not_found")
    if not may_read(principal, live):
        raise PermissionDenied(f"Tài khoản {principal.username} không có quyền xem phiên phát trực tiếp này.")
    return live


def may_send(principal: Principal, live: LiveSession) -> bool:
    """Whether this user may feed or stop the session: the same right as starting it, on every target."""
    return all(principal.may(_action(live.priority), chain)
               for chain in live.targets.get("chains", [[live.area_code]]))


def get_live(uow: LiveUnitOfWork, clock: Clock, principal: Principal, session_id: int) -> LiveView:
    with uow:
        live = readable_session(uow, principal, session_id)
        end = live.ended_at or clock.now()
        elapsed = int((end - live.started_at).total_seconds()) if live.started_at else 0
        return LiveView(live, _reach(uow, live.cmd_id), _reach(uow, live.stop_cmd_id), max(0, elapsed))


def list_live(uow: LiveUnitOfWork, principal: Principal, *, limit: int = 50, offset: int = 0) -> list[LiveSession]:
    with uow:
        return list(uow.live.list(within_areas=frozenset(principal.areas_for(Action.READ)), limit=limit,
                                  offset=offset))


def keep_recording(uow_factory: Callable[[], UnitOfWork], clock: Clock, processor: AudioProcessor, jobs: JobQueue,
                   session_id: int, recording: Path, *, spool_dir: Path, tz: str = DEFAULT_TZ) -> int | None:
    """The session's recording becomes a library asset of the session's area, rendered (normalized) by the usual
    upload path; the asset id is kept on the session. A recording that is not sound (nothing was said) is noted."""
    uow = uow_factory()
    with uow:
        live = uow.live.get(session_id)
    if live is None:
        return None
    when = (live.started_at or live.created_at).astimezone(zone_for(tz))
    meta = AudioMeta(title=f"Phát trực tiếp {when:%H:%M %d/%m/%Y} ({live.created_by})", language="vi",
                     topic="other", profile="speech", area_code=live.area_code)
    asset_id: int | None = None
    error: str | None = None
    try:
        if not recording.exists() or recording.stat().st_size == 0:
            raise InvalidInput("Không có âm thanh nào được ghi lại.", code="empty_recording")
        asset = upload_audio(uow_factory(), clock, Actor(None), processor, jobs, uow_factory, upload=recording,
                             original_name=f"truc-tiep-{session_id}.flac", meta=meta, spool_dir=spool_dir)
        asset_id = asset.id
    except DomainError as exc:
        error = exc.message[:500]
        recording.unlink(missing_ok=True)
    uow = uow_factory()
    with uow:
        uow.live.update(session_id, recording_id=asset_id, recording_error=error)
        uow.commit()
    return asset_id


def elapsed_label(seconds: int) -> str:
    minutes, secs = divmod(max(0, seconds), 60)
    return f"{minutes:02d}:{secs:02d}"


def local_time(value: datetime | None, tz: str = DEFAULT_TZ) -> str:
    return value.astimezone(zone_for(tz)).strftime("%H:%M:%S %d/%m/%Y") if value else ""
