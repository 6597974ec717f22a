"""The archive's table of contents: what it holds, from which system, with a size and sha256 per file."""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO

FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"
CHUNK = 1024 * 1024


class BackupError(Exception):
    """A backup or restore that cannot go on; the message is for the operator (Vietnamese)."""


@dataclass(frozen=True)
class FileEntry:
    path: str  # inside the archive, POSIX, relative
    size: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    created_at: str  # ISO 8601, UTC
    database_engine: str  # sqlite | postgresql
    alembic_revision: str | None
    loaxa_version: str
    files: list[FileEntry] = field(default_factory=list)
    version: int = FORMAT_VERSION

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), ensure_ascii=False, indent=2).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Manifest:
        try:
            raw = json.loads(data)
            if raw.get("version") != FORMAT_VERSION:
                raise BackupError(f"Bản sao lưu có định dạng phiên bản {raw.get('version')!r}, chương trình này đọc "
                                  f"phiên bản {FORMAT_VERSION}.")
            files = [FileEntry(str(f["path"]), int(f["size"]), str(f["sha256"])) for f in raw["files"]]
            manifest = cls(created_at=str(raw["created_at"]), database_engine=str(raw["database_engine"]),
                           alembic_revision=raw.get("alembic_revision"), loaxa_version=str(raw["loaxa_version"]),
                           files=files)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise BackupError(f"Tệp kê khai (manifest) của bản sao lưu hỏng: {exc}.") from None
        for entry in files:
            check_member_name(entry.path)
        if len({f.path for f in files}) != len(files):
            raise BackupError("Tệp kê khai (manifest) ghi một tệp hai lần.")
        return manifest

    @property
    def by_path(self) -> dict[str, FileEntry]:
        return {f.path: f for f in self.files}


def check_member_name(name: str) -> str:
    """Only plain relative paths: an archive must not write outside the place it is restored to."""
    path = PurePosixPath(name)
    if not name or path.is_absolute() or any(part in ("", ".", "..") for part in name.split("/")):
        raise BackupError(f"Bản sao lưu có đường dẫn không hợp lệ: {name!r}.")
    return name


def digest_stream(stream: IO[bytes]) -> tuple[int, str]:
    """(size, sha256) of everything left in the stream."""
    h = hashlib.sha256()
    size = 0
    while chunk := stream.read(CHUNK):
        h.update(chunk)
        size += len(chunk)
    return size, h.hexdigest()


def digest_file(path: Path) -> tuple[int, str]:
    with open(path, "rb") as stream:
        return digest_stream(stream)
