"""Rendered loudness and true peak, checked by an independent meter (pyloudnorm filters + scipy)."""

import pytest

from audio_library import normalize
from audio_library.tts import text_to_speech
from tests.support.audio_fixtures import espeak_wav, generate, independent_meter

pytestmark = pytest.mark.integration

TARGET, CEILING = -16.0, -1.5

CASES = [
    # name, kind, seconds, rate, channels, input LUFS, profile
    ("wav", "pink", 8, 48000, 2, -40.0, "speech"),
    ("mp3", "speechlike", 12, 44100, 2, -8.0, "speech"),
    ("ogg", "sweep", 6, 22050, 1, -24.0, "speech"),
    ("opus", "speechlike", 10, 48000, 2, -30.0, "speech"),
    ("flac", "pink", 5, 8000, 1, -12.0, "music"),
    ("m4a", "speechlike", 10, 32000, 1, -20.0, "speech"),
    ("mp4", "pink", 6, 44100, 2, -16.0, "music"),  # video with an audio track
    ("wav", "pink", 1.2, 16000, 1, -28.0, "speech"),  # short clip: peak path
    ("flac", "speechlike", 2.5, 44100, 2, -35.0, "speech"),  # short clip: peak path
]


@pytest.mark.parametrize("ext,kind,seconds,rate,channels,lufs,profile", CASES,
                         ids=[f"{c[0]}-{c[1]}-{c[2]}s-{c[3]}Hz-{c[4]}ch-{c[5]}LUFS" for c in CASES])
def test_audio_normalized_output_meets_target(tmp_path, ext, kind, seconds, rate, channels, lufs, profile):
    src = generate(tmp_path / f"in.{ext}", kind=kind, seconds=seconds, rate=rate, channels=channels,
                   lufs=lufs, video=ext == "mp4")
    out = tmp_path / "out.mp3"
    result = normalize(src, out, target_lufs=TARGET, true_peak=CEILING, profile=profile)
    meter = independent_meter(out)
    short = seconds < 3
    assert meter.true_peak_dbtp <= CEILING
    if short:
        # Peak path: on target unless peak headroom forbids it, never limited.
        assert result.method == "peak"
        assert meter.lufs <= TARGET + 0.5
        assert meter.lufs >= TARGET - 0.5 or meter.true_peak_dbtp >= CEILING - 1.0
    else:
        assert abs(meter.lufs - TARGET) <= 0.5, result
    # What we record is what the independent meter sees.
    assert abs(result.output_lufs - meter.lufs) <= 0.3
    assert abs(result.input_lufs - lufs) <= 1.5  # mono fold of the generated level
    assert meter.seconds == pytest.approx(seconds, abs=0.15)
    assert result.duration_ms == pytest.approx(seconds * 1000, abs=150)
    assert result.sample_rate == 44100
    assert result.bitrate_kbps == (64 if profile == "speech" else 128)


@pytest.mark.parametrize("voice", ["vi", "vi-vn-x-central", "vi-vn-x-south"])
def test_audio_tts_voices_are_normalized(tmp_path, espeak, voice):
    text = ("Thông báo của Ủy ban nhân dân xã: sáng thứ bảy tổ chức tiêm phòng cho trẻ em "
            "tại trạm y tế. Đề nghị các gia đình đưa trẻ đến đúng giờ.")
    out = tmp_path / "tts.mp3"
    result = text_to_speech(text, out, voice=voice)
    meter = independent_meter(out)
    assert abs(meter.lufs - TARGET) <= 0.5
    assert meter.true_peak_dbtp <= CEILING
    assert result.duration_ms > 3000


def test_audio_espeak_recording_at_other_target(tmp_path, espeak):
    src = espeak_wav(tmp_path / "speech.wav", "Kính thưa bà con, mùa mưa bão đã đến. " * 3)
    out = tmp_path / "out.mp3"
    normalize(src, out, target_lufs=-20.0, true_peak=-3.0)
    meter = independent_meter(out)
    assert abs(meter.lufs + 20.0) <= 0.5
    assert meter.true_peak_dbtp <= -3.0


def test_audio_sixty_minutes_low_rate(tmp_path):
    """The one long case: 60 min mono 8 kHz in, streamed end to end."""
    src = generate(tmp_path / "long.flac", kind="pink", seconds=3600, rate=8000, channels=1, lufs=-26.0)
    out = tmp_path / "long.mp3"
    result = normalize(src, out, sample_rate=16000)
    meter = independent_meter(out, chunk_s=60)
    assert abs(meter.lufs - TARGET) <= 0.5
    assert meter.true_peak_dbtp <= CEILING
    assert meter.seconds == pytest.approx(3600, abs=1)
    assert result.duration_ms == pytest.approx(3_600_000, abs=1000)
