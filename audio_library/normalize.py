"""Loudness normalization: measure, one linear-gain render, verify on the MP3.

Why not loudnorm: it silently switches to dynamic mode and resamples to 192 kHz.
Here the gain is a plain number we choose and record, a true-peak limiter
(oversampled alimiter) only catches the peaks the gain would push over the
ceiling, and the produced MP3 is measured again. If the file misses the target
(limiting ate loudness, MP3 coding added peak), we correct and re-render.
"""

from __future__ import annotations

import itertools
import logging
import math
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from . import ffmpeg_cli, parsers
from .config import AudioConfig, Profile
from .errors import InvalidParameterError, NormalizationError, ProcessingError, SilentAudioError
from .fsutil import publish, temp_path
from .probe import Loudness, ProbeResult, loudness_of_check, quick_estimate, validate_with_trials

log = logging.getLogger(__name__)

METHOD_LINEAR = "linear"  # gain only, peaks already under the ceiling
METHOD_LIMITED = "linear+limiter"  # gain, then a true-peak limiter on the few peaks above
METHOD_PEAK = "peak"  # short clip: gain capped by true-peak headroom, no limiter


@dataclass(frozen=True)
class GainPlan:
    gain_db: float
    limiter_db: float | None
    method: str


@dataclass(frozen=True)
class NormalizeResult:
    input_lufs: float
    input_true_peak_dbtp: float
    input_lra_lu: float
    output_lufs: float
    output_true_peak_dbtp: float
    output_lra_lu: float
    gain_db: float
    limiter_threshold_dbtp: float | None
    method: str
    target_lufs: float
    true_peak_ceiling_dbtp: float
    profile: str
    sample_rate: int
    bitrate_kbps: int
    duration_ms: int
    output_bytes: int
    renders: int

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def plan_gain(measured: Loudness, *, target_lufs: float, ceiling_dbtp: float,
              duration_s: float, config: AudioConfig) -> GainPlan:
    """Pure: the first render's gain and limiter from the input measurement."""
    if measured.is_silent:
        raise SilentAudioError()
    safe_peak = ceiling_dbtp - config.limiter_margin_db
    headroom = safe_peak - measured.true_peak_dbtp
    if duration_s < config.short_clip_s:
        wanted = target_lufs - measured.integrated_lufs if measured.integrated_lufs > -69.9 else headroom
        return GainPlan(round(min(wanted, headroom), 2), None, METHOD_PEAK)
    gain = target_lufs - measured.integrated_lufs
    if gain <= headroom:
        # Aim above target by what MP3 coding takes, when the peaks allow it.
        return GainPlan(round(min(gain + config.mp3_loss_lu, headroom), 2), None, METHOD_LINEAR)
    # Pre-compensate part of what limiting will cost; trials and the verify loop do the rest.
    gain += config.mp3_loss_lu + min(2.0, config.limiter_loss_ratio * (gain - headroom))
    return GainPlan(round(gain, 2), round(safe_peak, 2), METHOD_LIMITED)


def gain_from_trials(points: list[tuple[float, float]], target_lufs: float) -> float:
    """Pure: the gain whose limited output hits ``target_lufs``, by piecewise-linear interpolation
    of (gain, measured loudness) trial points; extrapolates from the nearest segment."""
    pts = sorted(points)
    for (g0, l0), (g1, l1) in itertools.pairwise(pts):
        if l0 <= target_lufs <= l1:
            return g0 if l1 == l0 else g0 + (target_lufs - l0) * (g1 - g0) / (l1 - l0)
    (g0, l0), (g1, l1) = (pts[0], pts[1]) if target_lufs < pts[0][1] else (pts[-2], pts[-1])
    slope = min(1.0, max(0.2, (l1 - l0) / (g1 - g0))) if g1 != g0 else 1.0
    base_g, base_l = (g0, l0) if target_lufs < pts[0][1] else (g1, l1)
    return base_g + (target_lufs - base_l) / slope


def gain_from_one_trial(untouched: tuple[float, float], trial: tuple[float, float],
                        target_lufs: float) -> float:
    """Pure: the gain hitting ``target_lufs`` from the exact "limiter untouched" point (gain,
    loudness; slope 1 there) and one trial above it. Between them the loss curve bends (the
    limiter takes more per dB as gain rises): a parabola with slope 1 at the untouched point
    through the trial (a straight chord overshot by ~0.6 dB on speech). Beyond the trial the
    chord's slope (measured: the curve straightens out there)."""
    (gu, lu), (gt, lt) = untouched, trial
    span = gt - gu
    if span <= 0.05 or target_lufs <= lu:
        return gu + (target_lufs - lu)
    rise = lt - lu
    if target_lufs >= lt:
        return gt + (target_lufs - lt) / min(1.0, max(0.2, rise / span))
    bend = max(0.0, (span - rise) / span ** 2)  # L = lu + x - bend * x^2, x = gain - gu
    need = target_lufs - lu
    if bend < 1e-9:
        return gu + need
    return gu + (1.0 - math.sqrt(max(0.0, 1.0 - 4.0 * bend * need))) / (2.0 * bend)


