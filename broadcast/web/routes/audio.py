from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Response, UploadFile

from broadcast.domain.audio import AudioMeta
from broadcast.domain.errors import TooLarge
from broadcast.services import audio as audio_service
from broadcast.web.deps import ActorDep, ContainerDep, PrincipalDep, UowDep
from broadcast.web.openapi import errors
from broadcast.web.schemas import AudioOut, TtsIn

router = APIRouter(prefix="/audio", tags=["audio"])
CHUNK = 1024 * 1024


def spool_upload(file: UploadFile, directory: Path, limit: int) -> Path:
    """Copy the upload to a private temp file in chunks, refusing it past the size limit."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    handle = tempfile.NamedTemporaryFile(dir=directory, prefix="upload-", delete=False)
    path = Path(handle.name)
    size = 0
    try:
        with handle:
            while chunk := file.file.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise TooLarge(f"Tệp vượt quá giới hạn {limit // (1024 * 1024)} MB.", code="too_large")
                handle.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


@router.post("", response_model=AudioOut, status_code=202, responses=errors(403, 404))
def upload(container: ContainerDep, uow: UowDep, actor: ActorDep, file: Annotated[UploadFile, File()],
           title: Annotated[str, Form(max_length=300)],
           area_code: Annotated[str | None, Form(max_length=16)] = None,
           language: Annotated[str, Form()] = "vi", topic: Annotated[str, Form()] = "other",
           profile: Annotated[str, Form()] = "speech") -> AudioOut:
    settings = container.settings
    temp = spool_upload(file, settings.data_dir / "uploads", settings.audio_max_bytes)
    try:
        asset = audio_service.upload_audio(
            uow, container.clock, actor, container.audio, container.jobs, container.uow, upload=temp,
            original_name=file.filename or "", meta=AudioMeta(title, language, topic, profile, area_code),
            spool_dir=container.spool_dir)
    finally:
        temp.unlink(missing_ok=True)  # moved into the spool on success
    return AudioOut.of(asset, settings.public_url)


@router.post("/tts", response_model=AudioOut, status_code=202, responses=errors(403, 404))
def tts(body: TtsIn, container: ContainerDep, uow: UowDep, actor: ActorDep) -> AudioOut:
    asset = audio_service.request_tts(
        uow, container.clock, actor, container.audio, container.jobs, container.uow, text=body.text, voice=body.voice,
        meta=AudioMeta(body.title, "vi", body.topic, "speech", body.area_code), spool_dir=container.spool_dir)
    return AudioOut.of(asset, container.settings.public_url)


@router.get("", response_model=list[AudioOut])
def list_audio(container: ContainerDep, uow: UowDep, principal: PrincipalDep, status: str | None = None,
               topic: str | None = None, language: str | None = None,
               limit: Annotated[int, Query(ge=1, le=1000)] = 100,
               offset: Annotated[int, Query(ge=0)] = 0) -> list[AudioOut]:
    assets = audio_service.list_assets(uow, principal, status=status, topic=topic, language=language, limit=limit,
                                       offset=offset)
    return [AudioOut.of(a, container.settings.public_url) for a in assets]


@router.get("/{asset_id}", response_model=AudioOut, responses=errors(403, 404))
def get_audio(asset_id: int, container: ContainerDep, uow: UowDep, principal: PrincipalDep) -> AudioOut:
    return AudioOut.of(audio_service.get_asset(uow, principal, asset_id), container.settings.public_url)


@router.delete("/{asset_id}", status_code=204, responses=errors(403, 404, 409))
def delete_audio(asset_id: int, container: ContainerDep, uow: UowDep, actor: ActorDep) -> Response:
    audio_service.delete_asset(uow, container.clock, actor, asset_id)
    return Response(status_code=204)
