"""The only place that starts ffmpeg or ffprobe.

Everything streams through ffmpeg: Python never holds decoded audio, so memory
stays flat whatever the duration. stderr is read line by line and only a
bounded tail is kept.

Speed: ffmpeg 5.1 runs a whole filtergraph on one thread, and `ebur128` (about
75 ns per sample) plus LAME dominate. So the expensive parts are spread over
processes joined by OS pipes (no Python in the data path): decoding and the
loudness meter run side by side, and the MP3 is measured while it is written.
"""

from __future__ import annotations

import collections
import fcntl
import os
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import ffmpeg

from . import parsers
from .errors import ProcessingError, ToolMissingError

_TAIL_LINES = 300
_BASE = ["-nostdin", "-hide_banner", "-nostats"]
_MONO = "aformat=sample_fmts=flt:channel_layouts=mono"
# For measuring only: adenorm adds a -351 dB DC. Decoders output exact zeros in pauses, and the
# IIR states of ebur128's K-filter and of alimiter then decay into denormal floats, which x86
# computes ~100x slower: on a speech programme with pauses ebur128 ran 2-3x slower. Far below any
# resolution, so no measurement changes. Not in renders: LAME then works harder on the pauses.
_MONO_METER = _MONO + ",adenorm"
_F_SETPIPE_SZ = 1031  # Linux fcntl; not exported by Python's fcntl module before 3.10 on all builds
_PIPE_BYTES = 1 << 20  # ~6 s of 44.1 kHz float PCM: a briefly descheduled reader does not stall the writer
# Rate at which limiter trials are metered: the loudness a limiter takes is the same
# within 0.1 LU as at 44.1/48 kHz (measured on speech, pink noise, sweeps), at a quarter of the cost.
TRIAL_METER_RATE = 11025


@dataclass(frozen=True)
class RunOutput:
    returncode: int
    tail: str  # last lines of stderr
    decode_errors: int


@dataclass(frozen=True)
class MeasureOutput:
    """Input measurement: the decoder (errors, duration, true peak, trial reference), the meter
    and the limiter trials that read the same PCM."""

    decoder: RunOutput
    meter: RunOutput
    trials: tuple[RunOutput, ...] = ()
    aux_tail: str = ""  # where the true peak and the low-rate reference were printed


@dataclass(frozen=True)
class RenderOutput:
    """A render and the check that decoded its MP3 while it was being written."""

    render: RunOutput
    check: RunOutput

    @property
    def returncode(self) -> int:
        return self.render.returncode or self.check.returncode


def _binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise ToolMissingError(f"Không tìm thấy chương trình {name} trên máy chủ.", tool=name)
    return path


