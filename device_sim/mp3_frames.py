"""MPEG audio (MP3) frame parsing, incremental, for the simulator's stream player.

A device "decodes" a stream when it finds frames that chain: a valid header, its frame length computed from the
bitrate, sample-rate and padding, and another valid header of the same kind exactly there. Three chained frames
make the sync trustworthy (a lone 0xFFE bit pattern is common in noise); after that each frame is checked and
counted as it completes, and a bad header drops the sync until the next chain of three.
"""
from __future__ import annotations

from dataclasses import dataclass

SYNC_FRAMES = 3  # consecutive chained frames before a stream counts as decoded

# Bitrates in kbit/s by bitrate index 1..14 (0 is "free format", 15 is invalid: both refused).
_BITRATES = {
    (1, 1): (32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (1, 2): (32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (1, 3): (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (2, 1): (32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (2, 2): (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    (2, 3): (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
# Sample rates by MPEG version bits (0: 2.5, 2: 2, 3: 1; 1 is reserved) and index 0..2 (3 is reserved).
_SAMPLE_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}
_LAYERS = {3: 1, 2: 2, 1: 3}  # layer bits -> layer; 0 is reserved


@dataclass(frozen=True)
class FrameHeader:
    version: float  # 1, 2 or 2.5
    layer: int
    bitrate_kbps: int
    sample_rate: int
    padding: bool
    channels: int
    length: int  # bytes, header included
    samples: int  # per channel

    @property
    def kind(self) -> tuple[float, int, int]:
        """What must stay the same from frame to frame in one stream."""
        return self.version, self.layer, self.sample_rate

    @property
    def seconds(self) -> float:
        return self.samples / self.sample_rate


_HEADERS: dict[int, FrameHeader | None] = {}  # by the last three bytes: a stream repeats a handful of headers
_MAX_HEADERS = 4096


def parse_header(b0: int, b1: int, b2: int, b3: int) -> FrameHeader | None:
    """The header of four bytes, or None when they are not a valid MPEG audio frame header.

    Memoized: a thousand simulated listeners parse some 40,000 frames a second, and building the header each
    time was most of the simulator's listening cost."""
    if b0 != 0xFF:
        return None
    key = b1 << 16 | b2 << 8 | b3
    try:
        return _HEADERS[key]
    except KeyError:
        header = _parse_header(b1, b2, b3)
        if len(_HEADERS) < _MAX_HEADERS:  # noise could name millions: the cache stays small
            _HEADERS[key] = header
        return header


def _parse_header(b1: int, b2: int, b3: int) -> FrameHeader | None:
    if (b1 & 0xE0) != 0xE0:
        return None
    version_bits, layer_bits = (b1 >> 3) & 3, (b1 >> 1) & 3
    bitrate_index, rate_index = b2 >> 4, (b2 >> 2) & 3
    if version_bits == 1 or layer_bits == 0 or bitrate_index in (0, 15) or rate_index == 3:
        return None
    if (b3 & 3) == 2:  # emphasis "reserved"
        return None
    layer = _LAYERS[layer_bits]
    v1 = version_bits == 3
    bitrate = _BITRATES[(1 if v1 else 2, layer)][bitrate_index - 1] * 1000
    sample_rate = _SAMPLE_RATES[version_bits][rate_index]
    padding = bool(b2 & 2)
    if layer == 1:
        length, samples = (12 * bitrate // sample_rate + padding) * 4, 384
    elif layer == 2 or v1:
        length, samples = 144 * bitrate // sample_rate + padding, 1152
    else:  # layer III of MPEG 2 and 2.5: half the samples per frame
        length, samples = 72 * bitrate // sample_rate + padding, 576
    return FrameHeader({3: 1.0, 2: 2.0, 0: 2.5}[version_bits], layer, bitrate // 1000, sample_rate, padding,
                       1 if (b3 >> 6) == 3 else 2, length, samples)


def _id3v2_size(buf: bytes | bytearray) -> int | None:
    """Bytes taken by an ID3v2 tag at the start of buf (0 if none), None if more bytes are needed to tell."""
    if len(buf) < 10:
        return None if bytes(buf[:3]) == b"ID3"[:len(buf[:3])] else 0
    if bytes(buf[:3]) != b"ID3":
        return 0
    size = (buf[6] & 0x7F) << 21 | (buf[7] & 0x7F) << 14 | (buf[8] & 0x7F) << 7 | (buf[9] & 0x7F)
    return 10 + size + (10 if buf[5] & 0x10 else 0)


class Mp3FrameReader:
    """Feed it bytes as they arrive; it counts the audio frames it could verify.

    `feed` returns the bytes of the frames accepted by this call (only when `keep` is set, for capturing).
    """

    def __init__(self, *, keep: bool = False) -> None:
        self.keep = keep
        self._buf = bytearray()
        self._at_start = True  # an ID3v2 tag may open a file served as a stream
        self._kind: tuple[float, int, int] | None = None  # None: not in sync
        self.bytes_in = 0
        self.frames = 0
        self.audio_s = 0.0
        self.sync_losses = 0
        self.skipped_bytes = 0  # bytes that were not part of a verified frame
        self.first: FrameHeader | None = None

    @property
    def decoded(self) -> bool:
        """True once a chain of SYNC_FRAMES frames was found."""
        return self.first is not None

    @property
    def pending_bytes(self) -> int:
        """Bytes received but not yet part of a whole verified frame (a cut stream leaves some)."""
        return len(self._buf)

    def feed(self, data: bytes) -> bytes:
        self.bytes_in += len(data)
        buf = self._buf
        buf += data
        if self._at_start:
            tag = _id3v2_size(buf)
            if tag is None:
                return b""
            if len(buf) < tag:
                return b""
            del buf[:tag]
            self.skipped_bytes += tag
            self._at_start = False
        kept = bytearray() if self.keep else None
        pos, end = 0, len(buf)
        last: FrameHeader | None = None
        while end - pos >= 4:
            if self._kind is None:
                found = self._find_chain(buf, pos)
                if found is None:  # need more bytes at `pos`
                    break
                if found < 0:  # no chain starts at pos: on to the next possible sync byte
                    nxt = buf.find(0xFF, pos + 1)
                    nxt = end if nxt < 0 else nxt
                    self.skipped_bytes += nxt - pos
                    pos = nxt
                    continue
                self._kind = found_kind = self._chain_kind(buf, pos)
                assert found_kind is not None
                last = None
            header = parse_header(buf[pos], buf[pos + 1], buf[pos + 2], buf[pos + 3])
            if header is None or (header is not last and header.kind != self._kind):
                self._kind = None
                self.sync_losses += 1
                continue
            if end - pos < header.length:
                break  # the rest of this frame has not arrived yet
            if self.first is None:
                self.first = header
            last = header  # memoized headers: the same object again is the same kind
            self.frames += 1
            self.audio_s += header.seconds
            if kept is not None:
                kept += buf[pos:pos + header.length]
            pos += header.length
        del buf[:pos]
        return bytes(kept) if kept else b""

    @staticmethod
    def _chain_kind(buf: bytearray, pos: int) -> tuple[float, int, int] | None:
        h = parse_header(buf[pos], buf[pos + 1], buf[pos + 2], buf[pos + 3])
        return h.kind if h is not None else None

    @staticmethod
    def _find_chain(buf: bytearray, pos: int) -> int | None:
        """pos if SYNC_FRAMES frames chain from pos, -1 if they do not, None if more bytes are needed to tell."""
        kind = None
        at = pos
        for _ in range(SYNC_FRAMES):
            if len(buf) - at < 4:
                return None
            h = parse_header(buf[at], buf[at + 1], buf[at + 2], buf[at + 3])
            if h is None or (kind is not None and h.kind != kind):
                return -1
            kind = h.kind
            at += h.length
        return pos
