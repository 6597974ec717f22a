"""Page 6, emergency: one flow from a phone. Step 1 the targets (areas the operator may send to, then zones, then
devices); step 2 the content (text read by TTS, a microphone recording, or a ready library file); step 3 a
confirmation naming how many devices will sound; then the live page: received / playing / not reached, refreshed
every second while the emergency is active, and a big stop button.

Sending and stopping call services/emergencies.py exactly as POST /emergencies and /emergencies/{id}/stop do; the
count comes from the same target plan (services/emergency_targets.py)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from starlette.datastructures import FormData, UploadFile

from broadcast.domain.auth import Action, Principal
from broadcast.domain.devices import AckStage
from broadcast.domain.errors import Conflict, DomainError, InvalidInput
from broadcast.services import emergencies as service
from broadcast.services.audio import get_asset, list_assets
from broadcast.services.emergency_targets import TargetSummary, summarize_targets, target_choices
from broadcast.web.deps import ContainerDep, UowDep
from broadcast.web.errors import status_for
from broadcast.web.pages.emergency_form import MINUTES, SOURCES, VOICES, Content, Targets
from broadcast.web.pages.emergency_recordings import (
    discard_recording,
    find_recording,
    save_recording,
)
from broadcast.web.pages.session import CsrfChecked, PageActor, PagePrincipal, PageRoute, flash, redirect

router = APIRouter(route_class=PageRoute, include_in_schema=False)
RECENT = 10
ASSET_CHOICES = 200
NO_TARGET = "Chưa chọn nơi nhận: hãy chọn ít nhất một địa bàn, vùng phát hoặc thiết bị."
NO_DEVICE = "Nơi nhận đã chọn chưa có thiết bị nào đang hoạt động: lệnh sẽ không phát ở đâu cả."
STATUS_LABELS = {"active": "đang hiệu lực", "stopped": "đã dừng", "expired": "đã hết hạn"}
SOUNDED = (AckStage.PLAYING, AckStage.PLAYED, AckStage.PREEMPTED)
UNDELIVERED = (AckStage.REJECTED, AckStage.EXPIRED, AckStage.FAILED)


async def posted_form(request: Request) -> FormData:
    return await request.form()


Posted = Annotated[FormData, Depends(posted_form)]


@dataclass(frozen=True)
class ReachCounts:
    """The live page's counters, per device by the furthest ack its delivery reached."""

    tracked: int
    received: int  # took the command: received, ready or later (rejected and expired did not)
    sounding: int  # playing, or played (to the end or until stopped)
    not_reached: int  # no ack at all yet
    problems: int  # rejected, expired, or could not play

    @classmethod
    def of(cls, reach: service.Reach | None) -> ReachCounts:
        if reach is None:
            return cls(0, 0, 0, 0, 0)
        stage = reach.stages.get
        return cls(tracked=reach.tracked, received=reach.received, sounding=sum(stage(s, 0) for s in SOUNDED),
                   not_reached=reach.not_reached, problems=sum(stage(s, 0) for s in UNDELIVERED))


def _work_dir(container):
    return container.settings.data_dir / "emergency-work"


def _may_stop(principal: Principal, emergency) -> bool:
    chains = emergency.targets.get("chains") or [[emergency.area_code]]
    return all(principal.may(Action.SEND_EMERGENCY, chain) for chain in chains)


# ------------------------------------------------------------------ step 1: targets

@router.get("/khan-cap", name="emergency")
def targets_page(request: Request, container: ContainerDep, uow: UowDep, principal: PagePrincipal) -> Response:
    chosen = Targets.of(request.query_params)
    may_send = bool(principal.areas_for(Action.SEND_EMERGENCY))
    choices = target_choices(uow, principal) if may_send else None
    recent = service.list_emergencies(uow, container.clock, principal, status=None, limit=RECENT, offset=0)
    return request.app.state.pages.render(request, "emergency.html", choices=choices, chosen=chosen, recent=recent,
                                          status_labels=STATUS_LABELS)


# ------------------------------------------------------------------ step 2: content

def _content_page(request: Request, uow, principal: Principal, targets: Targets, summary: TargetSummary,
                  content: Content, *, error: str | None = None, status: int = 200) -> Response:
    assets = list_assets(uow, principal, status="ready", topic=None, language=None, limit=ASSET_CHOICES, offset=0)
    return request.app.state.pages.render(
        request, "emergency_content.html", status=status, targets=targets, summary=summary, c=content, error=error,
        assets=assets, sources=SOURCES, voices=VOICES, minutes=MINUTES, no_device=NO_DEVICE)


@router.get("/khan-cap/noi-dung", name="emergency_content")
def content_page(request: Request, container: ContainerDep, uow: UowDep, actor: PageActor,
                 principal: PagePrincipal) -> Response:
    targets = Targets.of(request.query_params)
    if not targets:
        response = redirect(request, "/khan-cap")
        flash(response, container, NO_TARGET, "error")
        return response
    summary = summarize_targets(uow, actor, areas=targets.areas, zones=targets.zones, devices=targets.devices)
    return _content_page(request, uow, principal, targets, summary, Content())


# ------------------------------------------------------------------ step 3: confirmation

