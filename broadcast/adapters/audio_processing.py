"""The audio library behind the AudioProcessor port; its errors become domain errors with the same code.

Speech is synthesized with the pronunciation dictionary in force: the built-in defaults with the administrators'
entries on top, read through `pronunciations` (a database read, given by the composition root) at each synthesis,
so an edit applies to the next text without a restart.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from audio_library.alert import ChimeStore, alert_config, check_message, compose_alert
from audio_library.config import AudioConfig
from audio_library.editing import find_silences
from audio_library.errors import AudioError, TooLargeError
from audio_library.fsutil import temp_path
from audio_library.probe import ProbeResult, validate
from audio_library.pronunciations import DEFAULT_PRONUNCIATIONS, merged
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


def _no_overrides() -> Mapping[str, str]:
    return {}


class LibraryAudioProcessor:
    default_pronunciations: Mapping[str, str] = DEFAULT_PRONUNCIATIONS

    def __init__(self, store: AudioStore, pronunciations: Callable[[], Mapping[str, str]] = _no_overrides):
        self.store = store
        self.pronunciations = pronunciations  # the administrators' entries
        self.chimes = ChimeStore(store.root, store.config)
        # Alerts are stored like any rendition, with the limits of an alert (no minimum length).
        self.alert_store = AudioStore(store.root, alert_config(store.config))

    @classmethod
    def for_settings(cls, settings: Settings,
                     pronunciations: Callable[[], Mapping[str, str]] = _no_overrides) -> LibraryAudioProcessor:
        return cls(AudioStore(settings.data_dir, audio_config(settings)), pronunciations)

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
            return self._rendered(self.store, path, original_name, profile, probed)
        except AudioError as exc:
            raise as_domain_error(exc) from None

    def _rendered(self, store: AudioStore, path: Path, original_name: str, profile: str,
                  probed: ProbeResult | None) -> RenderedAudio:
        stored = store.ingest(path, original_name, profile, checked=probed)
        rendition = store.media_path(stored.rendition_sha256)
        silences = find_silences(rendition, min_silence_ms=LONG_SILENCE_MS)
        return RenderedAudio(original_sha256=stored.original_sha256, sha256=stored.rendition_sha256,
                             bytes=stored.rendition_bytes, duration_ms=stored.duration_ms,
                             loudness=stored.loudness.to_dict(), silences=[list(s) for s in silences])

    def check_message(self, path: Path, original_name: str) -> CheckedAudio:
        """An emergency message: every check of an upload but the minimum length."""
        try:
            check_file_name(original_name)
            result = check_message(path, self.store.config)
        except AudioError as exc:
            raise as_domain_error(exc) from None
        return CheckedAudio(duration_ms=round((result.duration_s or 0) * 1000), extension=result.extension,
                            handle=result)

    def render_alert(self, message: Path, original_name: str, *, repeat: int) -> RenderedAudio:
        """The chime, then the message `repeat` times with pauses, rendered as one speech rendition."""
        try:
            check_file_name(original_name)
            check_message(message, self.store.config)
            work = self.store.work
            with temp_path(work, ".wav") as joined:
                compose_alert(message, joined, chime=self.chimes.path(), repeat=repeat,
                              sample_rate=self.store.config.sample_rate, work_dir=work)
                return self._rendered(self.alert_store, joined, original_name, "speech", None)
        except AudioError as exc:
            raise as_domain_error(exc) from None

    def replace_chime(self, path: Path, original_name: str) -> int:
        try:
            check_file_name(original_name)
            return self.chimes.replace(path)
        except AudioError as exc:
            raise as_domain_error(exc) from None

    def reset_chime(self) -> bool:
        return self.chimes.reset()

    def chime_file(self) -> tuple[Path, bool]:
        """The chime in use and whether an administrator's file replaced the default."""
        try:
            return self.chimes.path(), self.chimes.is_custom
        except AudioError as exc:
            raise as_domain_error(exc) from None

    def check_text(self, text: str, voice: str) -> None:
        try:
            check_text(text, self.store.config)
        except AudioError as exc:
            raise as_domain_error(exc) from None

    def synthesize(self, text: str, voice: str, out_path: Path) -> None:
        try:
            synthesize_to_file(text, out_path, voice=voice, config=self.store.config,
                               pronunciations=merged(self.pronunciations()))
        except AudioError as exc:
            raise as_domain_error(exc) from None

    def media_path(self, sha256: str) -> Path | None:
        try:
            return self.store.media_path(sha256)
        except AudioError:
            return None
