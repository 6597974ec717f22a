"""Download a bulletin's audio to a scratch file with a size cap; any failure is a refusal with a reason."""
from __future__ import annotations

import re
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlsplit

import httpx

from broadcast.domain.errors import InvalidInput, TooLarge
from broadcast.services.emergencies import AudioFile


class HttpMediaFetcher:
    def __init__(self, directory: Path, max_bytes: int, timeout_s: float = 30.0):
        self.directory, self.max_bytes, self.timeout_s = directory, max_bytes, timeout_s

    def __call__(self, url: str) -> AudioFile:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidInput("Địa chỉ tệp âm thanh của bản tin không phải URL http(s).", code="invalid_audio_url")
        self.directory.mkdir(parents=True, exist_ok=True)
        path = Path(tempfile.NamedTemporaryFile(dir=self.directory, prefix="bulletin-", delete=False).name)
        size = 0
        try:
            with httpx.stream("GET", url, timeout=self.timeout_s, follow_redirects=True) as response:
                if response.status_code != 200:
                    raise InvalidInput(f"Không tải được tệp âm thanh của bản tin (HTTP {response.status_code}).",
                                       code="media_unreachable")
                declared = response.headers.get("Content-Length")
                if declared and declared.isdigit() and int(declared) > self.max_bytes:
                    raise TooLarge(f"Tệp âm thanh của bản tin vượt quá {self.max_bytes // (1024 * 1024)} MB.",
                                   code="media_too_large")
                with path.open("wb") as out:
                    for chunk in response.iter_bytes():
                        size += len(chunk)
                        if size > self.max_bytes:
                            raise TooLarge(f"Tệp âm thanh của bản tin vượt quá {self.max_bytes // (1024 * 1024)} MB.",
                                           code="media_too_large")
                        out.write(chunk)
        except httpx.HTTPError as exc:
            path.unlink(missing_ok=True)
            raise InvalidInput(f"Không tải được tệp âm thanh của bản tin ({type(exc).__name__}).",
                               code="media_unreachable") from None
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        name = re.sub(r"[^A-Za-z0-9._-]", "_", unquote(parts.path.rsplit("/", 1)[-1]))[:100].lstrip(".")
        return AudioFile(path, name or "bulletin-audio")
