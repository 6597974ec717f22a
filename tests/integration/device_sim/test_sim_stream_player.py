"""The simulator's stream player (protocol section 9.3) against a real HTTP stream of real MP3 frames."""
from __future__ import annotations

import asyncio
import json
import subprocess
import time

import pytest

from device_sim.stream_player import StreamOptions, StreamPlayer
from tests.support.audio_fixtures import require_binary
from tests.support.http_servers import closed_port, silent_port
from tests.support.stream_server import StreamServer

pytestmark = pytest.mark.integration

FAST = StreamOptions(listen=True, unreachable_s=1.5, lost_s=2.0, stall_s=1.0)


def play(url: str, options: StreamOptions = FAST, *, stop_after_s: float | None = None, timeout: float = 20.0,
         capture_name: str | None = None) -> tuple[list[tuple[str, float]], StreamPlayer]:
    """Run one player to its end (or stop it); the events it reported, with seconds since the start."""

    async def main() -> tuple[list[tuple[str, float]], StreamPlayer]:
        events: list[tuple[str, float]] = []
        done = asyncio.Event()
        t0 = time.monotonic()

        def on_end(outcome: str) -> None:
            events.append((outcome, time.monotonic() - t0))
            done.set()

        player = StreamPlayer(url, options, on_audio=lambda: events.append(("audio", time.monotonic() - t0)),
                              on_end=on_end, capture_name=capture_name)
        player.start()
        try:
            await asyncio.wait_for(done.wait(), stop_after_s if stop_after_s is not None else timeout)
        except TimeoutError:
            if stop_after_s is None:
                raise
            player.close()
            await asyncio.sleep(0.1)
        return events, player

    return asyncio.run(main())


def test_clean_end_reports_audio_then_ended_with_the_audio_counted(stream_server):
    url = stream_server.mount("vov1", end_after_s=3.0)
    events, player = play(url)
    assert [e for e, _ in events] == ["audio", "ended"]
    assert events[0][1] < 1.0, "the first audio comes with the server's burst"
    # 3 s of 64 kbit/s audio, cut at a frame boundary, all of it verified frames.
    assert player.stats.audio_s == pytest.approx(3.0, abs=0.03)
    assert player.stats.frames == round(player.stats.audio_s / (1152 / 44100))
    assert player.stats.bytes == stream_server.mounts["vov1"].bytes_sent
    assert (player.stats.connects, player.stats.drops) == (1, 0)
    assert events[1][1] >= 3.0 - 1.0 - 0.2, "real time: the burst is a second ahead at most"


@pytest.mark.parametrize("where", ["404", "refused", "silent"])
def test_no_audio_in_time_is_stream_unreachable(stream_server, where):
    held = None
    if where == "404":
        url = stream_server.mount("off", available=False)
    elif where == "refused":
        url = f"http://127.0.0.1:{closed_port()}/vov1.mp3"
    else:
        held, port = silent_port()
        url = f"http://127.0.0.1:{port}/vov1.mp3"
    try:
        events, player = play(url)
    finally:
        if held is not None:
            held.close()
    assert [e for e, _ in events] == ["stream_unreachable"]
    assert FAST.unreachable_s - 0.1 <= events[0][1] <= FAST.unreachable_s + 1.0
    assert player.stats.frames == 0 and not player.audible


def test_garbage_served_as_a_stream_is_unreachable():
    server = StreamServer(bytes(range(256)) * 400, 64).start()  # a "stream" of no MP3 at all
    try:
        events, player = play(server.mount("junk"))
    finally:
        server.stop()
    assert [e for e, _ in events] == ["stream_unreachable"]
    assert player.stats.bytes > 0 and player.stats.frames == 0


def test_a_drop_is_reconnected_and_playing_goes_on(stream_server):
    url = stream_server.mount("flaky", drop_after_s=1.5, drops=1, end_after_s=2.0)
    events, player = play(url)
    assert [e for e, _ in events] == ["audio", "ended"], "one playing, no failure: the drop was bridged"
    assert (player.stats.connects, player.stats.drops) == (2, 1)
    assert stream_server.mounts["flaky"].connections == 2
    assert player.stats.audio_s == pytest.approx(1.5 + 2.0, abs=0.1)


def test_a_drop_that_does_not_come_back_is_stream_lost_after_the_reconnect_window(stream_server):
    url = stream_server.mount("gone", drop_after_s=1.0, vanish_on_drop=True)
    events, player = play(url)
    assert [e for e, _ in events] == ["audio", "stream_lost"]
    # Lost once lost_s passed without audio (the drop comes ~1 s of real time after the burst began).
    assert events[1][1] - events[0][1] >= FAST.lost_s
    assert player.stats.drops == 1 and player.stats.connects == 1
    assert stream_server.mounts["gone"].connections == 1  # the reconnects were answered 404


def test_a_stall_counts_as_a_drop(stream_server):
    # Audio first, then silence on a connection left open: the device must not wait forever.
    url = stream_server.mount("stall", drop_after_s=1.0, stall=True, vanish_on_drop=True)
    events, player = play(url)
    assert [e for e, _ in events] == ["audio", "stream_lost"]
    assert events[1][1] - events[0][1] >= FAST.stall_s + FAST.lost_s - 1.0
    assert player.stats.drops == 1


def test_close_stops_listening_without_a_callback(stream_server):
    url = stream_server.mount("long")
    events, player = play(url, stop_after_s=1.5)
    assert [e for e, _ in events] == ["audio"]
    assert player.task is not None and player.task.done()
    assert player.stats.frames > 0


def test_capture_holds_the_first_seconds_and_ffmpeg_decodes_them(stream_server, tmp_path):
    url = stream_server.mount("cap", end_after_s=4.0)
    options = StreamOptions(listen=True, unreachable_s=2.0, lost_s=2.0, capture_dir=tmp_path, capture_s=2.0)
    events, _ = play(url, options, capture_name="dev-1-occ-1")
    assert [e for e, _ in events] == ["audio", "ended"]
    captured = tmp_path / "dev-1-occ-1.mp3"
    out = subprocess.run([require_binary("ffprobe"), "-v", "error", "-of", "json",
                          "-show_entries", "format=duration:stream=codec_name", str(captured)],
                         check=True, capture_output=True, text=True).stdout
    doc = json.loads(out)
    assert doc["streams"][0]["codec_name"] == "mp3"
    assert 2.0 <= float(doc["format"]["duration"]) < 2.2
    decoded = subprocess.run([require_binary("ffmpeg"), "-v", "error", "-i", str(captured), "-f", "null", "-"],
                             capture_output=True, text=True)
    assert decoded.returncode == 0 and decoded.stderr == ""


def test_bytes_that_are_no_audio_after_the_sync_count_as_a_drop(tmp_path):
    """A stream that keeps sending but lost its frames is not left open forever: the device reconnects."""
    from tests.support.stream_server import make_mp3

    audio = make_mp3(tmp_path / "a.mp3", seconds=1.0).read_bytes()
    junk = bytes(range(1, 251)) * 160  # 40,000 bytes: 5 s of no audio at 64 kbit/s, after 1 s of tone
    server = StreamServer(audio + junk, 64).start()
    try:
        events, player = play(server.mount("junky"), stop_after_s=5.0)
    finally:
        server.stop()
    assert [e for e, _ in events] == ["audio"]
    assert player.stats.drops >= 1 and player.stats.connects >= 2
    assert server.mounts["junky"].connections == player.stats.connects
