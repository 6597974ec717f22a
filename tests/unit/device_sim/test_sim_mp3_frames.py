"""The simulator's MP3 frame parser against files ffmpeg makes, fed in pieces as a stream arrives, and garbage."""
from __future__ import annotations

import json
import random
import subprocess

import pytest

from device_sim.mp3_frames import Mp3FrameReader, parse_header
from tests.support.audio_fixtures import require_binary
from tests.support.stream_server import make_mp3

# (bitrate kbit/s, sample rate, channels, layer): MPEG 1, 2 and 2.5; layer III and II; mono and stereo.
CASES = [
    (64, 44100, 1, 3),
    (128, 48000, 2, 3),
    (320, 44100, 2, 3),
    (32, 32000, 1, 3),
    (32, 22050, 1, 3),  # MPEG 2: 576 samples a frame
    (8, 8000, 1, 3),  # MPEG 2.5
    (192, 48000, 2, 2),  # layer II
]


def ffprobe_frames(path) -> tuple[int, float]:
    """Frames and duration by ffmpeg's own demuxer, the independent reference."""
    out = subprocess.run(
        [require_binary("ffprobe"), "-v", "error", "-count_packets", "-select_streams", "a:0",
         "-show_entries", "stream=nb_read_packets,sample_rate", "-show_entries", "format=duration",
         "-of", "json", str(path)], check=True, capture_output=True, text=True, timeout=30).stdout
    doc = json.loads(out)
    return int(doc["streams"][0]["nb_read_packets"]), float(doc["format"]["duration"])


def feed_in_pieces(data: bytes, seed: int = 1, keep: bool = False) -> tuple[Mp3FrameReader, bytes]:
    reader, kept, rng, pos = Mp3FrameReader(keep=keep), bytearray(), random.Random(seed), 0
    while pos < len(data):
        n = rng.randint(1, 3000)
        kept += reader.feed(data[pos:pos + n])
        pos += n
    return reader, bytes(kept)


@pytest.mark.parametrize(("kbps", "rate", "channels", "layer"), CASES)
def test_frames_and_seconds_match_ffprobe(tmp_path, kbps, rate, channels, layer):
    path = make_mp3(tmp_path / "a.mp3", seconds=3.0, bitrate_kbps=kbps, sample_rate=rate, channels=channels,
                    layer=layer)
    data = path.read_bytes()
    frames, duration = ffprobe_frames(path)
    reader, kept = feed_in_pieces(data, keep=True)
    assert reader.decoded
    assert reader.first is not None
    assert (reader.first.layer, reader.first.sample_rate, reader.first.bitrate_kbps) == (layer, rate, kbps)
    assert reader.first.channels == channels
    assert reader.frames == frames
    assert reader.audio_s == pytest.approx(duration, abs=0.05)
    assert reader.pending_bytes == 0 and reader.sync_losses == 0
    assert kept == data  # every byte of a plain file is a verified frame


def test_a_file_with_id3_tag_and_xing_frame_still_decodes(tmp_path):
    path = make_mp3(tmp_path / "tagged.mp3", seconds=2.0, tagged=True)
    data = path.read_bytes()
    assert data.startswith(b"ID3")
    reader, _ = feed_in_pieces(data)
    frames, _ = ffprobe_frames(make_mp3(tmp_path / "plain.mp3", seconds=2.0))
    assert reader.decoded
    assert reader.frames >= frames  # the Xing frame is a valid (silent) frame of its own


def test_garbage_is_never_decoded():
    rng = random.Random(7)
    junk = bytes(rng.getrandbits(8) for _ in range(200_000))
    junk += b"\xff\xfb\x90\x64" * 1000  # headers alone, with no frame bodies between them, do not chain
    reader, _ = feed_in_pieces(junk)
    assert not reader.decoded
    assert reader.frames == 0 and reader.audio_s == 0


def test_sync_is_found_after_garbage_and_lost_and_found_again(tmp_path):
    data = make_mp3(tmp_path / "a.mp3", seconds=2.0).read_bytes()
    frames, _ = ffprobe_frames(tmp_path / "a.mp3")
    rng = random.Random(3)
    junk = bytes(rng.getrandbits(8) for _ in range(5000))
    reader, _ = feed_in_pieces(junk + data + junk + data)
    assert reader.decoded
    assert reader.sync_losses >= 1
    # A frame or two at each junk boundary may be lost while the chain is re-verified; no more.
    assert 2 * frames - 4 <= reader.frames <= 2 * frames


def test_a_cut_frame_is_left_pending(tmp_path):
    data = make_mp3(tmp_path / "a.mp3", seconds=1.0).read_bytes()
    reader = Mp3FrameReader()
    reader.feed(data[:-10])
    assert reader.decoded and reader.pending_bytes > 0


@pytest.mark.parametrize(("header", "expected"), [
    (b"\xff\xfb\x90\x64", (1.0, 3, 128, 44100, False, 417)),  # MPEG 1 layer III 128k 44.1 kHz
    (b"\xff\xfb\x92\x64", (1.0, 3, 128, 44100, True, 418)),  # the same with padding
    (b"\xff\xf3\x40\xc4", (2.0, 3, 32, 22050, False, 104)),  # MPEG 2 layer III 32k 22.05 kHz mono
])
def test_header_fields_and_frame_length(header, expected):
    h = parse_header(*header)
    assert h is not None
    assert (h.version, h.layer, h.bitrate_kbps, h.sample_rate, h.padding, h.length) == expected


@pytest.mark.parametrize("header", [
    b"\xff\xfb\xf0\x64",  # bitrate index 15
    b"\xff\xfb\x00\x64",  # free format
    b"\xff\xfb\x9c\x64",  # sample rate index 3
    b"\xff\xeb\x90\x64",  # MPEG version "reserved"
    b"\xff\xf9\x90\x64",  # layer "reserved"
    b"\xfe\xfb\x90\x64",  # no sync
])
def test_invalid_headers_are_refused(header):
    assert parse_header(*header) is None
