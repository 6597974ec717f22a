"""Generated audio for the audio library's tests and benchmark.

Everything is made by ffmpeg lavfi sources or espeak-ng, at a requested
loudness, so no binary fixtures are checked in. Also an independent
loudness meter (pyloudnorm's K-weighting and gating, fed in chunks so a
60-minute file does not need gigabytes) and a true-peak meter (scipy 4x
polyphase oversampling).
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tests.support import required

# Output options per format the library must accept.
FORMATS: dict[str, list[str]] = {
    "mp3": ["-c:a", "libmp3lame", "-b:a", "128k"],
    "wav": ["-c:a", "pcm_s16le"],
    "ogg": ["-c:a", "libvorbis", "-q:a", "4"],
    "opus": ["-c:a", "libopus", "-b:a", "64k"],
    "flac": ["-c:a", "flac"],
    "m4a": ["-c:a", "aac", "-b:a", "128k"],
}


def require_binary(name: str) -> str:
    """Path of ``name``; fail under CI=true, skip elsewhere, when it is missing."""
    path = shutil.which(name)
    if path is None:
        required.missing(name, "not installed")
    return path


def _source(kind: str, seconds: float, rate: int) -> str:
    """A lavfi filtergraph (mono) for one kind of test signal."""
    if kind == "pink":
        return f"anoisesrc=color=pink:sample_rate={rate}:amplitude=0.5:duration={seconds}:seed=7"
    if kind == "sweep":
        # Log-ish chirp 100 Hz -> 0.4*rate over the whole duration.
        f1 = min(8000.0, 0.4 * rate)
        return (f"aevalsrc='0.5*sin(2*PI*(100*t+({f1}-100)/(2*{seconds})*t*t))'"
                f":s={rate}:d={seconds}")
    if kind == "speechlike":
        # Pink noise in the voice band, chopped into 4 Hz syllables and phrases with pauses.
        env = "(0.5-0.5*cos(2*PI*4*t))*(0.6+0.4*sin(2*PI*0.7*t))*gt(sin(2*PI*0.23*t)\\,-0.4)"
        return (f"anoisesrc=color=pink:sample_rate={rate}:amplitude=0.8:duration={seconds}:seed=3,"
                f"highpass=f=150,lowpass=f=4000[n];"
                f"aevalsrc='{env}':s={rate}:d={seconds}[e];[n][e]amultiply")
    raise ValueError(kind)


def generate(path: Path, *, kind: str = "pink", seconds: float = 10.0, rate: int = 44100,
             channels: int = 1, lufs: float | None = -23.0, video: bool = False) -> Path:
    """Write a test file; its format follows the extension (.mp3, .wav, .ogg, .opus, .flac, .m4a, .mp4)."""
    ext = path.suffix.lstrip(".")
    graph = _source(kind, seconds, rate)
    if channels == 2:
        graph += ",asplit[l][r];[l][r]join=inputs=2:channel_layout=stereo"
    graph += "[a]"
    argv = ["ffmpeg", "-nostdin", "-v", "error", "-y", "-filter_complex", graph]
    if video:
        argv += ["-f", "lavfi", "-i", f"testsrc=size=160x120:rate=10:duration={seconds}"]
    argv += ["-map", "[a]"]
    if video:
        argv += ["-map", "0:v", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                 "-c:a", "aac", "-b:a", "128k", "-shortest"]
    else:
        argv += FORMATS[ext] if ext in FORMATS else []
    if lufs is not None:
        tmp = path.with_name(path.stem + ".raw.wav")
        subprocess.run(argv[:6] + [graph, "-map", "[a]", "-c:a", "pcm_f32le", str(tmp)], check=True)
        measured = ffmpeg_lufs(tmp)
        gain = lufs - measured
        argv = ["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(tmp)]
        if video:
            argv += ["-f", "lavfi", "-i", f"testsrc=size=160x120:rate=10:duration={seconds}",
                     "-map", "0:a", "-map", "1:v", "-c:v", "libx264", "-preset", "ultrafast",
                     "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k", "-shortest"]
        else:
            argv += FORMATS.get(ext, [])
        argv += ["-af", f"volume={gain:.3f}dB", str(path)]
        subprocess.run(argv, check=True)
        tmp.unlink()
    else:
        subprocess.run(argv + [str(path)], check=True)
    return path


def ffmpeg_lufs(path: Path) -> float:
    """Integrated loudness by ffmpeg's ebur128 (as the file is, channels summed)."""
    done = subprocess.run(
        ["ffmpeg", "-nostdin", "-hide_banner", "-nostats", "-i", str(path), "-af",
         "ebur128=framelog=verbose", "-f", "null", "-"], capture_output=True, text=True, check=True)
    block = done.stderr[done.stderr.rfind("Summary:"):]
    line = next(x for x in block.splitlines() if x.strip().startswith("I:"))
    return float(line.split()[1])


