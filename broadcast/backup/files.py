"""Which files of the data dir a backup keeps, and where each goes back on restore.

Everything regular in the data dir (the media store, the signing key, token_secret, broker files written there by
`loaxa mqtt config`) except the SQLite database, which is dumped through the backup API, and scratch directories
whose contents are rebuilt or thrown away anyway. A signing key kept outside the data dir
(LOAXA_SIGNING_KEY_FILE) travels as keys/signing_key.pem."""
from __future__ import annotations

from pathlib import Path

from broadcast.settings import Settings

DATA_PREFIX = "data/"
SIGNING_KEY_MEMBER = "keys/signing_key.pem"
SCRATCH_DIRS = ("media/tmp", "uploads", "emergency-work", "bridge-work")
SQLITE_SUFFIXES = ("", "-wal", "-shm", "-journal")


def database_files(settings: Settings) -> set[Path]:
    """The SQLite database and its side files, when they live in the data dir."""
    url = settings.effective_database_url
    if not url.startswith("sqlite"):
        return set()
    from broadcast.backup.database_dump import sqlite_path

    db = sqlite_path(url).resolve()
    return {db.with_name(db.name + suffix) for suffix in SQLITE_SUFFIXES}


def data_members(settings: Settings) -> list[tuple[str, Path]]:
    """(archive name, file) of everything to keep, sorted so two backups of the same state list alike."""
    root = settings.data_dir.resolve()
    skip = database_files(settings)
    scratch = [root / d for d in SCRATCH_DIRS]
    members: list[tuple[str, Path]] = []
    if root.is_dir():
        for path in sorted(root.rglob("*")):
            if not path.is_file() or path.is_symlink() or path in skip:
                continue
            if any(path.is_relative_to(d) for d in scratch):
                continue
            members.append((DATA_PREFIX + path.relative_to(root).as_posix(), path))
    key = settings.effective_signing_key_file.resolve()
    if key.is_file() and not key.is_relative_to(root):
        members.append((SIGNING_KEY_MEMBER, key))
    return members


def target_of(settings: Settings, member: str) -> Path | None:
    """Where an archived file goes back; None for members that are not files of the data dir (the dump)."""
    if member == SIGNING_KEY_MEMBER:
        return settings.effective_signing_key_file
    if member.startswith(DATA_PREFIX):
        return settings.data_dir / member[len(DATA_PREFIX):]
    return None


def occupied(settings: Settings) -> list[Path]:
    """Files already in the place a restore would write (the SQLite database is judged by its tables)."""
    skip = database_files(settings)
    found = [p for p in settings.data_dir.rglob("*") if p.is_file() and p.resolve() not in skip] \
        if settings.data_dir.is_dir() else []
    key = settings.effective_signing_key_file
    if key.is_file() and key not in found:
        found.append(key)
    return found
