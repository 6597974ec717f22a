"""Vietnamese text-to-speech: a pluggable engine, then the usual normalization.

espeak-ng is the default engine (robotic but offline and free); anything with
``synthesize(text, voice, out_path)`` can replace it. Every text is first made
speakable (text_normalizer: figures, dates, legal citations, abbreviations).
"""

from __future__ import annotations

import shutil
import subprocess
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol, runtime_checkable

from .config import AudioConfig, Profile
from .errors import TextEmptyError, TextTooLongError, ToolMissingError, TtsError, UnknownVoiceError
from .fsutil import temp_path
from .normalize import NormalizeResult, normalize
from .text_normalizer import normalize_vi

VOICES = ("vi", "vi-vn-x-central", "vi-vn-x-south")


@runtime_checkable
class TtsEngine(Protocol):
    def synthesize(self, text: str, voice: str, out_path: Path) -> None:
        """Write speech for ``text`` to ``out_path`` (any format ffmpeg reads)."""


class EspeakNgEngine:
    voices = VOICES

    # espeak-ng's default amplitude (100) clips Vietnamese voices; 50 keeps peaks near -4 dBFS.
    def __init__(self, speed_wpm: int = 150, amplitude: int = 50, timeout_s: float = 600.0) -> None:
        self.speed_wpm = speed_wpm
        self.amplitude = amplitude
        self.timeout_s = timeout_s

    def synthesize(self, text: str, voice: str, out_path: Path) -> None:
        if voice not in self.voices:
            raise UnknownVoiceError(f"Giọng đọc '{voice}' không được hỗ trợ.", voice=voice)
        binary = shutil.which("espeak-ng")
        if binary is None:
            raise ToolMissingError("Không tìm thấy chương trình espeak-ng trên máy chủ.", tool="espeak-ng")
        # Text goes through stdin: no shell, no argument parsing of the officer's text.
        done = subprocess.run(
            [binary, "-v", voice, "-s", str(self.speed_wpm), "-a", str(self.amplitude), "-b", "1",
             "-w", str(out_path), "--stdin"],
            input=text.encode("utf-8"), capture_output=True, timeout=self.timeout_s,
        )
        if done.returncode != 0 or not Path(out_path).is_file() or Path(out_path).stat().st_size <= 44:
            raise TtsError(detail=done.stderr.decode("utf-8", "replace")[-300:])


def check_text(text: str, config: AudioConfig) -> str:
    cleaned = unicodedata.normalize("NFC", text or "").strip()
    if not cleaned:
        raise TextEmptyError()
    if len(cleaned) > config.tts_max_chars:
        raise TextTooLongError(
            f"Văn bản dài {len(cleaned)} ký tự; tối đa {config.tts_max_chars} ký tự.",
            chars=len(cleaned), max_chars=config.tts_max_chars,
        )
    return cleaned


def synthesize_to_file(text: str, out_path: str | Path, *, voice: str = "vi",
                       engine: TtsEngine | None = None, config: AudioConfig | None = None,
                       pronunciations: Mapping[str, str] | None = None) -> Path:
    """Raw engine output (not loudness-normalized) for ``text`` read as an officer reads it; removes it on
    failure. ``pronunciations``: the abbreviation dictionary (default: the built-in one)."""
    config = config or AudioConfig()
    cleaned = check_text(text, config)
    out = Path(out_path)
    try:
        (engine or EspeakNgEngine()).synthesize(normalize_vi(cleaned, pronunciations), voice, out)
    except BaseException:
        out.unlink(missing_ok=True)
        raise
    return out


def text_to_speech(text: str, output: str | Path, *, voice: str = "vi", engine: TtsEngine | None = None,
                   config: AudioConfig | None = None) -> NormalizeResult:
    """Speak ``text`` and write the normalized loudspeaker MP3 to ``output``."""
    config = config or AudioConfig()
    out = Path(output)
    with temp_path(out.parent, ".wav") as wav:
        synthesize_to_file(text, wav, voice=voice, engine=engine, config=config)
        return normalize(wav, out, profile=Profile.speech, config=config)
