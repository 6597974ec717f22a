"""Gain planning and correction: pure functions, no ffmpeg."""

import pytest

from audio_library.config import AudioConfig
from audio_library.errors import SilentAudioError
from audio_library.normalize import (
    METHOD_LIMITED,
    METHOD_LINEAR,
    METHOD_PEAK,
    GainPlan,
    correct_plan,
    plan_gain,
)
from audio_library.probe import Loudness

CFG = AudioConfig()


def plan(i, tp, seconds=60.0, target=-16.0, ceiling=-1.5):
    return plan_gain(Loudness(i, tp, 3.0), target_lufs=target, ceiling_dbtp=ceiling,
                     duration_s=seconds, config=CFG)


def test_quiet_file_with_headroom_gets_plain_gain_plus_mp3_loss():
    p = plan(-30.0, -20.0)
    assert p == GainPlan(round(14.0 + CFG.mp3_loss_lu, 2), None, METHOD_LINEAR)


def test_linear_aim_above_target_never_exceeds_peak_headroom():
    # 14 dB needed, peaks allow 14.1: the MP3 allowance is cut to what the peaks leave.
    p = plan(-30.0, -1.5 - CFG.limiter_margin_db - 14.1)
    assert p.method == METHOD_LINEAR and p.gain_db == pytest.approx(14.1)


def test_gain_that_pushes_peaks_over_uses_limiter_under_ceiling():
    p = plan(-20.0, -1.0)
    assert p.method == METHOD_LIMITED
    assert p.limiter_db == pytest.approx(-1.5 - CFG.limiter_margin_db)
    assert p.gain_db >= 4.0  # at least the loudness difference, plus some pre-compensation


def test_loud_file_is_turned_down_without_limiter():
    p = plan(-8.0, 0.5)
    assert p.method == METHOD_LINEAR and p.gain_db == pytest.approx(-8.0 + CFG.mp3_loss_lu)


def test_short_clip_takes_peak_path_capped_by_headroom():
    p = plan(-30.0, -5.0, seconds=2.0)
    assert p.method == METHOD_PEAK and p.limiter_db is None
    assert p.gain_db == pytest.approx(-1.5 - CFG.limiter_margin_db + 5.0)
    assert plan(-30.0, -25.0, seconds=2.0).gain_db == pytest.approx(14.0)


def test_silence_is_refused():
    with pytest.raises(SilentAudioError):
        plan(-70.0, float("-inf"))


def test_output_within_bounds_needs_no_correction():
    p = GainPlan(10.0, None, METHOD_LINEAR)
    out = Loudness(-16.1, -6.0, 3.0)
    assert correct_plan(p, out, target_lufs=-16, ceiling_dbtp=-1.5, config=CFG) is None


def test_loudness_miss_raises_gain():
    p = GainPlan(10.0, None, METHOD_LINEAR)
    nxt = correct_plan(p, Loudness(-16.6, -8.0, 3.0), target_lufs=-16, ceiling_dbtp=-1.5, config=CFG)
    assert nxt == GainPlan(10.6, None, METHOD_LINEAR)


def test_mp3_peak_overshoot_lowers_the_limiter():
    p = GainPlan(6.0, -2.5, METHOD_LIMITED)
    nxt = correct_plan(p, Loudness(-16.0, -1.0, 3.0), target_lufs=-16, ceiling_dbtp=-1.5, config=CFG)
    assert nxt.limiter_db < -2.5 - 0.4 and nxt.gain_db == 6.0


def test_limited_correction_uses_observed_slope():
    first = (GainPlan(4.0, -2.5, METHOD_LIMITED), Loudness(-17.0, -2.0, 3.0))
    second = GainPlan(5.0, -2.5, METHOD_LIMITED)
    out = Loudness(-16.5, -2.0, 3.0)  # +1 dB of gain gave +0.5 LU
    nxt = correct_plan(second, out, target_lufs=-16, ceiling_dbtp=-1.5, config=CFG, previous=first)
    assert nxt.gain_db == pytest.approx(6.0)