class _Proc:
    """A started process whose stderr is drained by a thread into a bounded tail."""

    def __init__(self, argv: list[str], stdin: int | IO[bytes] = subprocess.DEVNULL,
                 stdout: int | IO[bytes] = subprocess.DEVNULL, pass_fds: tuple[int, ...] = ()) -> None:
        self.argv0 = argv[0]
        self.proc = subprocess.Popen(argv, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE,
                                     pass_fds=pass_fds)
        self.tail: collections.deque[str] = collections.deque(maxlen=_TAIL_LINES)
        self.errors = 0
        self.reader = threading.Thread(target=self._pump, daemon=True)
        self.reader.start()

    def _pump(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace")
            if parsers.count_decode_errors([line]):
                self.errors += 1
            self.tail.append(line)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()

    def output(self) -> RunOutput:
        self.reader.join()
        return RunOutput(self.proc.returncode, "".join(self.tail), self.errors)


def _wait_all(procs: list[_Proc], timeout: float) -> list[RunOutput]:
    deadline = time.monotonic() + timeout
    try:
        for p in procs:
            p.proc.wait(timeout=max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired as exc:
        for p in procs:
            p.kill()
        for p in procs:
            p.reader.join()
        raise ProcessingError("Xử lý âm thanh quá thời gian cho phép.", argv0=procs[0].argv0) from exc
    return [p.output() for p in procs]


def _start_all(specs: list[list[str]]) -> list[_Proc]:
    """Start independent processes; if one cannot start, kill those already running."""
    procs: list[_Proc] = []
    try:
        for argv in specs:
            procs.append(_Proc(argv))
    except BaseException:
        for p in procs:
            p.kill()
        raise
    return procs


def _pipeline(first: list[str], second: list[str]) -> list[_Proc]:
    """``first | second`` joined by an OS pipe (no Python in between)."""
    head = _Proc(first, stdout=subprocess.PIPE)
    assert head.proc.stdout is not None
    try:
        fcntl.fcntl(head.proc.stdout.fileno(), getattr(fcntl, "F_SETPIPE_SZ", _F_SETPIPE_SZ), _PIPE_BYTES)
    except OSError:
        pass  # above /proc/sys/fs/pipe-max-size: the default 64 KiB still works, only slower
    try:
        tail = _Proc(second, stdin=head.proc.stdout)
    except BaseException:
        head.kill()
        raise
    head.proc.stdout.close()  # the reader owns it now: head gets EPIPE if tail dies
    return [head, tail]


def _run(argv: list[str], timeout: float) -> RunOutput:
    return _wait_all(_start_all([argv]), timeout)[0]


def _true_peak_branch(label: str, rate: int) -> str:
    """Filter chain from ``[label]`` to a sink: 4x oversampled peak (BS.1770 true peak), read by astats.

    Same figure as ebur128's true peak and an independent scipy meter (within 0.01 dB),
    at about a third of ebur128's cost."""
    return (f"[{label}]aresample={4 * rate}:filter_size=16,aformat=sample_fmts=flt,"
            f"astats=measure_perchannel=Peak_level:measure_overall=none,anullsink")


def ffprobe(path: Path, timeout: float = 60.0) -> tuple[int, str, str]:
    """Return (returncode, stdout JSON, stderr) of ffprobe on ``path``."""
    argv = [
        _binary("ffprobe"), "-v", "error", "-print_format", "json",
        "-show_format", "-show_streams", "--", str(path),
    ]
    done = subprocess.run(argv, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
    return done.returncode, done.stdout.decode("utf-8", "replace"), done.stderr.decode("utf-8", "replace")


@dataclass(frozen=True)
class TrialSpec:
    """Limiter trials to run on the decoder's PCM: one process per gain."""

    gains_db: tuple[float, ...]
    limiter_db: float
    attack_ms: float
    release_ms: float


def _limiter(limiter_db: float, attack_ms: float, release_ms: float) -> str:
    limit = min(1.0, max(0.0625, 10 ** (limiter_db / 20)))
    return f"alimiter=limit={limit:.6f}:level=false:latency=true:attack={attack_ms:g}:release={release_ms:g}"


def _trial_chain(gain_db: float, spec: TrialSpec, sample_rate: int) -> str:
    """Gain, the render's limiter at the output rate, then a loudness meter at TRIAL_METER_RATE."""
    low = min(sample_rate, TRIAL_METER_RATE)
    return (f"volume={gain_db:.3f}dB:precision=float,{_limiter(spec.limiter_db, spec.attack_ms, spec.release_ms)},"
            f"aresample={low},ebur128@trial=framelog=verbose")


def _pcm_reader(rate: int, chain: str, extras: Sequence[str] = ()) -> list[str]:
    """A process that reads mono float PCM on stdin through ``chain`` (ending in a meter), plus
    side branches ``extras`` (filter chains ending in a sink) on the same samples."""
    n = 1 + len(extras)
    graph = f"[0:a]asplit={n}[m]" + "".join(f"[x{i}]" for i in range(len(extras))) + f";[m]{chain}[out]"
    graph += "".join(f";[x{i}]{extra}" for i, extra in enumerate(extras))
    return [_binary("ffmpeg"), *_BASE, "-f", "f32le", "-ar", str(rate), "-ac", "1", "-i", "pipe:0",
            "-filter_complex", graph, "-map", "[out]", "-f", "null", "-"]


def _fan_out(decoder: list[str], outputs: list[str], readers: list[list[str]]) -> list[_Proc]:
    """Start ``decoder`` writing each of its PCM ``outputs`` (filter labels) into its own OS pipe,
    each read by one of ``readers``. Returns [decoder, *readers]."""
    started: list[_Proc] = []
    ends: list[int] = []
    try:
        writers = []
        for reader in readers:
            r, w = os.pipe()
            ends += [r, w]
            try:
                fcntl.fcntl(w, getattr(fcntl, "F_SETPIPE_SZ", _F_SETPIPE_SZ), _PIPE_BYTES)
            except OSError:
                pass  # above /proc/sys/fs/pipe-max-size: the default 64 KiB still works, only slower
            started.append(_Proc(reader, stdin=r))
            writers.append(w)
        argv = list(decoder)
        for label, w in zip(outputs, writers, strict=True):
            argv += ["-map", f"[{label}]", "-c:a", "pcm_f32le", "-f", "f32le", f"pipe:{w}"]
        head = _Proc(argv, pass_fds=tuple(writers))
    except BaseException:
        for p in started:
            p.kill()
        raise
    finally:
        for fd in ends:
            os.close(fd)  # the children hold their own copies: EOF/EPIPE work as in a shell pipe
    return [head, *started]


def measure_input(path: Path, *, sample_rate: int, trials: TrialSpec | None = None,
                  stream: str = "0:a:0", timeout: float = 3600.0) -> MeasureOutput:
    """Decode once, folded to mono at the output rate, and fan the PCM out through pipes to
    processes that share the two cores: the meter (integrated loudness, LRA) with the true peak,
    the limiter trials, the first one with the low-rate loudness (the trials' reference); without
    trials those two ride on one more process. No process is much longer than another."""
    low = min(sample_rate, TRIAL_METER_RATE)
    gains = trials.gains_db if trials else ()
    labels = ["pcm", "aux"] + [f"t{i}" for i in range(len(gains))]
    extras = [f"aresample={low},ebur128@low=framelog=verbose,anullsink",
              _true_peak_branch("", sample_rate).removeprefix("[]")]
    if trials:
        # The true peak rides on the meter, the low-rate reference on the first trial: with one
        # trial the three readers then take about the same CPU (~1.6-2.2 s per 10 min each).
        labels.remove("aux")
        readers = [_pcm_reader(sample_rate, "ebur128=framelog=verbose", [extras[1]])]
        readers += [_pcm_reader(sample_rate, _trial_chain(g, trials, sample_rate), [extras[0]] if i == 0 else [])
                    for i, g in enumerate(gains)]
    else:
        readers = [_pcm_reader(sample_rate, "ebur128=framelog=verbose"),
                   _pcm_reader(sample_rate, "anull", extras)]
    graph = (f"[{stream}]{_MONO_METER},aresample={sample_rate},asplit={len(labels)}"
             + "".join(f"[{x}]" for x in labels))
    decoder = [_binary("ffmpeg"), *_BASE, "-i", str(path), "-filter_complex", graph]
    runs = _wait_all(_fan_out(decoder, labels, readers), timeout)
    # Meter first: the low-rate summary is then read up to the end, never into the meter's own.
    aux = runs[1:] if trials else runs[2:3]
    return MeasureOutput(runs[0], runs[1], tuple(runs[2:]) if trials else (),
                         "".join(r.tail for r in aux))


def estimate(path: Path, *, seconds: float, stream: str = "0:a:0", timeout: float = 3600.0) -> RunOutput:
    """The first ``seconds`` only, metered at TRIAL_METER_RATE with a sample peak: a cheap guess."""
    graph = (f"[{stream}]{_MONO_METER},asplit=2[m][p];"
             f"[p]astats=measure_perchannel=Peak_level:measure_overall=none,anullsink;"
             f"[m]aresample={TRIAL_METER_RATE},ebur128=framelog=verbose[out]")
    argv = [_binary("ffmpeg"), *_BASE, "-t", f"{seconds:g}", "-i", str(path), "-filter_complex", graph,
            "-map", "[out]", "-f", "null", "-"]
    return _run(argv, timeout)


def measure(path: Path, *, sample_rate: int | None = None, stream: str = "0:a:0",
            true_peak: bool = True, timeout: float = 3600.0) -> RunOutput:
    """Any file as it is (rate unknown): decode, fold to mono, ebur128 with its own true peak."""
    peak = "true" if true_peak else "sample"
    rate = f"aresample={sample_rate}," if sample_rate else ""
    argv = [
        _binary("ffmpeg"), *_BASE, "-i", str(path), "-map", stream, "-vn", "-sn", "-dn",
        "-af", f"{_MONO_METER},{rate}ebur128=peak={peak}:framelog=verbose",
        "-f", "null", "-",
    ]
    return _run(argv, timeout)


def limiter_trials(path: Path, *, gains_db: list[float], limiter_db: float, sample_rate: int,
                   attack_ms: float, release_ms: float, stream: str = "0:a:0",
                   timeout: float = 3600.0) -> list[RunOutput]:
    """One process per gain, run side by side: gain, the render's limiter at the output rate,
    then a loudness meter at TRIAL_METER_RATE (no encoding). Compare with ``measure_input``'s
    low-rate reference to get what the limiter took."""
    spec = TrialSpec(tuple(gains_db), limiter_db, attack_ms, release_ms)
    specs = []
    for gain in gains_db:
        chain = f"{_MONO_METER},aresample={sample_rate},{_trial_chain(gain, spec, sample_rate)}"
        specs.append([_binary("ffmpeg"), *_BASE, "-i", str(path), "-map", stream, "-vn", "-sn", "-dn",
                      "-af", chain, "-f", "null", "-"])
    return _wait_all(_start_all(specs), timeout)


def _tee_slave(path: Path) -> str:
    """An output path for the tee muxer: absolute (no protocol guess), with its separators escaped."""
    text = "file:" + str(path.resolve())
    return re.sub(r"([\\'|\[\]])", r"\\\1", text)


def _chain3(first: list[str], second: list[str], third: list[str]) -> list[_Proc]:
    """``first | second | third`` over OS pipes (the first one widened for PCM)."""
    fds: list[int] = []
    started: list[_Proc] = []
    try:
        pcm_r, pcm_w = os.pipe()
        mp3_r, mp3_w = os.pipe()
        fds = [pcm_r, pcm_w, mp3_r, mp3_w]
        try:
            fcntl.fcntl(pcm_w, getattr(fcntl, "F_SETPIPE_SZ", _F_SETPIPE_SZ), _PIPE_BYTES)
        except OSError:
            pass  # the default 64 KiB still works, only slower
        started.append(_Proc(third, stdin=mp3_r))
        started.append(_Proc(second, stdin=pcm_r, stdout=mp3_w))
        started.append(_Proc(first, stdout=pcm_w))
    except BaseException:
        for p in started:
            p.kill()
        raise
    finally:
        for fd in fds:
            os.close(fd)
    return started[::-1]


def render_mp3(src: Path, dst: Path, *, gain_db: float, limiter_db: float | None,
               sample_rate: int, bitrate_kbps: int, lame_quality: int,
               attack_ms: float = 5.0, release_ms: float = 50.0,
               stream: str = "0:a:0", timeout: float = 3600.0) -> RenderOutput:
    """Mono, linear gain, optional limiter, explicit rate, MP3. Three processes over pipes, so
    the two cores share the work: decode + filters | LAME (the largest cost), which writes the
    MP3 to ``dst`` and, through the tee muxer, to | a check that decodes and measures it
    meanwhile (loudness, LRA, true peak)."""
    chain = [_MONO, f"volume={gain_db:.3f}dB:precision=float", f"aresample={sample_rate}"]
    if limiter_db is not None:
        # At the output rate: MP3 coding adds 1-2 dB of peak, far more than inter-sample
        # overshoot, so the caller measures the MP3's true peak and moves this threshold.
        chain.append(_limiter(limiter_db, attack_ms, release_ms))
    filters = [
        _binary("ffmpeg"), *_BASE, "-i", str(src), "-map", stream, "-vn", "-sn", "-dn",
        "-af", ",".join(chain), "-ar", str(sample_rate), "-ac", "1",
        "-c:a", "pcm_f32le", "-f", "f32le", "pipe:1",
    ]
    encoder = [
        _binary("ffmpeg"), *_BASE, "-y", "-f", "f32le", "-ar", str(sample_rate), "-ac", "1", "-i", "pipe:0",
        "-map", "0:a", "-map_metadata", "-1", "-c:a", "libmp3lame", "-b:a", f"{bitrate_kbps}k",
        "-compression_level", str(lame_quality), "-f", "tee", f"[f=mp3]{_tee_slave(dst)}|[f=mp3]pipe:1",
    ]
    graph = (f"[0:a:0]{_MONO_METER},asplit=2[m][tp];[m]ebur128=framelog=verbose[out];"
             + _true_peak_branch("tp", sample_rate))
    check = [_binary("ffmpeg"), *_BASE, "-f", "mp3", "-i", "pipe:0", "-filter_complex", graph,
             "-map", "[out]", "-f", "null", "-"]
    filtered, encoded, checked = _wait_all(_chain3(filters, encoder, check), timeout)
    return RenderOutput(filtered if filtered.returncode else encoded, checked)


def concat_to_wav(parts: list[Path], dst: Path, *, sample_rate: int,
                  timeout: float = 3600.0) -> RunOutput:
    """Join the first audio stream of each part, mono at one rate, as WAV (lossless).

    The multi-input graph is built with ffmpeg-python (labels and input indices by construction); running it
    stays ours (_run: timeout, stderr tail, clear errors)."""
    branches = {}
    for part in dict.fromkeys(parts):  # a file used twice (a chime before and after) is read once and split
        prepared = (ffmpeg.input(str(part))["a:0"]
                    .filter("aformat", sample_fmts="flt", channel_layouts="mono")
                    .filter("aresample", sample_rate))
        uses = parts.count(part)
        split = prepared.filter_multi_output("asplit", uses) if uses > 1 else None
        branches[part] = iter([split[i] for i in range(uses)] if split is not None else [prepared])
    joined = ffmpeg.concat(*(next(branches[part]) for part in parts), v=0, a=1)
    args = ffmpeg.output(joined, str(dst), ar=sample_rate, ac=1, acodec="pcm_s16le", f="wav").get_args()
    return _run([_binary("ffmpeg"), *_BASE, "-y", *args], timeout)


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
