"""The fast paths: trials fed from the measuring decode, the MP3 checked while it is written."""

import pytest

from audio_library import ffmpeg_cli, normalize
from audio_library.probe import validate_with_trials
from tests.support.audio_fixtures import generate, independent_meter

pytestmark = pytest.mark.integration


def test_audio_limited_file_needs_no_separate_trial_pass(tmp_path, monkeypatch):
    # Speech-like at -24 LUFS with hot peaks: +8 dB pushes them far over the limiter.
    src = generate(tmp_path / "in.flac", kind="speechlike", seconds=20, rate=44100, channels=2, lufs=-24.0)
    calls = []
    real = ffmpeg_cli.limiter_trials
    monkeypatch.setattr(ffmpeg_cli, "limiter_trials", lambda *a, **k: calls.append(k) or real(*a, **k))
    out = tmp_path / "out.mp3"
    result = normalize(src, out, target_lufs=-16.0, true_peak=-1.5)
    meter = independent_meter(out)
    assert result.method == "linear+limiter"
    assert calls == []  # the first minute predicted the trials; they ran on the measuring decode
    assert result.renders == 1
    assert abs(meter.lufs + 16.0) <= 0.5 and meter.true_peak_dbtp <= -1.5
    # The check decoded the MP3 while it was written: it agrees with the file on disk.
    assert result.output_lufs == pytest.approx(meter.lufs, abs=0.3)
    assert result.output_true_peak_dbtp == pytest.approx(meter.true_peak_dbtp, abs=0.1)


def test_audio_trials_on_the_decode_do_not_change_the_measurement(tmp_path):
    src = generate(tmp_path / "in.wav", kind="pink", seconds=6, rate=48000, channels=1, lufs=-20.0)
    spec = ffmpeg_cli.TrialSpec((6.0, 9.0), -3.0, 1.0, 10.0)
    plain, none = validate_with_trials(src)
    fanned, runs = validate_with_trials(src, trials=spec)
    assert none == () and len(runs) == 2 and all(r.returncode == 0 for r in runs)
    assert fanned.loudness == plain.loudness
    assert fanned.loudness.integrated_lufs == pytest.approx(-20.0, abs=0.3)
    # A limited trial is quieter than gain alone would make it, and more gain is louder.
    from audio_library.parsers import parse_named_summaries
    low = [parse_named_summaries(r.tail, ["trial"])["trial"].integrated_lufs for r in runs]
    assert low[1] > low[0]
    assert low[0] < plain.loudness.low_rate_lufs + 6.0 + 0.05
