"""Microphone recordings between the emergency form and its confirmation.

The recording is uploaded with the content step, checked as audio at once (so the confirmation never names a
recording that cannot play), and kept in the emergency work directory under a random token bound to the user.
Sending hands the file to the emergency service, which renders it in the request and keeps it in the library.
"""
from __future__ import annotations

import contextlib
import re
import secrets
import time
from pathlib import Path

from starlette.datastructures import UploadFile

from broadcast.domain.errors import InvalidInput, TooLarge

CHUNK = 1024 * 1024
MAX_BYTES = 50 * 1024 * 1024  # ~1 hour of phone-quality Opus; an emergency message is minutes at most
KEEP_S = 24 * 3600  # recordings never sent are removed after a day
TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


def _path(directory: Path, user_id: int, token: str) -> Path:
    return directory / f"recording-{user_id}-{token}"


def save_recording(directory: Path, user_id: int, upload: UploadFile) -> tuple[str, Path]:
    """Copy the upload to a private file; returns its token and path. Old unsent recordings are removed."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    _sweep(directory)
    token = secrets.token_urlsafe(24)
    path = _path(directory, user_id, token)
    size = 0
    try:
        with path.open("xb") as out:
            while chunk := upload.file.read(CHUNK):
                size += len(chunk)
                if size > MAX_BYTES:
                    raise TooLarge(f"Bản ghi âm vượt quá {MAX_BYTES // (1024 * 1024)} MB.", code="too_large")
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    if size == 0:
        path.unlink(missing_ok=True)
        raise InvalidInput("Bản ghi âm trống: hãy ghi âm lại.", code="recording_empty")
    return token, path


def find_recording(directory: Path, user_id: int, token: str) -> Path:
    """The user's own recording of this token; anything else (another user's, expired, forged) is refused."""
    path = _path(directory, user_id, token) if TOKEN.match(token or "") else None
    if path is None or not path.is_file():
        raise InvalidInput("Bản ghi âm không còn trên máy chủ: hãy ghi âm lại.", code="recording_missing")
    return path


def discard_recording(directory: Path, user_id: int, token: str) -> None:
    if TOKEN.match(token or ""):
        _path(directory, user_id, token).unlink(missing_ok=True)


def _sweep(directory: Path) -> None:
    cutoff = time.time() - KEEP_S
    for old in directory.glob("recording-*"):
        with contextlib.suppress(OSError):  # another request may take or remove it meanwhile: nothing to sweep then
            if old.stat().st_mtime < cutoff:
                old.unlink(missing_ok=True)