def _slope(plan: GainPlan, out: Loudness, previous: tuple[GainPlan, Loudness] | None) -> float:
    """dLUFS/dGain seen between two renders: below 1 when the limiter eats part of a raise."""
    if previous is None or plan.limiter_db is None:
        return 1.0 if plan.limiter_db is None else 0.8
    prev_plan, prev_out = previous
    dg = plan.gain_db - prev_plan.gain_db
    if abs(dg) < 0.05 or prev_plan.limiter_db != plan.limiter_db:
        return 0.8
    return min(1.0, max(0.4, (out.integrated_lufs - prev_out.integrated_lufs) / dg))


def correct_plan(plan: GainPlan, out: Loudness, *, target_lufs: float, ceiling_dbtp: float,
                 config: AudioConfig, previous: tuple[GainPlan, Loudness] | None = None) -> GainPlan | None:
    """Pure: the next render's plan from the measured output, or None when it is within bounds."""
    allowed_peak = ceiling_dbtp - config.true_peak_guard_db
    excess = out.true_peak_dbtp - allowed_peak
    error = target_lufs - out.integrated_lufs
    loud_ok = abs(error) <= config.loudness_tolerance_lu
    if plan.method == METHOD_PEAK:
        # The peak path never limits: lower on excess, raise only within measured headroom.
        if excess > 0:
            return GainPlan(round(plan.gain_db - excess - 0.1, 2), None, METHOD_PEAK)
        if loud_ok:
            return None
        step = error if error < 0 else min(error, -excess - 0.1)
        if error > 0 and step < 0.05:
            return None  # no headroom left: stay under target rather than limit
        return GainPlan(round(plan.gain_db + step, 2), None, METHOD_PEAK)
    if excess <= 0 and loud_ok:
        return None
    step = 0.0 if loud_ok else max(-6.0, min(6.0, error / _slope(plan, out, previous)))
    gain = plan.gain_db + step
    limiter = plan.limiter_db
    if excess > 0:
        # MP3 coding adds peak above what the limiter let through: pull the limiter down by that.
        base = limiter if limiter is not None else out.true_peak_dbtp - (gain - plan.gain_db)
        limiter = min(base, ceiling_dbtp - config.limiter_margin_db) - excess - 0.1
    elif limiter is None and out.true_peak_dbtp + (gain - plan.gain_db) > allowed_peak:
        limiter = ceiling_dbtp - config.limiter_margin_db
    method = METHOD_LINEAR if limiter is None else METHOD_LIMITED
    return GainPlan(round(gain, 2), None if limiter is None else round(limiter, 2), method)


def trial_gains(measured: Loudness, target_lufs: float, limiter_db: float,
                config: AudioConfig, count: int = 2) -> tuple[float, list[float]]:
    """Pure: the highest gain the limiter leaves untouched, and trial gains. At the plain gain g0
    the limiter must remove ``excess`` dB of peak; speech and music end up needing roughly
    0.1-0.65 of that on top of g0. Two trials (0.3, 0.7) usually bracket the answer; one trial
    (0.6) sits near the usual answer, so the chord from the exact "untouched" point to it is short
    where it matters (what the limiter takes grows smoothly with gain)."""
    g0 = target_lufs + config.mp3_loss_lu - measured.integrated_lufs
    untouched = limiter_db - measured.true_peak_dbtp
    excess = max(1.0, g0 - untouched)
    if count == 1:
        return untouched, [round(g0 + 0.6 * excess, 2)]
    return untouched, [round(g0 + 0.3 * excess, 2), round(g0 + 0.7 * excess, 2)]


def _trial_points(gains: tuple[float, ...] | list[float], runs: tuple[ffmpeg_cli.RunOutput, ...] | list,
                  measured: Loudness) -> list[tuple[float, float]] | None:
    """Full-rate loudness each trial gain gives after the limiter, or None if a trial failed."""
    assert measured.low_rate_lufs is not None
    points = []
    for gain, run in zip(gains, runs, strict=False):  # a missing run: fewer points, None below
        try:
            low = parsers.parse_named_summaries(run.tail, ["trial"])["trial"].integrated_lufs
        except ValueError:
            return None
        if run.returncode != 0:
            return None
        # The limiter's effect seen at the low rate, applied to the full-rate input loudness.
        points.append((gain, measured.integrated_lufs + low - measured.low_rate_lufs))
    return points if len(points) == len(gains) else None


