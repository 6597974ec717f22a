"""A simulated device listening to a live HTTP stream (protocol section 9.3), on the fleet's asyncio loop.

One task per listening device and no thread: a plain HTTP/1.0 GET over asyncio streams (what an Icecast client
sends), the body fed to the MP3 frame reader. Thousands of devices may listen at once, so no connection pool
stands in the way (httpx's would queue them) and nothing but counters is kept per device.

How a stream finishes:
- the first decoded audio (SYNC_FRAMES chained frames) calls `on_audio`;
- a clean end (the server closes after a whole frame) calls `on_end("ended")`;
- no audio within `unreachable_s` of the start calls `on_end("stream_unreachable")`;
- a drop (a reset, a cut frame, `stall_s` without a new frame) is retried, once a second, for `lost_s` from the
  drop; then `on_end("stream_lost")`.
The owner cancels the task (`close`) for `stop`, `end` or pre-emption; no callback follows then.
"""
from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

from device_sim.mp3_frames import Mp3FrameReader

UNREACHABLE_S = 10.0  # spec 9.3: no audio within 10 s -> failed stream_unreachable
LOST_S = 30.0  # spec 9.3: reconnect for up to 30 s after a drop -> failed stream_lost
STALL_S = 5.0  # no byte for this long on an open connection counts as a drop
RETRY_S = 1.0  # pause between reconnect attempts
READ_SIZE = 16384
MAX_HEADER_BYTES = 16384


class StreamDrop(Exception):
    """The connection failed or broke; worth a reconnect."""


@dataclass
class StreamStats:
    """What one device received from streams, summed over its plays."""

    bytes: int = 0
    frames: int = 0
    audio_s: float = 0.0
    connects: int = 0
    drops: int = 0
    streams: int = 0
    first_audio_s: float | None = None  # seconds from the last stream's start to its first decoded audio

    def add(self, other: StreamStats) -> None:
        self.bytes += other.bytes
        self.frames += other.frames
        self.audio_s += other.audio_s
        self.connects += other.connects
        self.drops += other.drops
        self.streams += other.streams
        if other.first_audio_s is not None:
            self.first_audio_s = other.first_audio_s


@dataclass(frozen=True)
class StreamOptions:
    # Off: a stream item "plays" at once without a connection, as the simulator did before section 9.3 was
    # implemented; many scenario tests use placeholder URLs (http://127.0.0.1:9/...) and rely on that.
    listen: bool = False
    unreachable_s: float = UNREACHABLE_S
    lost_s: float = LOST_S
    stall_s: float = STALL_S
    capture_dir: Path | None = None  # each play's first `capture_s` of verified frames go to a file there
    capture_s: float = 10.0


