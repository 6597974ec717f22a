"""Probe, validate and measure: is this sound, within limits, and how loud."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from . import ffmpeg_cli, parsers
from .config import AudioConfig
from .errors import (
    AudioFileNotFoundError,
    CorruptAudioError,
    EmptyFileError,
    NotAudioError,
    ProcessingError,
    TooLargeError,
    TooLongError,
    TooShortError,
    TruncatedAudioError,
)

# ffprobe format names -> extension we store originals under (never the user's name).
_EXTENSIONS = {
    "mp3": "mp3", "wav": "wav", "ogg": "ogg", "flac": "flac", "matroska,webm": "mkv",
    "mov,mp4,m4a,3gp,3g2,mj2": "m4a", "aac": "aac", "avi": "avi", "asf": "wma",
    "aiff": "aiff", "amr": "amr", "mpeg": "mpg", "mpegts": "ts", "flv": "flv",
}
# Image "formats" ffprobe reports as video streams: never audio.
_IMAGE_CODECS = {"png", "mjpeg", "bmp", "gif", "webp", "tiff", "jpegls"}


@dataclass(frozen=True)
class Loudness:
    integrated_lufs: float
    true_peak_dbtp: float
    lra_lu: float
    decoded_s: float | None = None
    # Loudness metered at ffmpeg_cli.TRIAL_METER_RATE: the reference limiter trials compare with.
    low_rate_lufs: float | None = None

    @property
    def is_silent(self) -> bool:
        return self.integrated_lufs <= -69.9 or not math.isfinite(self.true_peak_dbtp)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class ProbeResult:
    path: Path
    format_name: str
    extension: str
    codec: str
    sample_rate: int
    channels: int
    duration_s: float | None
    size_bytes: int
    has_video: bool
    loudness: Loudness | None = None  # set by validate(): it decodes the whole file anyway

    @property
    def duration_ms(self) -> int | None:
        return None if self.duration_s is None else round(self.duration_s * 1000)


def _stat_size(path: Path) -> int:
    try:
        if not path.is_file():
            raise AudioFileNotFoundError(path=str(path.name))
        return path.stat().st_size
    except OSError as exc:
        raise AudioFileNotFoundError(path=str(path.name)) from exc


def probe(path: str | Path) -> ProbeResult:
    """What ffprobe sees: refuses files without a decodable-looking audio stream."""
    path = Path(path)
    size = _stat_size(path)
    if size == 0:
        raise EmptyFileError()
    returncode, out, _err = ffmpeg_cli.ffprobe(path)
    if returncode != 0:
        raise NotAudioError()
    data = parsers.parse_ffprobe_json(out)
    audio = [s for s in data.streams if s.codec_type == "audio"]
    if not audio:
        if any(s.codec_name in _IMAGE_CODECS for s in data.streams):
            raise NotAudioError("Tệp là hình ảnh, không phải âm thanh.")
        if any(s.codec_type == "video" for s in data.streams):
            raise NotAudioError("Tệp video không có kênh âm thanh.")
        raise NotAudioError()
    first = audio[0]
    if first.sample_rate <= 0 or first.channels <= 0 or not first.codec_name:
        # ffprobe "detected" a format with no usable parameters: random bytes do this.
        raise NotAudioError()
    has_video = any(s.codec_type == "video" and not s.attached_pic for s in data.streams)
    duration = first.duration_s if first.duration_s is not None else data.duration_s
    return ProbeResult(
        path=path,
        format_name=data.format_name,
        extension=_EXTENSIONS.get(data.format_name, "bin"),
        codec=first.codec_name,
        sample_rate=first.sample_rate,
        channels=first.channels,
        duration_s=duration,
        size_bytes=size,
        has_video=has_video,
    )


def _check_duration(seconds: float, config: AudioConfig) -> None:
    if seconds < config.min_duration_s:
        raise TooShortError(
            f"Âm thanh quá ngắn ({seconds:.1f} giây); tối thiểu {config.min_duration_s:g} giây.",
            duration_s=round(seconds, 3), min_duration_s=config.min_duration_s,
        )
    if seconds > config.max_duration_s:
        raise TooLongError(
            f"Âm thanh quá dài ({seconds / 60:.1f} phút); tối đa {config.max_duration_s / 60:g} phút.",
            duration_s=round(seconds, 3), max_duration_s=config.max_duration_s,
        )


def measure_loudness(path: str | Path, *, timeout: float = 3600.0) -> Loudness:
    """Integrated loudness, true peak and LRA of the mono fold-down of ``path``."""
    run = ffmpeg_cli.measure(Path(path), timeout=timeout)
    if run.returncode != 0:
        raise CorruptAudioError(detail=run.tail[-500:])
    try:
        summary = parsers.parse_ebur128_summary(run.tail)
    except ValueError as exc:
        raise ProcessingError("Không đo được độ to của âm thanh.") from exc
    return Loudness(
        integrated_lufs=summary.integrated_lufs,
        true_peak_dbtp=summary.peak_db if summary.peak_db is not None else float("-inf"),
        lra_lu=summary.lra_lu,
        decoded_s=parsers.parse_last_time(run.tail),
    )


def loudness_of_check(run: ffmpeg_cli.RunOutput) -> Loudness:
    """What the check process of ``ffmpeg_cli.render_mp3`` measured on the MP3 it decoded."""
    try:
        summary = parsers.parse_ebur128_summary(run.tail)
        peak = parsers.parse_astats_peak(run.tail)
    except ValueError as exc:
        raise ProcessingError("Không đo được độ to của âm thanh.") from exc
    return Loudness(summary.integrated_lufs, peak, summary.lra_lu, parsers.parse_last_time(run.tail))


def check_size(path: Path, config: AudioConfig) -> int:
    """Existence, emptiness and size limit: no subprocess needed."""
    size = _stat_size(path)
    if size == 0:
        raise EmptyFileError()
    if size > config.max_bytes:
        raise TooLargeError(
            f"Tệp quá lớn ({size / 1048576:.1f} MB); tối đa {config.max_bytes / 1048576:g} MB.",
            size_bytes=size, max_bytes=config.max_bytes,
        )
    return size


def validate(path: str | Path, config: AudioConfig | None = None) -> ProbeResult:
    """Probe, check limits, then decode the whole file once (measuring loudness on the way)."""
    return validate_with_trials(path, config)[0]


def quick_estimate(path: Path, config: AudioConfig) -> Loudness | None:
    """Rough loudness and peak of the first minute (cheap), or None if it cannot tell."""
    run = ffmpeg_cli.estimate(path, seconds=config.estimate_s, timeout=config.process_timeout_s)
    try:
        summary = parsers.parse_ebur128_summary(run.tail)
        peak = parsers.parse_astats_peak(run.tail)
    except ValueError:
        return None
    if run.returncode != 0 or summary.integrated_lufs <= -69.9 or not math.isfinite(peak):
        return None
    return Loudness(summary.integrated_lufs, peak, summary.lra_lu)


def validate_with_trials(path: str | Path, config: AudioConfig | None = None,
                         trials: ffmpeg_cli.TrialSpec | None = None,
                         ) -> tuple[ProbeResult, tuple[ffmpeg_cli.RunOutput, ...]]:
    """``validate``, with limiter trials fed from the same decode (their runs are returned as is)."""
    config = config or AudioConfig()
    path = Path(path)
    check_size(path, config)
    result = probe(path)
    if result.duration_s is not None:
        _check_duration(result.duration_s, config)
    measured = ffmpeg_cli.measure_input(path, sample_rate=config.sample_rate, trials=trials,
                                        timeout=config.process_timeout_s)
    run = measured.decoder
    if run.returncode != 0 or run.decode_errors:
        raise CorruptAudioError(decode_errors=run.decode_errors)
    decoded = parsers.parse_last_time(run.tail)
    if decoded is None:
        raise CorruptAudioError()
    declared = result.duration_s
    if declared is not None and decoded < declared - max(0.5, 0.02 * declared):
        raise TruncatedAudioError(
            f"Tệp bị cắt cụt: chỉ giải mã được {decoded:.1f} trên {declared:.1f} giây.",
            decoded_s=round(decoded, 3), declared_s=round(declared, 3),
        )
    _check_duration(decoded, config)
    try:
        summary = parsers.parse_ebur128_summary(measured.meter.tail)
        peak = parsers.parse_astats_peak(measured.aux_tail)
        low = parsers.parse_named_summaries(measured.aux_tail, ["low"])["low"].integrated_lufs
    except ValueError as exc:
        raise ProcessingError("Không đo được độ to của âm thanh.") from exc
    loudness = Loudness(
        integrated_lufs=summary.integrated_lufs,
        true_peak_dbtp=peak,
        lra_lu=summary.lra_lu,
        decoded_s=decoded,
        low_rate_lufs=low,
    )
    return replace(result, duration_s=decoded, loudness=loudness), measured.trials
