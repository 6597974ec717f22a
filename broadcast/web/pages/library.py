"""Page 2, the audio library: upload several files (a progress bar each), record from the microphone, read a text
aloud (a voice to choose, heard before saving), listen to every asset and read its loudness figures.

Every change calls services/audio.py as `POST /api/v1/audio` and `/audio/tts` do. library.js sends each file on its
own (XMLHttpRequest, for the progress) to the same endpoint the plain form posts to without JavaScript; it marks
its requests with X-Requested-With and gets the new asset's card, or the error as the API's JSON, back.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile

from broadcast.domain.audio import LANGUAGES, TOPICS, AudioAsset, AudioMeta
from broadcast.domain.auth import Action, Principal
from broadcast.domain.errors import DomainError, InvalidInput
from broadcast.domain.vocabularies import ASSET_STATUS_LABELS, PROFILE_LABELS, VOICE_LABELS
from broadcast.services import audio as audio_service
from broadcast.services.speech_preview import PREVIEW_CHARS, preview_speech
from broadcast.web.deps import ContainerDep, UowDep
from broadcast.web.errors import error_response, status_for
from broadcast.web.pages.area_choices import areas_where
from broadcast.web.pages.audio_views import Rights, asset_views
from broadcast.web.pages.session import CsrfChecked, PageActor, PagePrincipal, PageRoute, flash, redirect
from broadcast.web.routes.audio import spool_upload

router = APIRouter(route_class=PageRoute, include_in_schema=False)
FormText = Annotated[str, Form()]
PAGE_SIZE = 50
POLL_S = 2  # a processing asset's card asks again this often until it is ready or failed
NO_FILE = "Chưa chọn tệp âm thanh nào để tải lên."


def from_script(request: Request) -> bool:
    """library.js's own requests (one file each): they want the new card or a JSON error, not a page."""
    return request.headers.get("x-requested-with") == "XMLHttpRequest"


@dataclass
class NewAudio:
    """What the creation forms hold: their defaults, or what the officer typed before an error."""

    area_code: str = ""
    topic: str = "other"
    language: str = "vi"
    profile: str = "speech"
    title: str = ""
    text: str = ""
    voice: str = "vi"
    errors: dict[str, str] = field(default_factory=dict)  # form name -> message


def _filters(topic: str, language: str, status: str) -> dict[str, str | None]:
    """Only known codes filter; anything else (a stale link) shows everything."""
    return {"topic": topic if topic in TOPICS else None, "language": language if language in LANGUAGES else None,
            "status": status if status in ASSET_STATUS_LABELS else None}


def _render(request: Request, uow, principal: Principal, *, new: NewAudio | None = None, status: int = 200,
            topic: str = "", language: str = "", state: str = "", page: int = 1) -> Response:
    filters = _filters(topic, language, state)
    found = list(audio_service.list_assets(uow, principal, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE,
                                           **filters))
    rights = Rights(uow, principal)
    areas = areas_where(uow, principal, Action.MANAGE_AUDIO)
    new = new or NewAudio(area_code=areas[0].code if areas else "")  # one's own commune, or province
    return request.app.state.pages.render(
        request, "library.html", status=status, assets=asset_views(uow, principal, found[:PAGE_SIZE]),
        more=len(found) > PAGE_SIZE, page=page, filters=filters, may_add=bool(areas) or rights.shared_library,
        areas=areas, shared_library=rights.shared_library, new=new, topics=TOPICS, languages=LANGUAGES,
        statuses=ASSET_STATUS_LABELS, profiles=PROFILE_LABELS, voices=VOICE_LABELS, preview_chars=PREVIEW_CHARS,
        poll_s=POLL_S)


@router.get("/thu-vien", name="library")
def library(request: Request, uow: UowDep, principal: PagePrincipal, chu_de: str = "", ngon_ngu: str = "",
            trang_thai: str = "", trang: Annotated[int, Query(ge=1, le=100_000)] = 1) -> Response:
    return _render(request, uow, principal, topic=chu_de, language=ngon_ngu, state=trang_thai, page=trang)


@router.get("/thu-vien/{asset_id:int}", name="library_asset")
def asset_page(request: Request, asset_id: int, uow: UowDep, principal: PagePrincipal) -> Response:
    view = asset_views(uow, principal, [audio_service.get_asset(uow, principal, asset_id)])[0]
    return request.app.state.pages.render(request, "library_asset.html", v=view, poll_s=POLL_S)


@router.get("/thu-vien/{asset_id:int}/the", name="library_card")
def asset_card(request: Request, asset_id: int, uow: UowDep, principal: PagePrincipal) -> Response:
    """One asset's card alone: a processing card replaces itself with this until the asset is ready or failed."""
    view = asset_views(uow, principal, [audio_service.get_asset(uow, principal, asset_id)])[0]
    return request.app.state.pages.render(request, "library_card.html", v=view, poll_s=POLL_S)