def test_linear_raise_that_would_clip_adds_limiter():
    p = GainPlan(10.0, None, METHOD_LINEAR)
    nxt = correct_plan(p, Loudness(-17.0, -2.0, 3.0), target_lufs=-16, ceiling_dbtp=-1.5, config=CFG)
    assert nxt.method == METHOD_LIMITED and nxt.limiter_db is not None


def test_peak_path_never_raises_past_headroom():
    p = GainPlan(5.0, None, METHOD_PEAK)
    nxt = correct_plan(p, Loudness(-20.0, -1.65, 3.0), target_lufs=-16, ceiling_dbtp=-1.5, config=CFG)
    assert nxt is None
    lower = correct_plan(p, Loudness(-15.0, -1.0, 3.0), target_lufs=-16, ceiling_dbtp=-1.5, config=CFG)
    assert lower.gain_db < 5.0 - 0.5 and lower.method == METHOD_PEAK


def test_gain_from_trials_interpolates_inside_and_extrapolates_outside():
    from audio_library.normalize import gain_from_trials

    pts = [(10.0, -18.0), (13.0, -16.5), (16.0, -15.5)]
    assert gain_from_trials(pts, -16.0) == pytest.approx(14.5)
    assert gain_from_trials(pts, -18.0) == pytest.approx(10.0)
    # Beyond the last point: continue the last segment's slope (1/3 LU per dB).
    assert gain_from_trials(pts, -15.0) == pytest.approx(17.5)
    # Below the first point: first segment's slope (0.5).
    assert gain_from_trials(pts, -19.0) == pytest.approx(8.0)


def test_trial_gains_bracket_what_the_limiter_needs():
    from audio_library.normalize import trial_gains

    # Input -25 LUFS, peaks -4 dBTP, limiter at -3: the plain gain (9 dB + MP3 allowance)
    # pushes peaks excess dB over the limiter; trials sit at 0.3 and 0.7 of that above it.
    untouched, gains = trial_gains(Loudness(-25.0, -4.0, 8.0), -16.0, -3.0, CFG)
    g0 = 9.0 + CFG.mp3_loss_lu
    excess = g0 - 1.0
    assert untouched == pytest.approx(1.0)
    assert gains == [pytest.approx(g0 + 0.3 * excess), pytest.approx(g0 + 0.7 * excess)]
    # Barely over: at least 1 dB of spread so the two trials differ.
    _, close = trial_gains(Loudness(-20.0, -7.5, 8.0), -16.0, -3.0, CFG)
    assert close[1] - close[0] == pytest.approx(0.4)
    # One trial (what runs on the measuring decode): near the usual answer, 0.6 of the excess.
    untouched_one, one = trial_gains(Loudness(-25.0, -4.0, 8.0), -16.0, -3.0, CFG, count=1)
    assert untouched_one == pytest.approx(1.0)
    assert one == [pytest.approx(g0 + 0.6 * excess)]


def test_gain_from_one_trial_bends_between_the_points_and_extends_beyond():
    from audio_library.normalize import gain_from_one_trial

    # Between the untouched point and the trial: a parabola with slope 1 at the untouched point
    # (here L = -20 + x - 0.02 x^2, through the trial at x = 10 -> -12).
    untouched, trial = (3.0, -20.0), (13.0, -12.0)
    assert gain_from_one_trial(untouched, trial, -16.0) == pytest.approx(3.0 + (1 - (1 - 0.32) ** 0.5) / 0.04)
    # At the points themselves.
    assert gain_from_one_trial(untouched, trial, -12.0) == pytest.approx(13.0)
    assert gain_from_one_trial(untouched, trial, -21.0) == pytest.approx(2.0)  # unlimited: slope 1
    # Beyond the trial: the chord's slope (8 LU over 10 dB).
    assert gain_from_one_trial(untouched, trial, -11.6) == pytest.approx(13.5)