async def _open(url: str, timeout: float) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """GET url; return the connection positioned at the body of a 200 answer, else raise StreamDrop."""
    for _ in range(3):  # an Icecast relay may redirect once or twice
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise StreamDrop(f"bad_url {url!r}")
        tls = parts.scheme == "https"
        port = parts.port or (443 if tls else 80)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(
                parts.hostname, port, ssl=ssl.create_default_context() if tls else None,
                limit=MAX_HEADER_BYTES), timeout)
            writer.write(f"GET {path} HTTP/1.0\r\nHost: {parts.netloc}\r\nUser-Agent: loaxa-sim\r\n"
                         "Icy-MetaData: 0\r\nAccept: */*\r\n\r\n".encode("latin-1"))
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
        except (OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
            with contextlib.suppress(UnboundLocalError):
                writer.close()
            raise StreamDrop(type(exc).__name__) from None
        lines = head.decode("latin-1").split("\r\n")
        status = lines[0].split(" ", 2)
        code = int(status[1]) if len(status) > 1 and status[1].isdigit() else 0
        if code == 200:
            return reader, writer
        writer.close()
        location = next((ln.split(":", 1)[1].strip() for ln in lines[1:] if ln.lower().startswith("location:")),
                        None)
        if code in (301, 302, 303, 307, 308) and location:
            url = location
            continue
        raise StreamDrop(f"http_{code}")
    raise StreamDrop("too_many_redirects")


class StreamPlayer:
    """Plays one stream for one device; see the module docstring for its callbacks."""

    def __init__(self, url: str, options: StreamOptions, *, on_audio: Callable[[], None],
                 on_end: Callable[[str], None], capture_name: str | None = None) -> None:
        self.url = url
        self.options = options
        self._on_audio = on_audio
        self._on_end = on_end
        self.stats = StreamStats(streams=1)
        self._capture_path = (options.capture_dir / f"{capture_name}.mp3"
                              if options.capture_dir is not None and capture_name else None)
        self._capture_left = options.capture_s
        self._task: asyncio.Task[None] | None = None
        self.audible = False
        self._deadline = 0.0

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    def close(self) -> None:
        """Stop listening at once (stop, end, pre-emption); no callback follows."""
        # Called from its own on_end callback too: the task is finishing then, nothing to cancel.
        if self._task is not None and not self._task.done() and self._task is not asyncio.current_task():
            self._task.cancel()

    @property
    def task(self) -> asyncio.Task[None] | None:
        return self._task

    async def _run(self) -> None:
        started = time.monotonic()
        self._deadline = started + self.options.unreachable_s  # until when a wait for (more) audio may last
        fh = None
        try:
            if self._capture_path is not None:
                self._capture_path.parent.mkdir(parents=True, exist_ok=True)
                fh = open(self._capture_path, "wb")  # noqa: SIM115  (closed in finally, across awaits)
            while True:
                reader = Mp3FrameReader(keep=fh is not None)  # a reconnect starts a fresh frame sync
                connects = self.stats.connects
                try:
                    ended = await self._listen(reader, fh, started)
                except StreamDrop:
                    ended = False
                    if self.stats.connects > connects:  # an open connection broke (not a failed reconnect)
                        self.stats.drops += 1
                        if reader.frames:  # it had sounded: the reconnect window starts now
                            self._deadline = time.monotonic() + self.options.lost_s
                if ended:
                    self._on_end("ended")
                    return
                pause = min(RETRY_S, self._deadline - time.monotonic())
                if pause > 0:
                    await asyncio.sleep(pause)
                if time.monotonic() >= self._deadline:
                    self._on_end("stream_lost" if self.audible else "stream_unreachable")
                    return
        finally:
            if fh is not None:
                fh.close()

    async def _listen(self, reader: Mp3FrameReader, fh: IO[bytes] | None, started: float) -> bool:
        """One connection: True on a clean end of stream; StreamDrop when it broke or gave no audio in time."""
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise StreamDrop("deadline")
        conn, writer = await _open(self.url, remaining)
        self.stats.connects += 1
        last_frame = 0.0
        try:
            while True:
                # Before audio the wait is bounded by the deadline; once audio flows, stall_s without a new
                # frame (silence, or bytes that are no audio) is a drop.
                now = time.monotonic()
                wait = last_frame + self.options.stall_s - now if reader.frames else self._deadline - now
                if wait <= 0:
                    raise StreamDrop("no_audio")
                try:
                    async with asyncio.timeout(wait):  # no task per read, unlike wait_for (3.11)
                        data = await conn.read(READ_SIZE)
                except TimeoutError:
                    raise StreamDrop("stall") from None
                except OSError as exc:
                    raise StreamDrop(type(exc).__name__) from None
                if not data:
                    # A clean end closes after a whole frame; bytes left over mean the stream was cut.
                    if reader.decoded and not reader.pending_bytes:
                        return True
                    raise StreamDrop("cut")
                frames_before, audio_before = reader.frames, reader.audio_s
                kept = reader.feed(data)
                self.stats.bytes += len(data)  # counted as it comes, so a fleet summary shows audio flowing
                self.stats.frames += reader.frames - frames_before
                self.stats.audio_s += reader.audio_s - audio_before
                if kept and fh is not None and self._capture_left > 0:
                    fh.write(kept)
                    self._capture_left -= reader.audio_s - audio_before
                if reader.frames > frames_before:
                    last_frame = time.monotonic()
                    if not self.audible:
                        self.audible = True
                        self.stats.first_audio_s = time.monotonic() - started
                        self._on_audio()
        finally:
            writer.close()
