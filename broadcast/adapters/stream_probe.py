"""A look at a relay channel's stream with ffprobe: reachable, codec, bitrate, or why not.

ffprobe opens the URL like a device would (HTTP GET, reads the first frames) and reports the audio stream. A probe
is bounded twice: ffprobe's own I/O timeout (`-rw_timeout`, for a server that accepts and then says nothing) and
the subprocess timeout (for anything else), so a dead station costs the probe job seconds, never a hang.
"""
from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from datetime import datetime

from broadcast.domain.relay_channels import ProbeResult

DEFAULT_TIMEOUT_S = 8.0


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


def probe_stream(url: str, *, now: Callable[[], datetime], timeout_s: float = DEFAULT_TIMEOUT_S,
                 ffprobe: str | None = None) -> ProbeResult:
    binary = ffprobe or shutil.which("ffprobe")
    if binary is None:
        return ProbeResult(now(), False, error="Máy chủ không có ffprobe để kiểm tra luồng.")
    cmd = [binary, "-v", "error", "-rw_timeout", str(int(timeout_s * 1_000_000)), "-select_streams", "a:0",
           "-show_entries", "stream=codec_name,bit_rate:format=bit_rate", "-of", "json", url]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s + 2, check=False)
    except subprocess.TimeoutExpired:
        return ProbeResult(now(), False, error=f"Không nhận được dữ liệu sau {timeout_s:g} giây.")
    checked = now()
    if done.returncode != 0:
        return ProbeResult(checked, False, error=_last_line(done.stderr) or f"ffprobe trả mã {done.returncode}.")
    try:
        info = json.loads(done.stdout or "{}")
    except ValueError:
        return ProbeResult(checked, False, error="ffprobe trả kết quả không đọc được.")
    streams = info.get("streams") or []
    if not streams:
        return ProbeResult(checked, False, error="Luồng không có âm thanh.")
    codec = streams[0].get("codec_name")
    raw = streams[0].get("bit_rate") or (info.get("format") or {}).get("bit_rate")
    bitrate = round(int(raw) / 1000) if isinstance(raw, str) and raw.isdigit() else None
    return ProbeResult(checked, True, codec=codec, bitrate_kbps=bitrate)
