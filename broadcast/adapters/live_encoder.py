"""The live encoder: one ffmpeg per session, Opus/WebM chunks in on stdin, a levelled MP3 out to Icecast and a
FLAC recording on disk.

Loudness control suited to speech, with little delay: dynaudnorm aims each 100 ms frame at a fixed RMS (so a
quiet phone and a loud mixer come out alike), a fixed gain lifts that to the target loudness, and alimiter keeps
the peaks under -1 dBFS. dynaudnorm at RMS 0.1 measures about -24 LUFS on speech whatever the input level; the
limiter then takes a little of the lift, so LEVELLED_LUFS is set where the output lands on the target (calibrated on
two Vietnamese espeak-ng voices through Opus/WebM at 0 and -20 dB input: -16.6 to -15.8 LUFS for a -16 target).

The MP3 comes out on ffmpeg's stdout and a thread copies it into a source connection opened before ffmpeg starts
(adapters/icecast_source.py): the mount exists while the first audio is still being encoded, so devices are already
connected when it comes instead of polling a 404.
"""
from __future__ import annotations

import contextlib
import os
import subprocess
import threading
from collections import deque
from pathlib import Path

from broadcast.adapters.icecast_source import IcecastSource, SourceRefused

LEVELLED_LUFS = -25.0
BITRATE = "64k"


class EncoderGone(Exception):
    """ffmpeg exited (Icecast refused the mount, bad input, killed)."""


def live_filter(target_lufs: float) -> str:
    gain = target_lufs - LEVELLED_LUFS
    return (f"[0:a]aresample=48000,aformat=channel_layouts=mono,highpass=f=70,"
            f"dynaudnorm=f=100:g=5:p=0.95:m=100:r=0.1:s=0,volume={gain:.2f}dB,"
            f"alimiter=limit=0.89:level=false:attack=5:release=50,asplit=2[live][rec]")


def encoder_command(recording: Path, target_lufs: float, *, ffmpeg: str = "ffmpeg",
                    input_format: str = "matroska") -> list[str]:
    """Opus/WebM on stdin; the levelled MP3 on stdout (for the Icecast source) and the FLAC recording."""
    return [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-fflags", "+nobuffer",
            "-probesize", "32768", "-analyzeduration", "0", "-f", input_format, "-i", "pipe:0",
            "-filter_complex", live_filter(target_lufs),
            "-map", "[live]", "-c:a", "libmp3lame", "-b:a", BITRATE, "-ar", "44100", "-flush_packets", "1",
            "-f", "mp3", "pipe:1",
            "-map", "[rec]", "-c:a", "flac", "-ar", "48000", "-f", "flac", str(recording)]


class FfmpegLiveEncoder:
    def __init__(self, source_url: str, recording: Path, target_lufs: float, *, ffmpeg: str = "ffmpeg",
                 input_format: str = "matroska"):
        self.command = encoder_command(recording, target_lufs, ffmpeg=ffmpeg, input_format=input_format)
        self.source = IcecastSource(source_url)
        self.recording = recording
        self.proc: subprocess.Popen[bytes] | None = None
        self._errors: deque[str] = deque(maxlen=20)
        self._lock = threading.Lock()
        self._copier: threading.Thread | None = None

    def start(self) -> None:
        """The mount first, then ffmpeg. A refused mount does not raise: the encoder is then not `alive`, and the
        session ends as encoder_failed like for any other death of the encoder."""
        self.recording.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            self.source.open()
        except SourceRefused as exc:
            self._errors.append(str(exc))
            return
        self.proc = subprocess.Popen(self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, start_new_session=True)
        threading.Thread(target=self._drain_errors, name="live-encoder-log", daemon=True).start()
        self._copier = threading.Thread(target=self._copy_to_icecast, name="live-encoder-icecast", daemon=True)
        self._copier.start()

    def _copy_to_icecast(self) -> None:
        """ffmpeg's MP3 into the mount as it comes; the mount goes when ffmpeg's output ends. Icecast dropping the
        source ends ffmpeg too, so the session sees a dead encoder."""
        assert self.proc is not None and self.proc.stdout is not None
        out = self.proc.stdout.fileno()
        try:
            while chunk := os.read(out, 65536):  # what is there, as soon as it is there
                self.source.write(chunk)
        except OSError as exc:
            self._errors.append(f"Icecast: {exc}")
            self.kill()
        finally:
            self.source.close()

    def _drain_errors(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        for line in self.proc.stderr:
            self._errors.append(line.decode(errors="replace").rstrip())

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def error_tail(self) -> str:
        return " | ".join(self._errors)[-500:]

    def feed(self, data: bytes) -> None:
        with self._lock:
            if not self.alive or self.proc is None or self.proc.stdin is None:
                raise EncoderGone(self.error_tail() or "ffmpeg đã dừng")
            try:
                self.proc.stdin.write(data)
                self.proc.stdin.flush()
            except (BrokenPipeError, ValueError, OSError) as exc:
                raise EncoderGone(self.error_tail() or str(exc)) from exc

    def finish(self, timeout: float = 10.0) -> int | None:
        """End of input: ffmpeg flushes, closes the mount and the recording; killed if it does not exit in time."""
        if self.proc is None:
            self.source.close()
            return None
        with self._lock:
            if self.proc.stdin is not None and not self.proc.stdin.closed:
                with contextlib.suppress(OSError):  # ffmpeg already gone: nothing left to flush
                    self.proc.stdin.close()
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            code = self.proc.returncode
        if self._copier is not None:
            self._copier.join(timeout)  # the last bytes reach the mount, then it closes
        return code

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        if self.proc is None:
            self.source.close()
