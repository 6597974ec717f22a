"""The only place that starts ffmpeg or ffprobe.

Everything streams through ffmpeg: Python never holds decoded audio, so memory
stays flat whatever the duration. stderr is read line by line and only a
bounded tail is kept.
"""

from __future__ import annotations

import collections
import shutil
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

from . import parsers
from .errors import ProcessingError, ToolMissingError

_TAIL_LINES = 300
_BASE = ["-nostdin", "-hide_banner", "-nostats"]


@dataclass(frozen=True)
class RunOutput:
    returncode: int
    tail: str  # last lines of stderr
    decode_errors: int


def _binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise ToolMissingError(f"Không tìm thấy chương trình {name} trên máy chủ.", tool=name)
    return path


def _run(argv: list[str], timeout: float) -> RunOutput:
    proc = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    tail: collections.deque[str] = collections.deque(maxlen=_TAIL_LINES)
    errors = 0

    def pump() -> None:
        nonlocal errors
        assert proc.stderr is not None
        for raw in proc.stderr:
            line = raw.decode("utf-8", "replace")
            if parsers.count_decode_errors([line]):
                errors += 1
            tail.append(line)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        reader.join()
        raise ProcessingError("Xử lý âm thanh quá thời gian cho phép.", argv0=argv[0])
    reader.join()
    return RunOutput(proc.returncode, "".join(tail), errors)


def ffprobe(path: Path, timeout: float = 60.0) -> tuple[int, str, str]:
    """Return (returncode, stdout JSON, stderr) of ffprobe on ``path``."""
    argv = [
        _binary("ffprobe"), "-v", "error", "-print_format", "json",
        "-show_format", "-show_streams", "--", str(path),
    ]
    done = subprocess.run(argv, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
    return done.returncode, done.stdout.decode("utf-8", "replace"), done.stderr.decode("utf-8", "replace")


def measure(path: Path, *, sample_rate: int | None = None, stream: str = "0:a:0",
            true_peak: bool = True, timeout: float = 3600.0) -> RunOutput:
    """Decode everything, fold to mono at the output rate (what we output), run ebur128."""
    peak = "true" if true_peak else "sample"
    rate = f"aresample={sample_rate}," if sample_rate else ""
    argv = [
        _binary("ffmpeg"), *_BASE, "-i", str(path), "-map", stream, "-vn", "-sn", "-dn",
        "-af", f"aformat=sample_fmts=flt:channel_layouts=mono,{rate}ebur128=peak={peak}:framelog=verbose",
        "-f", "null", "-",
    ]
    return _run(argv, timeout)


def limiter_trials(path: Path, *, gains_db: list[float], limiter_db: float, sample_rate: int,
                   attack_ms: float, release_ms: float, stream: str = "0:a:0",
                   timeout: float = 3600.0) -> RunOutput:
    """One decode, several gain+limiter branches, each measured by a named ebur128 (no encoding)."""
    limit = min(1.0, max(0.0625, 10 ** (limiter_db / 20)))
    n = len(gains_db)
    graph = (f"[{stream}]aformat=sample_fmts=flt:channel_layouts=mono,aresample={sample_rate},"
             f"asplit={n}" + "".join(f"[s{i}]" for i in range(n)) + ";")
    for i, gain in enumerate(gains_db):
        graph += (f"[s{i}]volume={gain:.3f}dB:precision=float,alimiter=limit={limit:.6f}:level=false:"
                  f"latency=true:attack={attack_ms:g}:release={release_ms:g},"
                  f"ebur128@t{i}=peak=sample:framelog=verbose[o{i}];")
    argv = [_binary("ffmpeg"), *_BASE, "-i", str(path), "-filter_complex", graph.rstrip(";")]
    for i in range(n):
        argv += ["-map", f"[o{i}]", "-f", "null", "-"]
    return _run(argv, timeout)


def render_mp3(src: Path, dst: Path, *, gain_db: float, limiter_db: float | None,
               sample_rate: int, bitrate_kbps: int, lame_quality: int,
               attack_ms: float = 5.0, release_ms: float = 50.0,
               stream: str = "0:a:0", timeout: float = 3600.0) -> RunOutput:
    """One pass: mono, linear gain, optional true-peak limiter, explicit rate, MP3."""
    chain = ["aformat=sample_fmts=flt:channel_layouts=mono", f"volume={gain_db:.3f}dB:precision=float"]
    chain.append(f"aresample={sample_rate}")
    if limiter_db is not None:
        # At the output rate: MP3 coding adds 1-2 dB of peak, far more than inter-sample
        # overshoot, so the caller measures the MP3's true peak and moves this threshold.
        limit = min(1.0, max(0.0625, 10 ** (limiter_db / 20)))
        chain.append(
            f"alimiter=limit={limit:.6f}:level=false:latency=true:attack={attack_ms:g}:release={release_ms:g}"
        )
    argv = [
        _binary("ffmpeg"), *_BASE, "-y", "-i", str(src), "-map", stream, "-vn", "-sn", "-dn",
        "-map_metadata", "-1", "-af", ",".join(chain), "-ar", str(sample_rate), "-ac", "1",
        "-c:a", "libmp3lame", "-b:a", f"{bitrate_kbps}k", "-compression_level", str(lame_quality),
        "-f", "mp3", str(dst),
    ]
    return _run(argv, timeout)


def concat_to_wav(parts: list[Path], dst: Path, *, sample_rate: int,
                  timeout: float = 3600.0) -> RunOutput:
    """Join the first audio stream of each part, mono at one rate, as WAV (lossless)."""
    argv = [_binary("ffmpeg"), *_BASE, "-y"]
    for part in parts:
        argv += ["-i", str(part)]
    prep = "".join(
        f"[{i}:a:0]aformat=sample_fmts=flt:channel_layouts=mono,aresample={sample_rate}[p{i}];"
        for i in range(len(parts))
    )
    joined = "".join(f"[p{i}]" for i in range(len(parts)))
    graph = f"{prep}{joined}concat=n={len(parts)}:v=0:a=1[out]"
    argv += ["-filter_complex", graph, "-map", "[out]", "-ar", str(sample_rate), "-ac", "1",
             "-c:a", "pcm_s16le", "-f", "wav", str(dst)]
    return _run(argv, timeout)


def silencedetect(path: Path, *, noise_db: float, min_silence_s: float,
                  stream: str = "0:a:0", timeout: float = 3600.0) -> tuple[RunOutput, str]:
    """Run silencedetect; returns the run and its silence lines (few, kept in full)."""
    argv = [
        _binary("ffmpeg"), *_BASE, "-i", str(path), "-map", stream, "-vn", "-sn", "-dn",
        "-af", f"aformat=channel_layouts=mono,silencedetect=noise={noise_db}dB:d={min_silence_s}",
        "-f", "null", "-",
    ]
    lines: list[str] = []
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    tail: collections.deque[str] = collections.deque(maxlen=_TAIL_LINES)
    assert proc.stderr is not None
    try:
        for raw in proc.stderr:
            line = raw.decode("utf-8", "replace")
            if "silence_" in line:
                lines.append(line)
            tail.append(line)
        proc.wait(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return RunOutput(proc.returncode, "".join(tail), 0), "".join(lines)
