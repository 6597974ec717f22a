"""Download audio named by a URL (a central bulletin's, a CAP alert's resource) to a scratch file.

Only from addresses the fetch policy allows (LOAXA_FETCH_ALLOW), checked on every redirect hop and again on the
address actually connected to. Streams with a size cap. Every refusal and every failure to fetch reads the same
(one code, one message) so the answers cannot map the server's network; the real reason goes to the log. No
file is left behind.
"""
from __future__ import annotations

import logging
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import httpx

from broadcast.adapters.fetch_policy import FetchPolicy, FetchRefused
from broadcast.domain.errors import InvalidInput, TooLarge
from broadcast.services.emergencies import AudioFile

log = logging.getLogger(__name__)
MAX_REDIRECTS = 5
REDIRECT_STATUSES = (301, 302, 303, 307, 308)


@dataclass(frozen=True)
class FetchWording:
    """How refusals read for one kind of source, and their stable codes."""

    subject: str  # e.g. "tệp âm thanh của bản tin"
    unreachable_code: str  # any refusal or failure to fetch, whatever the URL or the reason
    too_large_code: str


class HttpMediaFetcher:
    def __init__(self, directory: Path, max_bytes: int, wording: FetchWording, *, policy: FetchPolicy,
                 timeout_s: float = 30.0, prefix: str = "media-"):
        self.directory, self.max_bytes, self.wording, self.policy = directory, max_bytes, wording, policy
        self.timeout_s, self.prefix = timeout_s, prefix

    def __call__(self, url: str) -> AudioFile:
        w = self.wording
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = Path(tempfile.NamedTemporaryFile(dir=self.directory, prefix=self.prefix, delete=False).name)
        try:
            self._download(url, path)
        except (FetchRefused, httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
            path.unlink(missing_ok=True)
            log.warning("not fetching %s %.300r: %s: %s", w.subject, url, type(exc).__name__, exc)
            raise InvalidInput(f"Không tải được {w.subject}: địa chỉ không được phép, không truy cập được hoặc "
                               "không trả về tệp.", code=w.unreachable_code) from None
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        name = re.sub(r"[^A-Za-z0-9._-]", "_", unquote(urlsplit(url).path.rsplit("/", 1)[-1]))[:100].lstrip(".")
        return AudioFile(path, name or f"{self.prefix}audio")

    def _checked(self, url: str) -> httpx.URL:
        target = httpx.URL(url)
        if target.scheme not in ("http", "https") or not target.raw_host:
            raise FetchRefused("not an http(s) URL with a host")
        port = target.port or (443 if target.scheme == "https" else 80)
        self.policy.check_host(target.raw_host.decode("ascii"), port)
        return target

    def _download(self, url: str, path: Path) -> None:
        """Follow redirects here, not in httpx, so every hop is checked; no proxy from the environment either."""
        with httpx.Client(timeout=self.timeout_s, follow_redirects=False, trust_env=False) as client:
            for _ in range(MAX_REDIRECTS + 1):
                target = self._checked(url)
                with client.stream("GET", target) as response:
                    stream = response.extensions.get("network_stream")
                    peer = stream.get_extra_info("server_addr") if stream is not None else None
                    self.policy.check_peer(target.raw_host.decode("ascii"), str(peer[0]) if peer else None)
                    if response.status_code in REDIRECT_STATUSES and "Location" in response.headers:
                        url = str(target.join(response.headers["Location"]))
                        continue
                    if response.status_code != 200:
                        raise FetchRefused(f"HTTP {response.status_code}")
                    self._save(response, path)
                    return
        raise FetchRefused(f"more than {MAX_REDIRECTS} redirects")

    def _save(self, response: httpx.Response, path: Path) -> None:
        too_large = TooLarge(f"{self.wording.subject.capitalize()} vượt quá {self.max_bytes // (1024 * 1024)} MB.",
                             code=self.wording.too_large_code)
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


BULLETIN_AUDIO = FetchWording("tệp âm thanh của bản tin", "media_unreachable", "media_too_large")
CAP_RESOURCE = FetchWording("âm thanh của cảnh báo", "cap_resource_unreachable", "too_large")