def _run_trials(src: Path, gains: list[float], plan: GainPlan, measured: Loudness, rate: int,
                attack: float, release: float, config: AudioConfig) -> list[tuple[float, float]] | None:
    assert plan.limiter_db is not None
    runs = ffmpeg_cli.limiter_trials(src, gains_db=gains, limiter_db=plan.limiter_db, sample_rate=rate,
                                     attack_ms=attack, release_ms=release, timeout=config.process_timeout_s)
    return _trial_points(gains, runs, measured)


def _plan_with_trials(src: Path, plan: GainPlan, measured: Loudness, target: float, rate: int,
                      attack: float, release: float, config: AudioConfig,
                      early: tuple[ffmpeg_cli.TrialSpec, tuple[ffmpeg_cli.RunOutput, ...]] | None = None,
                      ) -> GainPlan:
    """Learn how much loudness the limiter takes (trials metered at a low rate, no encoding) and
    pick the gain that lands on target after limiting and MP3 coding. ``early``: trials that
    already ran on the measuring decode, with gains guessed from the first minute."""
    if measured.low_rate_lufs is None or plan.limiter_db is None:
        return plan  # measured elsewhere without the reference: the verify loop corrects
    untouched, gains = trial_gains(measured, target, plan.limiter_db, config)
    aim = target + config.mp3_loss_lu
    points = [(untouched, measured.integrated_lufs + untouched)]  # exact: nothing limited yet
    found = None
    if early is not None and early[0].limiter_db == plan.limiter_db:
        gains = list(early[0].gains_db)
        found = _trial_points(gains, early[1], measured)
    if found is None:
        gains = trial_gains(measured, target, plan.limiter_db, config)[1]
        found = _run_trials(src, gains, plan, measured, rate, attack, release, config)
    if found is None:
        return plan  # keep the heuristic guess; the verify loop still corrects it
    points += found
    if len(found) == 1:
        gain = gain_from_one_trial(points[0], found[0], aim)
        low_ok = points[0][0]  # bracketed by the exact "untouched" point below the trial
    else:
        gain = gain_from_trials(points, aim)
        low_ok = min(gains) - 1.0
    if not (low_ok <= gain <= max(gains) + 1.0):
        # Far outside what was tried: one more pair around the estimate.
        more = _run_trials(src, [round(gain, 2), round(gain + 1.5, 2)], plan, measured, rate,
                           attack, release, config)
        if more is not None:
            points += more
            gain = gain_from_trials(points, aim)
    log.debug("limiter trials: %s -> gain %.2f", points, gain)
    return GainPlan(round(gain, 2), plan.limiter_db, plan.method)


def _early_trials(src: Path, target: float, ceiling: float, attack: float, release: float,
                  config: AudioConfig) -> ffmpeg_cli.TrialSpec | None:
    """Trials worth running on the measuring decode, guessed from the first minute."""
    guess = quick_estimate(src, config)
    if guess is None:
        return None
    plan = plan_gain(guess, target_lufs=target, ceiling_dbtp=ceiling, duration_s=config.short_clip_s,
                     config=config)
    if plan.limiter_db is None:
        return None
    # One trial: a second one on the same decode cost ~1.5 s of CPU for ~0.05 LU of accuracy;
    # the verify loop still corrects a miss.
    _, gains = trial_gains(guess, target, plan.limiter_db, config, count=1)
    return ffmpeg_cli.TrialSpec(tuple(gains), plan.limiter_db, attack, release)


def _render(src: Path, tmp: Path, plan: GainPlan, rate: int, bitrate: int, attack: float,
            release: float, config: AudioConfig) -> Loudness:
    """Render the MP3 and return what the concurrent check measured on it."""
    run = ffmpeg_cli.render_mp3(src, tmp, gain_db=plan.gain_db, limiter_db=plan.limiter_db,
                                sample_rate=rate, bitrate_kbps=bitrate, lame_quality=config.lame_quality,
                                attack_ms=attack, release_ms=release, timeout=config.process_timeout_s)
    if run.returncode != 0:
        raise ProcessingError(detail=(run.render.tail if run.render.returncode else run.check.tail)[-500:])
    return loudness_of_check(run.check)


