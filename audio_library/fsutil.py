"""Atomic file helpers: a reader never sees a half-written file."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

_CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def make_private_dir(directory: Path) -> None:
    """``mkdir -p`` with every directory it creates 0700 (pathlib would give the parents the umask's mode):
    originals and renditions are the server's own; devices fetch media over HTTP, never from disk."""
    if directory.is_dir():
        return
    make_private_dir(directory.parent)
    with contextlib.suppress(FileExistsError):
        directory.mkdir(mode=0o700)


@contextlib.contextmanager
def temp_path(directory: Path, suffix: str) -> Iterator[Path]:
    """A fresh temp file name in ``directory`` (same filesystem, so rename is atomic); always cleaned up."""
    make_private_dir(directory)
    fd, name = tempfile.mkstemp(prefix=".tmp-", suffix=suffix, dir=directory)
    os.close(fd)
    path = Path(name)
    try:
        yield path
    finally:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def publish(tmp: Path, final: Path) -> None:
    """fsync then rename over ``final``."""
    with open(tmp, "rb") as handle:
        os.fsync(handle.fileno())
    make_private_dir(final.parent)
    os.replace(tmp, final)


def copy_atomic(src: Path, final: Path) -> None:
    with temp_path(final.parent, final.suffix) as tmp:
        with open(src, "rb") as reader, open(tmp, "wb") as writer:
            while chunk := reader.read(_CHUNK):
                writer.write(chunk)
        publish(tmp, final)


def write_text_atomic(final: Path, text: str) -> None:
    with temp_path(final.parent, final.suffix) as tmp:
        tmp.write_text(text, encoding="utf-8")
        publish(tmp, final)
