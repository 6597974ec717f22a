"""Hear a text-to-speech voice before saving: the opening of the text synthesized at once, stored nowhere.

Saving (services/audio.py `request_tts`) synthesizes the whole text and renders it to the library's loudness; the
preview skips that rendering, so it is quick, and is only for choosing the voice and checking the reading."""
from __future__ import annotations

import tempfile
from pathlib import Path

from broadcast.domain.audio import TTS_VOICES
from broadcast.domain.auth import Action, Principal
from broadcast.domain.errors import InvalidInput, PermissionDenied
from broadcast.domain.text import clean_text
from broadcast.services.ports import AudioProcessor

PREVIEW_CHARS = 400  # about half a minute of speech


def opening(text: str, limit: int = PREVIEW_CHARS) -> str:
    """The text up to `limit` characters, cut after a sentence or at least between words."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    sentence = max(cut.rfind(mark) for mark in (". ", "! ", "? ", "\n"))
    if sentence >= limit // 2:
        return cut[:sentence + 1].strip()
    return cut.rsplit(None, 1)[0] if " " in cut else cut


def preview_speech(principal: Principal, processor: AudioProcessor, *, text: str, voice: str,
                   work_dir: Path) -> bytes:
    """The WAV of the text's opening in `voice`, for someone who may add audio somewhere."""
    if not principal.areas_for(Action.MANAGE_AUDIO):
        raise PermissionDenied(f"Tài khoản {principal.username} không có quyền quản lý tệp âm thanh.")
    text = clean_text(text, "Văn bản cần đọc", multiline=True)
    if voice not in TTS_VOICES:
        raise InvalidInput(f"Giọng đọc không hợp lệ: {voice!r}.", code="unknown_voice")
    excerpt = opening(text)
    processor.check_text(excerpt, voice)
    work_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    with tempfile.TemporaryDirectory(dir=work_dir, prefix="preview-") as scratch:
        wav = Path(scratch) / "preview.wav"
        processor.synthesize(excerpt, voice, wav)
        return wav.read_bytes()