def _title_for(title: str, upload: UploadFile, count: int, index: int) -> str:
    """The officer's title (numbered when several files share it), else the file's name without its extension."""
    title = title.strip()
    if not title:
        return Path(upload.filename or "").stem or "Tệp âm thanh"
    return f"{title} ({index + 1})" if count > 1 else title


@router.post("/thu-vien/tai-len", name="library_upload", dependencies=[CsrfChecked])
def upload(request: Request, container: ContainerDep, uow: UowDep, actor: PageActor, principal: PagePrincipal,
           file: Annotated[list[UploadFile] | None, File()] = None, title: FormText = "", area_code: FormText = "",
           topic: FormText = "other", language: FormText = "vi", profile: FormText = "speech") -> Response:
    files = [f for f in file or () if f.filename]
    settings = container.settings
    added: list[AudioAsset] = []
    problems: list[str] = []
    first_error: DomainError | None = None if files else InvalidInput(NO_FILE, code="file_required")
    for index, one in enumerate(files):
        try:
            temp = spool_upload(one, settings.data_dir / "uploads", settings.audio_max_bytes)
            try:
                added.append(audio_service.upload_audio(
                    uow, container.clock, actor, container.audio, container.jobs, container.uow, upload=temp,
                    original_name=one.filename or "", spool_dir=container.spool_dir,
                    meta=AudioMeta(_title_for(title, one, len(files), index), language, topic, profile, area_code)))
            finally:
                temp.unlink(missing_ok=True)  # moved into the spool on success
        except DomainError as exc:
            first_error = first_error or exc
            problems.append(f"{one.filename}: {exc.message}")
    if from_script(request):
        if first_error is not None:
            return error_response(status_for(first_error), first_error.code, first_error.message, first_error.details)
        views = asset_views(uow, principal, added)
        return request.app.state.pages.render(request, "library_card.html", status=202, v=views[0], poll_s=POLL_S)
    if first_error is not None:
        message = first_error.message if not problems else " ".join(problems)
        if added:
            message = f"Đã nhận {len(added)} tệp. Không tải lên được: {message}"
        new = NewAudio(area_code=area_code, topic=topic, language=language, profile=profile, title=title,
                       errors={"upload": message})
        return _render(request, uow, principal, new=new, status=status_for(first_error))
    response = redirect(request, "/thu-vien")
    flash(response, container, f"Đã tải lên {len(added)} tệp; hệ thống đang chuẩn hóa âm lượng.", "ok")
    return response


@router.post("/thu-vien/doc-van-ban", name="library_tts", dependencies=[CsrfChecked])
def read_aloud(request: Request, container: ContainerDep, uow: UowDep, actor: PageActor, principal: PagePrincipal,
               title: FormText = "", text: FormText = "", voice: FormText = "vi", area_code: FormText = "",
               topic: FormText = "other") -> Response:
    try:
        asset = audio_service.request_tts(
            uow, container.clock, actor, container.audio, container.jobs, container.uow, text=text, voice=voice,
            meta=AudioMeta(title, "vi", topic, "speech", area_code), spool_dir=container.spool_dir)
    except DomainError as exc:
        new = NewAudio(area_code=area_code, topic=topic, title=title, text=text, voice=voice,
                       errors={"tts": exc.message})
        return _render(request, uow, principal, new=new, status=status_for(exc))
    response = redirect(request, f"/thu-vien#tep-{asset.id}")
    flash(response, container, f"Đang tạo giọng đọc cho “{asset.title}”; tệp sẽ sẵn sàng sau ít phút.", "ok")
    return response


@router.post("/thu-vien/doc-thu", name="library_tts_preview", dependencies=[CsrfChecked])
def preview(request: Request, container: ContainerDep, principal: PagePrincipal, text: FormText = "",
            voice: FormText = "vi") -> Response:
    """The opening of the text in the chosen voice, as WAV, stored nowhere (services/speech_preview.py)."""
    try:
        wav = preview_speech(principal, container.audio, text=text, voice=voice,
                             work_dir=container.settings.data_dir / "uploads")
    except DomainError as exc:
        if from_script(request):
            return error_response(status_for(exc), exc.code, exc.message, exc.details)
        raise
    return Response(wav, media_type="audio/wav", headers={
        "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
        "Content-Disposition": 'inline; filename="nghe-thu.wav"'})


@router.post("/thu-vien/{asset_id:int}/xoa", name="library_delete", dependencies=[CsrfChecked])
def delete(request: Request, asset_id: int, container: ContainerDep, uow: UowDep, actor: PageActor,
           principal: PagePrincipal) -> Response:
    asset = audio_service.get_asset(uow, principal, asset_id)
    audio_service.delete_asset(uow, container.clock, actor, asset_id)
    response = redirect(request, "/thu-vien")
    flash(response, container, f"Đã xóa tệp “{asset.title}”.", "ok")
    return response
