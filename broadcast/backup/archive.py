"""The tar archive: written with the manifest first, verified member by member before anything is extracted."""
from __future__ import annotations

import lzma
import os
import tarfile
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from broadcast.backup.manifest import (
    MANIFEST_NAME,
    BackupError,
    FileEntry,
    Manifest,
    check_member_name,
    digest_file,
    digest_stream,
)

_COMPRESSION = {".gz": "gz", ".tgz": "gz", ".xz": "xz", ".txz": "xz", ".bz2": "bz2"}


def compression_of(path: Path) -> str:
    """From the file name: .tar (none), .tar.gz/.tgz, .tar.xz, .tar.bz2."""
    return _COMPRESSION.get(path.suffix.lower(), "")


def entries_for(members: Sequence[tuple[str, Path]]) -> list[FileEntry]:
    """Size and sha256 of each file as it will be archived."""
    return [FileEntry(check_member_name(name), *digest_file(source)) for name, source in members]


def write_archive(out: Path, manifest: Manifest, members: Sequence[tuple[str, Path]]) -> None:
    """Write to a temporary name beside `out` and rename at the end: a failed backup leaves no half archive.
    Readable by the owner only: it holds the signing key and the secrets."""
    partial = out.with_name(f".{out.name}.partial")
    manifest_file = out.with_name(f".{out.name}.manifest")
    try:
        manifest_file.write_bytes(manifest.to_json())
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        mode: Any = f"w:{compression_of(out)}"  # one of tarfile's literal modes, chosen from the name
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode=mode) as tar:
            tar.add(manifest_file, arcname=MANIFEST_NAME, recursive=False)
            for name, source in members:
                tar.add(source, arcname=name, recursive=False)
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
        manifest_file.unlink(missing_ok=True)


def read_manifest(archive: Path) -> Manifest:
    with _open(archive) as tar:
        first = tar.next()
        if first is None or first.name != MANIFEST_NAME or not first.isfile():
            raise BackupError("Không phải bản sao lưu LoaXa: thiếu tệp kê khai (manifest.json) ở đầu.")
        stream = tar.extractfile(first)
        assert stream is not None
        return Manifest.from_json(stream.read())


def verify_archive(archive: Path) -> Manifest:
    """Read the whole archive once: every file listed, none more, each with its size and sha256. Nothing is
    written anywhere; any difference raises BackupError naming the first bad file."""
    try:
        return _verify(archive)
    except (tarfile.TarError, EOFError, zlib.error, lzma.LZMAError, OSError) as exc:
        raise BackupError(f"Bản sao lưu {archive.name} bị hỏng, không đọc hết được: {exc}.") from None


def _verify(archive: Path) -> Manifest:
    manifest = read_manifest(archive)
    expected = manifest.by_path
    seen: set[str] = set()
    with _open(archive) as tar:
        for member in tar:
            if member.name == MANIFEST_NAME:
                continue
            entry = expected.get(member.name)
            if entry is None or not member.isfile():
                raise BackupError(f"Bản sao lưu có tệp không ghi trong tệp kê khai: {member.name}.")
            if member.name in seen:
                raise BackupError(f"Bản sao lưu có tệp {member.name} hai lần.")
            stream = tar.extractfile(member)
            assert stream is not None
            size, sha256 = digest_stream(stream)
            if (size, sha256) != (entry.size, entry.sha256):
                raise BackupError(f"Tệp {member.name} trong bản sao lưu bị hỏng (checksum không khớp).")
            seen.add(member.name)
    missing = sorted(set(expected) - seen)
    if missing:
        raise BackupError(f"Bản sao lưu thiếu {len(missing)} tệp, ví dụ {missing[0]}.")
    return manifest


def extract_verified(archive: Path, manifest: Manifest, into: Path) -> None:
    """Extract the files of an archive verify_archive accepted, checking each again as it is written (the file
    could have changed in between)."""
    expected = manifest.by_path
    with _open(archive) as tar:
        for member in tar:
            entry = expected.get(member.name)
            if entry is None:
                continue
            target = into / member.name
            target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            stream = tar.extractfile(member)
            assert stream is not None
            with open(target, "wb") as out:
                while chunk := stream.read(1024 * 1024):
                    out.write(chunk)
            os.chmod(target, member.mode & 0o700 or 0o600)
            if digest_file(target) != (entry.size, entry.sha256):
                raise BackupError(f"Tệp {member.name} thay đổi trong khi khôi phục.")


def _open(archive: Path) -> tarfile.TarFile:
    try:
        return tarfile.open(archive, mode="r:*")
    except (OSError, tarfile.TarError) as exc:
        raise BackupError(f"Không đọc được bản sao lưu {archive}: {exc}.") from None
