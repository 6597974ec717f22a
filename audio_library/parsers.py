"""Pure parsers for ffmpeg/ffprobe output, tested on captured text."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

_NUM = r"(-?inf|-?\d+(?:\.\d+)?)"
_I_RE = re.compile(r"^\s*I:\s+" + _NUM + r"\s+LUFS", re.MULTILINE)
_LRA_RE = re.compile(r"^\s*LRA:\s+" + _NUM + r"\s+LU\b", re.MULTILINE)
_PEAK_RE = re.compile(r"^\s*Peak:\s+" + _NUM + r"\s+dBFS", re.MULTILINE)
_ASTATS_PEAK_RE = re.compile(r"Peak level dB:\s+" + _NUM)
_TIME_RE = re.compile(r"time=\s*(-?)(\d+):(\d{2}):(\d{2}(?:\.\d+)?)")
_SIL_START_RE = re.compile(r"silence_start:\s*(-?\d+(?:\.\d+)?)")
_SIL_END_RE = re.compile(r"silence_end:\s*(-?\d+(?:\.\d+)?)")

# Lines ffmpeg prints when a packet does not decode.
DECODE_ERROR_MARKERS = (
    "Error while decoding stream",
    "Invalid data found when processing input",
    "Header missing",
    "decode_frame() failed",
    "Error decoding",
)


@dataclass(frozen=True)
class Ebur128Summary:
    integrated_lufs: float
    lra_lu: float
    peak_db: float | None  # true or sample peak depending on the run; None if not requested


def _num(text: str) -> float:
    return float(text)  # float() understands "-inf" and "inf"


def parse_ebur128_summary(stderr: str) -> Ebur128Summary:
    """Parse the Summary block the ebur128 filter prints when it closes."""
    idx = stderr.rfind("Summary:")
    if idx < 0:
        raise ValueError("no ebur128 summary in ffmpeg output")
    block = stderr[idx:]
    i_match = _I_RE.search(block)
    lra_match = _LRA_RE.search(block)
    if not i_match or not lra_match:
        raise ValueError("incomplete ebur128 summary")
    peak_match = _PEAK_RE.search(block)
    return Ebur128Summary(
        integrated_lufs=_num(i_match.group(1)),
        lra_lu=_num(lra_match.group(1)),
        peak_db=_num(peak_match.group(1)) if peak_match else None,
    )


def parse_named_summaries(stderr: str, names: list[str]) -> dict[str, Ebur128Summary]:
    """Summaries of several ebur128 instances named ``ebur128@<name>`` in one graph."""
    found: dict[str, Ebur128Summary] = {}
    for name in names:
        marker = f"[ebur128@{name} @"
        idx = stderr.rfind(marker)
        if idx < 0:
            raise ValueError(f"no summary for ebur128@{name}")
        end = stderr.find("[ebur128@", idx + len(marker))
        found[name] = parse_ebur128_summary(stderr[idx: end if end > 0 else None])
    return found


def parse_astats_peak(stderr: str) -> float:
    """Highest ``Peak level dB`` that astats printed (per channel), in dBFS; -inf for silence."""
    values = [_num(m.group(1)) for m in _ASTATS_PEAK_RE.finditer(stderr)]
    if not values:
        raise ValueError("no astats peak in ffmpeg output")
    return max(values)


def parse_last_time(stderr: str) -> float | None:
    """Seconds of the last ``time=HH:MM:SS.xx`` progress stamp (how much was decoded)."""
    last = None
    for match in _TIME_RE.finditer(stderr):
        last = match
    if last is None:
        return None
    sign, hours, minutes, seconds = last.groups()
    value = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    return -value if sign else value


def count_decode_errors(lines: Iterable[str]) -> int:
    return sum(1 for line in lines if any(marker in line for marker in DECODE_ERROR_MARKERS))


def parse_silences(stderr: str, total_s: float | None = None) -> list[tuple[float, float]]:
    """Pair silencedetect's start/end stamps; an open silence ends at ``total_s``."""
    events: list[tuple[int, str, float]] = []
    for match in _SIL_START_RE.finditer(stderr):
        events.append((match.start(), "start", float(match.group(1))))
    for match in _SIL_END_RE.finditer(stderr):
        events.append((match.start(), "end", float(match.group(1))))
    events.sort()
    spans: list[tuple[float, float]] = []
    start: float | None = None
    for _, kind, value in events:
        if kind == "start":
            start = max(0.0, value)
        elif start is not None:
            spans.append((start, value))
            start = None
    if start is not None and total_s is not None and total_s > start:
        spans.append((start, total_s))
    return spans


@dataclass(frozen=True)
class ProbeStream:
    index: int
    codec_type: str
    codec_name: str
    sample_rate: int
    channels: int
    duration_s: float | None
    attached_pic: bool


@dataclass(frozen=True)
class ProbeData:
    format_name: str
    duration_s: float | None
    bit_rate: int | None
    streams: tuple[ProbeStream, ...]


def _float_or_none(value: object) -> float | None:
    try:
        result = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return result if math.isfinite(result) else None


def parse_ffprobe_json(text: str) -> ProbeData:
    data = json.loads(text or "{}")
    fmt = data.get("format") or {}
    streams = []
    for raw in data.get("streams") or []:
        streams.append(
            ProbeStream(
                index=int(raw.get("index", 0)),
                codec_type=str(raw.get("codec_type", "")),
                codec_name=str(raw.get("codec_name", "")),
                sample_rate=int(_float_or_none(raw.get("sample_rate")) or 0),
                channels=int(raw.get("channels") or 0),
                duration_s=_float_or_none(raw.get("duration")),
                attached_pic=bool((raw.get("disposition") or {}).get("attached_pic")),
            )
        )
    bit_rate = _float_or_none(fmt.get("bit_rate"))
    return ProbeData(
        format_name=str(fmt.get("format_name", "")),
        duration_s=_float_or_none(fmt.get("duration")),
        bit_rate=int(bit_rate) if bit_rate is not None else None,
        streams=tuple(streams),
    )