def _check_params(target_lufs: float, true_peak: float, sample_rate: int) -> None:
    if not (-40.0 <= target_lufs <= -5.0) or not math.isfinite(target_lufs):
        raise InvalidParameterError("Mức độ to mục tiêu phải trong khoảng -40 đến -5 LUFS.")
    if not (-9.0 <= true_peak <= 0.0) or not math.isfinite(true_peak):
        raise InvalidParameterError("Đỉnh thực tối đa phải trong khoảng -9 đến 0 dBTP.")
    if sample_rate not in (8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000):
        raise InvalidParameterError("Tần số lấy mẫu không được hỗ trợ cho MP3.")


def normalize(input_path: str | Path, output_path: str | Path, *, target_lufs: float | None = None,
              true_peak: float | None = None, profile: Profile | str = Profile.speech,
              sample_rate: int | None = None, config: AudioConfig | None = None,
              probe_result: ProbeResult | None = None) -> NormalizeResult:
    """Write the loudspeaker rendition of ``input_path`` to ``output_path`` (MP3, mono)."""
    config = config or AudioConfig()
    target = config.target_lufs if target_lufs is None else float(target_lufs)
    ceiling = config.true_peak_dbtp if true_peak is None else float(true_peak)
    rate = config.sample_rate if sample_rate is None else int(sample_rate)
    try:
        profile = Profile(profile)
    except ValueError as exc:
        raise InvalidParameterError("Loại nội dung phải là speech hoặc music.") from exc
    _check_params(target, ceiling, rate)
    bitrate = config.bitrate_kbps(profile)
    attack, release = config.limiter_timing(profile)
    src = Path(input_path)
    dst = Path(output_path)
    if rate != config.sample_rate:
        config = replace(config, sample_rate=rate)
    early = None
    if probe_result is not None and probe_result.loudness:
        checked = probe_result
    else:
        spec = _early_trials(src, target, ceiling, attack, release, config)
        checked, runs = validate_with_trials(src, config, spec)
        early = (spec, runs) if spec is not None else None
    measured = checked.loudness
    assert measured is not None and checked.duration_s is not None
    plan = plan_gain(measured, target_lufs=target, ceiling_dbtp=ceiling,
                     duration_s=checked.duration_s, config=config)
    if plan.method == METHOD_LIMITED:
        plan = _plan_with_trials(src, plan, measured, target, rate, attack, release, config, early)
    with temp_path(dst.parent, ".mp3") as tmp:
        renders = 0
        previous: tuple[GainPlan, Loudness] | None = None
        while True:
            renders += 1
            out = _render(src, tmp, plan, rate, bitrate, attack, release, config)
            log.debug("render %d: %s -> %s", renders, plan, out)
            nxt = correct_plan(plan, out, target_lufs=target, ceiling_dbtp=ceiling, config=config,
                               previous=previous)
            if nxt is None or nxt == plan or renders >= config.max_renders:
                break
            previous = (plan, out)
            plan = nxt
        excess = out.true_peak_dbtp - (ceiling - config.true_peak_guard_db)
        if excess > 0:
            # Out of tries and still over: scale gain and limiter down together, which
            # lowers the whole output (peak included) by exactly that much.
            drop = excess + 0.1
            plan = GainPlan(round(plan.gain_db - drop, 2),
                            None if plan.limiter_db is None else round(plan.limiter_db - drop, 2), plan.method)
            renders += 1
            out = _render(src, tmp, plan, rate, bitrate, attack, release, config)
            log.debug("safety render: %s -> %s", plan, out)
        if out.true_peak_dbtp > ceiling - config.true_peak_guard_db:
            raise NormalizationError(
                f"Không đưa được đỉnh thực xuống dưới {ceiling:g} dBTP.",
                output_true_peak_dbtp=out.true_peak_dbtp,
            )
        size = tmp.stat().st_size
        publish(tmp, dst)
    return NormalizeResult(
        input_lufs=measured.integrated_lufs,
        input_true_peak_dbtp=measured.true_peak_dbtp,
        input_lra_lu=measured.lra_lu,
        output_lufs=out.integrated_lufs,
        output_true_peak_dbtp=out.true_peak_dbtp,
        output_lra_lu=out.lra_lu,
        gain_db=plan.gain_db,
        limiter_threshold_dbtp=plan.limiter_db,
        method=plan.method,
        target_lufs=target,
        true_peak_ceiling_dbtp=ceiling,
        profile=profile.value,
        sample_rate=rate,
        bitrate_kbps=bitrate,
        duration_ms=round((out.decoded_s or checked.duration_s) * 1000),
        output_bytes=size,
        renders=renders,
    )
