"""The audio library behind the AudioProcessor port; its errors become domain errors with the same code."""
from __future__ import annotations

from pathlib import Path

from audio_library.config import AudioConfig
from audio_library.editing import find_silences
from audio_library.errors import AudioError, TooLargeError
from audio_library.probe import ProbeResult, validate
from audio_library.store import AudioStore, check_file_name
from audio_library.tts import check_text, synthesize_to_file
from broadcast.domain.errors import DomainError, InvalidInput, TooLarge
from broadcast.services.ports import CheckedAudio, RenderedAudio
from broadcast.settings import Settings

LONG_SILENCE_MS = 5000


def audio_config(settings: Settings) -> AudioConfig:
    return AudioConfig(min_duration_s=settings.audio_min_duration_s, max_duration_s=settings.audio_max_duration_s,
                       max_bytes=settings.audio_max_bytes, target_lufs=settings.audio_target_lufs,
                       true_peak_dbtp=settings.audio_true_peak_dbtp, sample_rate=settings.audio_sample_rate)


def as_domain_error(exc: AudioError) -> DomainError:
    cls = TooLarge if isinstance(exc, TooLargeError) else InvalidInput
    return cls(exc.message, code=exc.code, details=exc.details or None)


class LibraryAudioProcessor:
    def __init__(self, store: AudioStore):
        self.store = store

    @classmethod
    def for_settings(cls, settings: Settings) -> LibraryAudioProcessor:
        return cls(AudioStore(settings.data_dir, audio_config(settings)))

    def check(self, path: Path, original_name: str) -> CheckedAudio:
        try:
            check_file_name(original_name)
            result = validate(path, self.store.config)
        except AudioError as exc:
            raise as_domain_error(exc) from None
        return CheckedAudio(duration_ms=round((result.duration_s or 0) * 1000), extension=result.extension,
                            handle=result)

    def render(self, path: Path, original_name: str, profile: str, checked: CheckedAudio | None) -> RenderedAudio:
        try:
            probed = checked.handle if checked is not None and isinstance(checked.handle, ProbeResult) else None
            stored = self.store.ingest(path, original_name, profile, checked=probed)
            rendition = self.store.media_path(stored.rendition_sha256)
            silences = find_silences(rendition, min_silence_ms=LONG_SILENCE_MS)
        except AudioError as exc:
            raise as_domain_error(exc) from None
        return RenderedAudio(original_sha256=stored.original_sha256, sha256=stored.rendition_sha256,
                             bytes=stored.rendition_bytes, duration_ms=stored.duration_ms,
                             loudness=stored.loudness.to_dict(), silences=[list(s) for s in silences])

    def check_text(self, text: str, voice: str) -> None:
        try:
            check_text(text, self.store.config)
        except AudioError as exc:
            raise as_domain_error(exc) from None

    def synthesize(self, text: str, voice: str, out_path: Path) -> None:
        try:
            synthesize_to_file(text, out_path, voice=voice, config=self.store.config)
        except AudioError as exc:
            raise as_domain_error(exc) from None

    def media_path(self, sha256: str) -> Path | None:
        try:
            return self.store.media_path(sha256)
        except AudioError:
            return None