def espeak_wav(path: Path, text: str, voice: str = "vi") -> Path:
    subprocess.run(["espeak-ng", "-v", voice, "-w", str(path), text], check=True)
    return path


@dataclass(frozen=True)
class Meter:
    lufs: float
    true_peak_dbtp: float
    seconds: float


def independent_meter(path: Path, chunk_s: float = 20.0) -> Meter:
    """BS.1770-4 integrated loudness (pyloudnorm filters, streamed) and 4x true peak (scipy).

    ffmpeg only decodes to float PCM here; all measuring is numpy/scipy.
    """
    import pyloudnorm
    from scipy import signal

    rate = int(subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "a:0", "-show_entries", "stream=sample_rate",
         "-of", "csv=p=0", str(path)], capture_output=True, text=True, check=True).stdout.strip())
    meter = pyloudnorm.Meter(rate)
    stages = [(f.b, f.a) for f in meter._filters.values()]
    states = [signal.lfilter_zi(b, a) * 0.0 for b, a in stages]
    hop = int(round(0.1 * rate))  # 100 ms steps; a 400 ms block is 4 of them
    proc = subprocess.Popen(
        ["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-map", "0:a:0", "-ac", "1",
         "-f", "f32le", "-acodec", "pcm_f32le", "-"], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    step_energy: list[float] = []
    leftover = np.zeros(0)
    history = np.zeros(0)  # context for the oversampling filter across chunks
    peak = 0.0
    total = 0
    ctx = 64
    while True:
        raw = proc.stdout.read(int(chunk_s * rate) * 4)
        if not raw:
            break
        x = np.frombuffer(raw, dtype="<f4").astype(np.float64)
        total += len(x)
        # True peak with context on both sides of each chunk edge.
        joined = np.concatenate([history, x])
        up = signal.resample_poly(joined, 4, 1)
        start = 4 * len(history) - 4 * ctx if len(history) else 0
        peak = max(peak, float(np.max(np.abs(up[max(0, start):]))))
        history = joined[-2 * ctx:]
        y = x
        for i, (b, a) in enumerate(stages):
            y, states[i] = signal.lfilter(b, a, y, zi=states[i])
        y = np.concatenate([leftover, y])
        n = len(y) // hop
        if n:
            step_energy.extend(np.mean(y[: n * hop].reshape(n, hop) ** 2, axis=1).tolist())
        leftover = y[n * hop:]
    proc.wait()
    steps = np.asarray(step_energy)
    blocks = np.convolve(steps, np.ones(4) / 4, mode="valid") if len(steps) >= 4 else np.zeros(0)
    lufs = float("-inf")
    if len(blocks):
        with np.errstate(divide="ignore"):
            loud = -0.691 + 10 * np.log10(blocks)
        gated = blocks[loud >= -70]
        if len(gated):
            rel = -0.691 + 10 * np.log10(np.mean(gated)) - 10
            final = blocks[(loud >= -70) & (loud >= rel)]
            lufs = float(-0.691 + 10 * np.log10(np.mean(final)))
    tp = 20 * np.log10(peak) if peak > 0 else float("-inf")
    return Meter(lufs=lufs, true_peak_dbtp=float(tp), seconds=total / rate)
