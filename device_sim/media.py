"""Media cache shared by every simulated device: keyed by sha256, fetched once.

A device only needs to know that a file is stored and its sha256 checked, so
the cache keeps the verified hashes (and optionally the bytes on disk).
Concurrent requests for one hash share one download (single flight).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from pathlib import Path

import httpx


class MediaError(Exception):
    """A file that cannot be stored; `reason` goes into a `failed` ack."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class MediaCache:
    def __init__(self, client: httpx.AsyncClient | None = None, *, directory: Path | None = None,
                 max_concurrency: int = 32, timeout_s: float = 30.0) -> None:
        self._own_client = client is None
        self._client = client or httpx.AsyncClient(timeout=timeout_s, follow_redirects=True)
        self._dir = directory
        self._ok: set[str] = set()
        self._inflight: dict[str, asyncio.Future[None]] = {}
        self._sem = asyncio.Semaphore(max_concurrency)
        self.downloads = 0  # completed HTTP fetches that verified
        self.failures = 0
        self.hits = 0
        self.bytes = 0

    def has(self, sha256: str) -> bool:
        return sha256 in self._ok

    async def fetch(self, sha256: str, url: str) -> None:
        """Return once `sha256` is stored and verified; raise MediaError otherwise."""
        if sha256 in self._ok:
            self.hits += 1
            return
        fut = self._inflight.get(sha256)
        if fut is None:
            fut = asyncio.ensure_future(self._download(sha256, url))
            self._inflight[sha256] = fut
            fut.add_done_callback(lambda _f: self._inflight.pop(sha256, None))
        else:
            self.hits += 1
        # shield: one waiter being cancelled must not cancel everyone's download.
        await asyncio.shield(fut)

    async def _download(self, sha256: str, url: str) -> None:
        async with self._sem:
            digest = hashlib.sha256()
            size = 0
            tmp = None
            fh = None
            try:
                if self._dir is not None:
                    self._dir.mkdir(parents=True, exist_ok=True)
                    tmp = self._dir / f".{sha256}.part"
                    fh = open(tmp, "wb")
                async with self._client.stream("GET", url) as resp:
                    if resp.status_code != 200:
                        raise MediaError(f"http_{resp.status_code}")
                    async for chunk in resp.aiter_bytes():
                        digest.update(chunk)
                        size += len(chunk)
                        if fh is not None:
                            fh.write(chunk)
            except MediaError:
                self.failures += 1
                raise
            except httpx.HTTPError as exc:
                self.failures += 1
                raise MediaError(f"download_error: {type(exc).__name__}") from None
            finally:
                if fh is not None:
                    fh.close()
            if digest.hexdigest() != sha256:
                self.failures += 1
                if tmp is not None:
                    tmp.unlink(missing_ok=True)
                raise MediaError("sha256_mismatch")
            if tmp is not None and self._dir is not None:
                os.replace(tmp, self._dir / sha256)
            self._ok.add(sha256)
            self.downloads += 1
            self.bytes += size

    async def aclose(self) -> None:
        for fut in list(self._inflight.values()):
            fut.cancel()
        if self._own_client:
            await self._client.aclose()
