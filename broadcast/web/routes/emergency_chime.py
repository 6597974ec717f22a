"""The attention chime of emergency messages: listened to by anyone signed in, replaced by administrators."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, UploadFile
from fastapi.responses import FileResponse

from broadcast.services import emergency_chime as service
from broadcast.web.deps import ActorDep, ContainerDep, PrincipalDep, UowDep
from broadcast.web.openapi import errors
from broadcast.web.routes.audio import spool_upload
from broadcast.web.schemas_speech import ChimeOut

router = APIRouter(prefix="/emergency-chime", tags=["emergencies"])
MAX_BYTES = 5 * 1024 * 1024  # 15 s of uncompressed stereo WAV fit


@router.get("", response_class=FileResponse, responses={
    200: {"content": {"audio/wav": {}}, "description": "Tín hiệu chú ý đang dùng (WAV); X-Chime: default|custom."},
    **errors(403)})
def listen(container: ContainerDep, principal: PrincipalDep) -> FileResponse:
    chime = service.current_chime(principal, container.audio)
    return FileResponse(chime.path, media_type="audio/wav",
                        headers={"X-Chime": "custom" if chime.custom else "default", "Cache-Control": "no-store"})


@router.put("", response_model=ChimeOut, responses=errors(403))
def replace(container: ContainerDep, uow: UowDep, actor: ActorDep, file: Annotated[UploadFile, File()]) -> ChimeOut:
    """An audio file of 0.2 to 15 seconds becomes the signal every emergency message starts with."""
    temp = spool_upload(file, container.settings.data_dir / "uploads", MAX_BYTES)
    try:
        duration_ms = service.replace_chime(uow, container.clock, actor, container.audio, upload=temp,
                                            original_name=file.filename or "")
    finally:
        temp.unlink(missing_ok=True)
    return ChimeOut(custom=True, duration_ms=duration_ms)


@router.delete("", response_model=ChimeOut, responses=errors(403))
def restore_default(container: ContainerDep, uow: UowDep, actor: ActorDep) -> ChimeOut:
    """Back to the default two-tone chime."""
    service.restore_default_chime(uow, container.clock, actor, container.audio)
    return ChimeOut(custom=False)
