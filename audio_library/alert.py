"""Emergency messages: an attention chime, then the message said again after a pause, as one file.

A warning has no minimum length ("Cháy!" is 0.6 s of speech): the minimum is for programmes uploaded to the
library, so messages are checked with every limit but that one. The chime is the default two-tone one
(editing.make_chime, generated on first use) unless an administrator replaced it; it is kept as mono WAV under
DATA/media/chime/ so every alert joins it without decoding a user's file again.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from . import ffmpeg_cli
from .config import AudioConfig
from .editing import make_chime
from .errors import ProcessingError, SilentAudioError, TooLongError
from .fsutil import publish, temp_path
from .probe import ProbeResult, validate

PAUSE_MS = 1000  # between the chime and each repetition: listeners outdoors need a beat to turn their attention
MAX_REPEAT = 5
CHIME_MIN_S = 0.2
CHIME_MAX_S = 15.0


def message_config(config: AudioConfig) -> AudioConfig:
    """The library's limits without the minimum duration."""
    return replace(config, min_duration_s=0.0)


def alert_config(config: AudioConfig) -> AudioConfig:
    """Limits for the joined alert: no minimum, room for the chime and every repetition of a long message."""
    longest = CHIME_MAX_S + MAX_REPEAT * (config.max_duration_s + PAUSE_MS / 1000)
    return replace(config, min_duration_s=0.0, max_duration_s=longest)


def check_message(path: Path, config: AudioConfig) -> ProbeResult:
    """Is it sound, within size and maximum length, decodable to the end: any length above zero is fine."""
    return validate(path, message_config(config))


def write_silence(path: Path, ms: int, *, sample_rate: int) -> Path:
    from pydub import AudioSegment

    AudioSegment.silent(duration=ms, frame_rate=sample_rate).set_channels(1).export(path, format="wav")
    return path


def compose_alert(message: Path, out: Path, *, chime: Path, repeat: int, sample_rate: int, work_dir: Path,
                  pause_ms: int = PAUSE_MS) -> Path:
    """chime, pause, message, (pause, message) x (repeat - 1), as one mono WAV."""
    if not 1 <= repeat <= MAX_REPEAT:
        raise ValueError(f"repeat must be 1..{MAX_REPEAT}, not {repeat}")
    with temp_path(work_dir, ".wav") as pause:
        write_silence(pause, pause_ms, sample_rate=sample_rate)
        parts = [chime]
        for _ in range(repeat):
            parts += [pause, message]
        with temp_path(out.parent, ".wav") as tmp:
            run = ffmpeg_cli.concat_to_wav(parts, tmp, sample_rate=sample_rate)
            if run.returncode != 0:
                raise ProcessingError("Không ghép được tín hiệu chú ý vào bản tin khẩn cấp.", detail=run.tail[-300:])
            publish(tmp, out)
    return out


class ChimeStore:
    """The attention signal every emergency starts with: an administrator's file, else the default one."""

    def __init__(self, root: Path, config: AudioConfig):
        self.directory = Path(root) / "media" / "chime"
        self.config = config
        self.custom = self.directory / "custom.wav"
        self.default = self.directory / "default.wav"

    @property
    def is_custom(self) -> bool:
        return self.custom.is_file()

    def path(self) -> Path:
        if self.custom.is_file():
            return self.custom
        if not self.default.is_file():
            make_chime(self.default, sample_rate=self.config.sample_rate)
        return self.default

    def replace(self, source: Path) -> int:
        """Check `source` (sound, 0.2 to 15 s, not silent) and make it the chime; returns its duration in ms."""
        limits = replace(self.config, min_duration_s=CHIME_MIN_S, max_duration_s=CHIME_MAX_S)
        try:
            checked = validate(source, limits)
        except TooLongError:
            raise TooLongError(f"Tín hiệu chú ý dài tối đa {CHIME_MAX_S:g} giây.",
                               max_duration_s=CHIME_MAX_S) from None
        if checked.loudness is not None and checked.loudness.is_silent:
            raise SilentAudioError("Tín hiệu chú ý chỉ có im lặng.")
        with temp_path(self.directory, ".wav") as tmp:
            run = ffmpeg_cli.concat_to_wav([source], tmp, sample_rate=self.config.sample_rate)
            if run.returncode != 0:
                raise ProcessingError("Không chuyển được tín hiệu chú ý sang WAV.", detail=run.tail[-300:])
            publish(tmp, self.custom)
        return round((checked.duration_s or 0) * 1000)

    def reset(self) -> bool:
        """Back to the default chime; False when there was no custom one."""
        if not self.custom.is_file():
            return False
        self.custom.unlink(missing_ok=True)
        return True
