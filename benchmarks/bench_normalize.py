"""LoaXa normalization vs ffmpeg-normalize on the same 10-minute programme.

Run:  .venv/bin/python benchmarks/bench_normalize.py [--minutes 10]
Prints each wall time, the ratio, each output's loudness error (independent
meter: pyloudnorm filters + scipy true peak), and peak RSS of our process and
of its ffmpeg children. Both produce mono 44.1 kHz MP3 at 64 kbit/s, -16 LUFS,
-1.5 dBTP.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from audio_library import normalize  # noqa: E402
from tests.support.audio_fixtures import espeak_wav, generate, independent_meter  # noqa: E402

TARGET, CEILING = -16.0, -1.5
TEXT = ("Kính thưa bà con, Ủy ban nhân dân xã thông báo lịch tiêm phòng cho trẻ em và kế hoạch "
        "phòng chống lụt bão. Đề nghị các hộ gia đình chuẩn bị lương thực, nước uống, thuốc men. ")


def make_programme(work: Path, minutes: float) -> Path:
    """Speech (espeak-ng) alternating with music-like pink-noise beds, stereo MP3, ~-23 LUFS."""
    voice = espeak_wav(work / "voice.wav", TEXT * 3)
    speech = work / "speech.wav"  # the concat demuxer needs one format: espeak writes 22.05 kHz
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(voice), "-ar", "44100", "-ac", "1",
                    "-c:a", "pcm_s16le", str(speech)], check=True)
    bed = generate(work / "bed.wav", kind="speechlike", seconds=20, rate=44100, channels=1, lufs=-28)
    listing = work / "list.txt"
    # Enough pairs written out: with mixed rates, -stream_loop on the concat demuxer stopped at ~7 min.
    pairs = int(minutes * 60 // 40) + 2
    listing.write_text("".join(f"file '{p}'\n" for _ in range(pairs) for p in (speech, bed)))
    out = work / "programme.mp3"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "concat", "-safe", "0",
         "-i", str(listing), "-t", str(minutes * 60), "-af", "aresample=44100,volume=-4dB",
         "-ac", "2", "-c:a", "libmp3lame", "-b:a", "128k", str(out)], check=True)
    return out


def _cpu() -> float:
    """CPU seconds used so far by this process and its finished children (load-independent-ish)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def run_ours(src: Path, dst: Path):
    start, cpu = time.perf_counter(), _cpu()
    result = normalize(src, dst, target_lufs=TARGET, true_peak=CEILING, profile="speech")
    return time.perf_counter() - start, _cpu() - cpu, result


def run_reference(src: Path, dst: Path) -> tuple[float, float]:
    exe = shutil.which("ffmpeg-normalize") or str(Path(sys.executable).parent / "ffmpeg-normalize")
    start, cpu = time.perf_counter(), _cpu()
    subprocess.run([exe, str(src), "-o", str(dst), "-f", "-nt", "ebu", "-t", str(TARGET), "-tp", str(CEILING),
                    "-ar", "44100", "-ac", "1", "-c:a", "libmp3lame", "-b:a", "64k", "-q"], check=True)
    return time.perf_counter() - start, _cpu() - cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=10.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        src = make_programme(work, args.minutes)
        load_before = " ".join(f"{x:.1f}" for x in os.getloadavg())
        seconds = float(subprocess.run(
            ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(src)],
            capture_output=True, text=True, check=True).stdout)
        before_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        before_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        ours_s, ours_cpu, result = run_ours(src, work / "ours.mp3")
        ours_children_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        self_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        ref_s, ref_cpu = run_reference(src, work / "ref.mp3")
        ours = independent_meter(work / "ours.mp3")
        ref = independent_meter(work / "ref.mp3")
    print(f"programme: {seconds / 60:.1f} min speech + beds, stereo MP3 128k -> mono MP3 64k, "
          f"target {TARGET} LUFS / {CEILING} dBTP; load average before: {load_before}")
    print(f"{'':18}{'wall s':>9}{'cpu s':>8}{'LUFS':>9}{'error LU':>10}{'TP dBTP':>9}")
    for name, wall, cpu, m in (("loaxa", ours_s, ours_cpu, ours), ("ffmpeg-normalize", ref_s, ref_cpu, ref)):
        print(f"{name:18}{wall:9.2f}{cpu:8.2f}{m.lufs:9.2f}{m.lufs - TARGET:10.2f}{m.true_peak_dbtp:9.2f}")
    print(f"loaxa: {result.renders} render(s), method {result.method}, gain {result.gain_db:+.2f} dB, "
          f"limiter {result.limiter_threshold_dbtp} dBTP")
    print(f"speed ratio (ffmpeg-normalize / loaxa): {ref_s / ours_s:.2f}x wall, {ref_cpu / ours_cpu:.2f}x cpu")
    print(f"peak RSS: python process {self_kb / 1024:.0f} MB after normalize (before: {before_self / 1024:.0f} MB), "
          f"largest child {ours_children_kb / 1024:.0f} MB (before: {before_children / 1024:.0f} MB; a child "
          f"counts the parent's RSS at fork)")


if __name__ == "__main__":
    main()