def _with_recording(container, principal: Principal, form: FormData, content: Content) -> Content:
    """Store a newly uploaded recording (checked as audio now) and name it by token; keep an earlier one."""
    upload = form.get("recording_file")
    if content.source != "recording" or not isinstance(upload, UploadFile) or not upload.filename:
        return content
    token, path = save_recording(_work_dir(container), principal.user_id, upload)
    name = upload.filename.rsplit("/", 1)[-1][:120] or "ghi-am.webm"
    try:
        container.audio.check_message(path, name)  # a warning may be one word: no minimum length
    except DomainError:
        path.unlink(missing_ok=True)
        raise
    discard_recording(_work_dir(container), principal.user_id, content.recording)  # replaced
    return Content(**{**content.__dict__, "recording": token, "recording_name": name})


@router.post("/khan-cap/xac-nhan", name="emergency_confirm", dependencies=[CsrfChecked])
def confirm_page(request: Request, container: ContainerDep, uow: UowDep, actor: PageActor, principal: PagePrincipal,
                 form: Posted) -> Response:
    targets = Targets.of(form)
    if not targets:
        raise InvalidInput(NO_TARGET, code="no_targets")
    summary = summarize_targets(uow, actor, areas=targets.areas, zones=targets.zones, devices=targets.devices)
    content = Content.of(form)
    try:
        content = _with_recording(container, principal, form, content)
        content.check()
        if content.source == "recording":
            find_recording(_work_dir(container), principal.user_id, content.recording)
        asset = get_asset(uow, principal, content.audio_id) if content.source == "asset" and content.audio_id else None
        if asset is not None and asset.status.value != "ready":
            raise InvalidInput(f"Tệp âm thanh “{asset.title}” chưa sẵn sàng để phát.", code="audio_not_ready")
    except DomainError as exc:
        return _content_page(request, uow, principal, targets, summary, content, error=exc.message,
                             status=status_for(exc))
    return request.app.state.pages.render(
        request, "emergency_confirm.html", targets=targets, summary=summary, c=content, chosen_asset=asset,
        sources=SOURCES, voices=VOICES, minutes=MINUTES, no_device=NO_DEVICE)


@router.post("/khan-cap/sua", dependencies=[CsrfChecked])
def edit_content(request: Request, uow: UowDep, actor: PageActor, principal: PagePrincipal,
                 form: Posted) -> Response:
    """Back from the confirmation to the content step, with what was entered."""
    targets = Targets.of(form)
    summary = summarize_targets(uow, actor, areas=targets.areas, zones=targets.zones, devices=targets.devices)
    return _content_page(request, uow, principal, targets, summary, Content.of(form))


@router.post("/khan-cap/gui", name="emergency_send", dependencies=[CsrfChecked])
def send(request: Request, container: ContainerDep, uow: UowDep, actor: PageActor, principal: PagePrincipal,
         form: Posted) -> Response:
    targets, content = Targets.of(form), Content.of(form)
    try:
        content.check()
        recording = None
        if content.source == "recording":
            path = find_recording(_work_dir(container), principal.user_id, content.recording)
            recording = service.AudioFile(path, content.recording_name or "ghi-am.webm")
        emergency = service.start_emergency(uow, container.emergency_tools(), actor, content.request(targets,
                                                                                                    recording))
    except DomainError as exc:
        if not targets:
            raise
        summary = summarize_targets(uow, actor, areas=targets.areas, zones=targets.zones, devices=targets.devices)
        return _content_page(request, uow, principal, targets, summary, content, error=exc.message,
                             status=status_for(exc))
    container.wake_delivery()
    if content.source == "recording":
        discard_recording(_work_dir(container), principal.user_id, content.recording)
    response = redirect(request, f"/khan-cap/{emergency.id}")
    tracked = emergency.targets.get("tracked", 0)
    flash(response, container, f"Đã phát lệnh khẩn cấp số {emergency.id} tới {tracked} thiết bị.", "ok")
    return response


# ------------------------------------------------------------------ live reach and stop

def _live_context(container, uow, principal: Principal, emergency_id: int) -> dict:
    view = service.get_emergency(uow, container.clock, principal, emergency_id)
    return {"v": view, "e": view.emergency, "counts": ReachCounts.of(view.reach), "status_labels": STATUS_LABELS,
            "may_stop": view.status == "active" and _may_stop(principal, view.emergency),
            "now": container.clock.now()}


@router.get("/khan-cap/{emergency_id}", name="emergency_live")
def live_page(emergency_id: int, request: Request, container: ContainerDep, uow: UowDep,
              principal: PagePrincipal) -> Response:
    return request.app.state.pages.render(request, "emergency_live.html",
                                          **_live_context(container, uow, principal, emergency_id))


@router.get("/khan-cap/{emergency_id}/phu-song", name="emergency_reach")
def reach_fragment(emergency_id: int, request: Request, container: ContainerDep, uow: UowDep,
                   principal: PagePrincipal) -> Response:
    """The counters alone, polled every second while the emergency is active (the fragment stops the polling)."""
    return request.app.state.pages.render(request, "emergency_reach.html",
                                          **_live_context(container, uow, principal, emergency_id))


@router.post("/khan-cap/{emergency_id}/dung", name="emergency_stop", dependencies=[CsrfChecked])
def stop(emergency_id: int, request: Request, container: ContainerDep, uow: UowDep, actor: PageActor) -> Response:
    response = redirect(request, f"/khan-cap/{emergency_id}")
    try:
        service.stop_emergency(uow, container.clock, container.signer, actor, emergency_id)
    except Conflict as exc:
        flash(response, container, exc.message, "error")
        return response
    container.wake_delivery()
    flash(response, container, "Đã gửi lệnh dừng phát tới mọi thiết bị nhận.", "ok")
    return response
