"""Download audio named by a URL (a central bulletin's, a CAP alert's resource) to a scratch file.

Streams with a size cap; any failure is a refusal with a reason in Vietnamese, and leaves no file behind.
"""
from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import httpx

from broadcast.domain.errors import InvalidInput, TooLarge
from broadcast.services.emergencies import AudioFile


@dataclass(frozen=True)
class FetchWording:
    """How refusals read for one kind of source, and their stable codes."""

    subject: str  # e.g. "tệp âm thanh của bản tin"
    bad_url_code: str
    unreachable_code: str
    too_large_code: str


class HttpMediaFetcher:
    def __init__(self, directory: Path, max_bytes: int, wording: FetchWording, *, timeout_s: float = 30.0,
                 prefix: str = "media-"):
        self.directory, self.max_bytes, self.wording = directory, max_bytes, wording
        self.timeout_s, self.prefix = timeout_s, prefix

    def __call__(self, url: str) -> AudioFile:
        w = self.wording
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidInput(f"Địa chỉ {w.subject} không phải URL http(s): {url[:200]!r}.", code=w.bad_url_code)
        self.directory.mkdir(parents=True, exist_ok=True)
        path = Path(tempfile.NamedTemporaryFile(dir=self.directory, prefix=self.prefix, delete=False).name)
        too_large = TooLarge(f"{w.subject.capitalize()} vượt quá {self.max_bytes // (1024 * 1024)} MB.",
                             code=w.too_large_code)
        try:
            with httpx.stream("GET", url, timeout=self.timeout_s, follow_redirects=True) as response:
                if response.status_code != 200:
                    raise InvalidInput(f"Không tải được {w.subject} (HTTP {response.status_code}).",
                                       code=w.unreachable_code)
                declared = response.headers.get("Content-Length")
                if declared and declared.isdigit() and int(declared) > self.max_bytes:
                    raise too_large
                size = 0
                with path.open("wb") as out:
                    for chunk in response.iter_bytes():
                        size += len(chunk)
                        if size > self.max_bytes:
                            raise too_large
                        out.write(chunk)
        except httpx.HTTPError as exc:
            path.unlink(missing_ok=True)
            raise InvalidInput(f"Không tải được {w.subject} ({type(exc).__name__}).", code=w.unreachable_code) from None
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        name = re.sub(r"[^A-Za-z0-9._-]", "_", unquote(parts.path.rsplit("/", 1)[-1]))[:100].lstrip(".")
        return AudioFile(path, name or f"{self.prefix}audio")


BULLETIN_AUDIO = FetchWording("tệp âm thanh của bản tin", "invalid_audio_url", "media_unreachable", "media_too_large")
CAP_RESOURCE = FetchWording("âm thanh của cảnh báo", "cap_bad_resource", "cap_resource_unreachable", "too_large")
