"""Limits and targets for validation and normalization, in one dataclass."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Profile(str, Enum):
    """What the programme is: decides the MP3 bitrate."""

    speech = "speech"
    music = "music"


@dataclass(frozen=True)
class AudioConfig:
    # Validation limits.
    min_duration_s: float = 1.0
    max_duration_s: float = 4 * 3600.0
    max_bytes: int = 500 * 1024 * 1024
    # Rendition for loudspeakers.
    target_lufs: float = -16.0
    true_peak_dbtp: float = -1.5
    sample_rate: int = 44100
    speech_bitrate_kbps: int = 64
    music_bitrate_kbps: int = 128
    # LAME -q: 7 encodes ~1.7x faster than 5 (LAME is the largest cost of a render); at
    # 64-128 kbit/s on horn loudspeakers the difference is not audible.
    lame_quality: int = 7
    # Clips shorter than this take the peak-based path (no limiter).
    short_clip_s: float = 3.0
    # After rendering, re-render when the measured output is further off than this.
    loudness_tolerance_lu: float = 0.35
    # Output true peak must sit this far under the ceiling (ebur128 prints 0.1 dB steps).
    true_peak_guard_db: float = 0.15
    # The limiter starts this far under the ceiling: resampling and MP3 coding add overshoot.
    limiter_margin_db: float = 1.5
    # First guess of loudness the limiter takes, per dB of peak it removes (speech: ~0.25).
    limiter_loss_ratio: float = 0.2
    max_renders: int = 4
    # Seconds decoded up front to guess whether (and where) limiter trials are needed, so they
    # can run on the same decode as the measurement.
    estimate_s: float = 60.0
    # Renders aim this far above target: LAME (-q 7) takes ~0.4-0.5 LU off at 64 kbit/s
    # (its low-pass removes the top octave), ~0.2 at 128 kbit/s.
    mp3_loss_lu: float = 0.4
    # Limiter timing (ms). Speech: fast, so the limiter only touches pitch-pulse peaks and
    # costs little loudness; music: slower, to avoid distorting bass.
    speech_limiter_attack_ms: float = 1.0
    speech_limiter_release_ms: float = 10.0
    music_limiter_attack_ms: float = 5.0
    music_limiter_release_ms: float = 50.0
    # Text-to-speech.
    tts_max_chars: int = 20_000
    # Whole-file subprocess timeout (a 4 h file decodes in well under a minute).
    process_timeout_s: float = 3600.0

    def limiter_timing(self, profile: Profile | str) -> tuple[float, float]:
        if Profile(profile) is Profile.speech:
            return self.speech_limiter_attack_ms, self.speech_limiter_release_ms
        return self.music_limiter_attack_ms, self.music_limiter_release_ms

    def bitrate_kbps(self, profile: Profile | str) -> int:
        profile = Profile(profile)
        return self.speech_bitrate_kbps if profile is Profile.speech else self.music_bitrate_kbps
