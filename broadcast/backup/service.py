"""Backup and restore as use cases: what `loaxa backup` and `loaxa restore` call."""
from __future__ import annotations

import importlib.metadata
import shutil
import sqlite3
import tempfile
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from broadcast.backup import archive, database_dump, files
from broadcast.backup.manifest import BackupError, Manifest
from broadcast.persistence.database import make_engine
from broadcast.persistence.migrate import current_revision
from broadcast.settings import Settings


@dataclass(frozen=True)
class Outcome:
    manifest: Manifest
    archive: Path

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.manifest.files)


def backup(settings: Settings, out: Path) -> Outcome:
    """Dump the database (online), gather the data dir's files and keys, write one archive with its manifest."""
    if out.exists():
        raise BackupError(f"Tệp {out} đã có; hãy chọn tên khác (không ghi đè bản sao lưu cũ).")
    if not out.parent.is_dir():
        raise BackupError(f"Không có thư mục {out.parent}.")
    url = settings.effective_database_url
    engine = make_engine(url)
    try:
        revision = current_revision(engine)
    finally:
        engine.dispose()
    if revision is None:
        raise BackupError("Cơ sở dữ liệu chưa được tạo (chạy `loaxa db upgrade`); không có gì để sao lưu.")
    with tempfile.TemporaryDirectory(prefix=".loaxa-backup-", dir=out.parent) as work:
        dump_file = Path(work) / "database"
        database_dump.dump(url, dump_file)
        members = [(database_dump.dump_member(url), dump_file), *files.data_members(settings)]
        manifest = Manifest(created_at=datetime.now(UTC).isoformat(timespec="seconds"),
                            database_engine=database_dump.engine_name(url), alembic_revision=revision,
                            loaxa_version=_version(), files=archive.entries_for(members))
        archive.write_archive(out, manifest, members)
    return Outcome(manifest, out)


def restore(settings: Settings, source: Path, *, force: bool = False) -> Outcome:
    """Verify every checksum first; then, into an empty machine (or over it with `force`): the database, then the
    files. A refused archive or target changes nothing."""
    if not source.is_file():
        raise BackupError(f"Không có tệp {source}.")
    manifest = archive.verify_archive(source)
    url = settings.effective_database_url
    if manifest.database_engine != database_dump.engine_name(url):
        raise BackupError(f"Bản sao lưu là của {manifest.database_engine}, còn LOAXA_DATABASE_URL trỏ tới "
                          f"{database_dump.engine_name(url)}.")
    dump_name = database_dump.dump_member(url)
    if dump_name not in manifest.by_path:
        raise BackupError("Bản sao lưu không có cơ sở dữ liệu.")
    if not force:
        _require_empty(settings, url)
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    with tempfile.TemporaryDirectory(prefix=".loaxa-restore-", dir=settings.data_dir.resolve().parent) as work:
        staged = Path(work)
        archive.extract_verified(source, manifest, staged)
        if force and database_dump.engine_name(url) == "sqlite":
            _remove_sqlite(url)
        database_dump.restore(url, staged / dump_name, replace=force)
        for entry in manifest.files:
            target = files.target_of(settings, entry.path)
            if target is not None:
                target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                shutil.move(staged / entry.path, target)
    engine = make_engine(url)
    try:
        revision = current_revision(engine)
    finally:
        engine.dispose()
    if revision != manifest.alembic_revision:
        raise BackupError(f"Sau khi khôi phục, cơ sở dữ liệu ở phiên bản {revision}, bản sao lưu ghi "
                          f"{manifest.alembic_revision}.")
    return Outcome(manifest, source)


def _require_empty(settings: Settings, url: str) -> None:
    occupied = files.occupied(settings)
    if occupied:
        raise BackupError(f"Nơi khôi phục chưa trống: đã có {len(occupied)} tệp (ví dụ {occupied[0]}). Dùng --force "
                          "để ghi đè.")
    if not _database_empty(url):
        raise BackupError("Cơ sở dữ liệu đích đã có bảng. Khôi phục vào cơ sở dữ liệu trống, hoặc dùng --force để "
                          "xóa và ghi đè.")


def _database_empty(url: str) -> bool:
    if database_dump.engine_name(url) == "sqlite":
        path = database_dump.sqlite_path(url)
        if not path.is_file() or path.stat().st_size == 0:
            return True
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as connection:
            return connection.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0] == 0
    engine = make_engine(url)
    try:
        return database_dump.is_empty(engine)
    finally:
        engine.dispose()


def _remove_sqlite(url: str) -> None:
    """--force on SQLite: the old file and its journal go, the restored copy takes their place."""
    path = database_dump.sqlite_path(url)
    for suffix in files.SQLITE_SUFFIXES:
        path.with_name(path.name + suffix).unlink(missing_ok=True)


def _version() -> str:
    try:
        return importlib.metadata.version("loaxa")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"



