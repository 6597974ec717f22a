"""A tiny Icecast-like HTTP server for stream tests: an MP3 (made by ffmpeg) sent in real time.

Each mount is a plan: how long it plays before it ends cleanly (after a whole frame), or drops (the connection
reset in the middle of a frame), and whether it still answers afterwards (so a test can have a device reconnect
to a stream that came back, or find it gone). Runs in a thread on a free loopback port, one thread per listener,
which is plenty for tests; the simulator side is what must scale.

    server = stream_server()                      # fixture: a started server, stopped at teardown
    url = server.mount("vov1", end_after_s=4)     # http://127.0.0.1:PORT/vov1.mp3
"""
from __future__ import annotations

import http.server
import socket
import struct
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.audio_fixtures import require_binary

CHUNK_S = 0.1  # pacing granularity
STALL_HOLD_S = 30.0
BURST_S = 1.0  # like Icecast's burst-on-connect: a listener starts with a second of audio at once


def make_mp3(path: Path, *, seconds: float = 10.0, bitrate_kbps: int = 64, sample_rate: int = 44100,
             channels: int = 1, layer: int = 3, tagged: bool = False) -> Path:
    """An MPEG audio file of a sine tone, by ffmpeg. Plain (the default): frames only, no ID3 tag and no Xing
    frame, so it can be looped as a stream; `tagged`: as ffmpeg writes a file, tag and Xing frame included."""
    ffmpeg = require_binary("ffmpeg")
    codec = ["-c:a", "libmp3lame", "-f", "mp3"] if layer == 3 else ["-c:a", "mp2", "-f", "mp2"]
    plain = ["-write_xing", "0", "-id3v2_version", "0"] if layer == 3 and not tagged else []
    subprocess.run(
        [ffmpeg, "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi",
         "-i", f"sine=frequency=440:sample_rate={sample_rate}:duration={seconds}",
         "-ac", str(channels), "-b:a", f"{bitrate_kbps}k", "-ar", str(sample_rate), *plain, *codec, str(path)],
        check=True, timeout=60)
    return path


def frame_offsets(data: bytes) -> list[int]:
    """Offsets of the frames in a frames-only MP3, to end a stream cleanly or cut one mid-frame."""
    from device_sim.mp3_frames import parse_header

    out, pos = [], 0
    while pos + 4 <= len(data):
        h = parse_header(data[pos], data[pos + 1], data[pos + 2], data[pos + 3])
        if h is None:
            break
        out.append(pos)
        pos += h.length
    return out


@dataclass
class Mount:
    name: str
    end_after_s: float | None = None  # end cleanly (after a whole frame) after this much audio
    drop_after_s: float | None = None  # reset the connection in the middle of a frame after this much audio
    drops: int = 1  # how many connections drop; later ones play normally
    stall: bool = False  # a drop goes silent with the connection left open, instead of a reset mid-frame
    available: bool = True  # False: answer 404, like an Icecast mount with no source
    vanish_on_drop: bool = False  # after a drop the mount is gone (404): a listener's reconnects fail
    connections: int = 0
    bytes_sent: int = 0
    dropped: int = 0


@dataclass
class StreamServer:
    audio: bytes
    bitrate_kbps: int
    host: str = "127.0.0.1"
    mounts: dict[str, Mount] = field(default_factory=dict)
    _httpd: http.server.ThreadingHTTPServer | None = None

    @property
    def port(self) -> int:
        assert self._httpd is not None
        return int(self._httpd.server_address[1])

    def url(self, name: str) -> str:
        return f"http://{self.host}:{self.port}/{name}.mp3"

    def mount(self, name: str, **plan: object) -> str:
        self.mounts[name] = Mount(name, **plan)  # type: ignore[arg-type]
        return self.url(name)

    def start(self) -> StreamServer:
        self._offsets = frame_offsets(self.audio)
        self._httpd = _Server((self.host, 0), _handler(self))
        threading.Thread(target=self._httpd.serve_forever, daemon=True, name="stream-server").start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()

    # --------------------------------------------------------------- serving

    def _frame_end_at(self, nbytes: int) -> int:
        """The first frame boundary at or after nbytes of a looped stream."""
        size = len(self.audio)
        loops, rest = divmod(nbytes, size)
        nxt = next((o for o in self._offsets if o >= rest), size)
        return loops * size + nxt

    def serve(self, mount: Mount, wfile: Callable[[bytes], object], sock: socket.socket) -> None:
        rate = self.bitrate_kbps * 1000 // 8  # bytes per second of audio
        drop = mount.drop_after_s is not None and mount.dropped < mount.drops
        limit: int | None = None
        if drop:
            assert mount.drop_after_s is not None
            limit = self._frame_end_at(int(mount.drop_after_s * rate)) + 7  # 7 bytes into the next frame
        elif mount.end_after_s is not None:
            limit = self._frame_end_at(int(mount.end_after_s * rate))
        sent, t0 = 0, time.monotonic()
        size = len(self.audio)
        while limit is None or sent < limit:
            # Real time: after the burst, no faster than the bitrate.
            allowed = int((time.monotonic() - t0 + BURST_S) * rate)
            if sent >= allowed:
                time.sleep(CHUNK_S)
                continue
            n = min(allowed - sent, int(CHUNK_S * rate) * 2, size - sent % size)
            if limit is not None:
                n = min(n, limit - sent)
            start = sent % size
            try:
                wfile(self.audio[start:start + n])
            except OSError:
                return  # the listener went away
            sent += n
            mount.bytes_sent += n
        if drop:
            mount.dropped += 1
            mount.available = not mount.vanish_on_drop
            if mount.stall:
                time.sleep(STALL_HOLD_S)  # silence on an open connection (a hung source or a dead route)
            # RST instead of FIN: a broken link, not an end of stream.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def _handler(server: StreamServer) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def do_GET(self) -> None:  # the http.server API names it
            name = self.path.lstrip("/").split("?")[0].removesuffix(".mp3")
            mount = server.mounts.get(name)
            if mount is None or not mount.available:
                self.send_error(404, "Source does not exist")
                return
            mount.connections += 1
            self.send_response(200)
            self.send_header("Content-Type", "audio/mpeg")
            self.send_header("icy-name", name)
            self.send_header("Cache-Control", "no-cache")
            self.end_headers()
            self.wfile.flush()
            server.serve(mount, self.wfile.write, self.connection)
            self.close_connection = True

        def log_message(self, *args: object) -> None:
            """Quiet: http.server would print every request to stderr."""

    return Handler


@pytest.fixture
def stream_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StreamServer]:
    """A started server streaming a 10 s, 64 kbit/s, 44.1 kHz mono tone on a loop."""
    path = make_mp3(tmp_path_factory.mktemp("stream") / "tone.mp3")
    server = StreamServer(path.read_bytes(), 64).start()
    try:
        yield server
    finally:
        server.stop()
