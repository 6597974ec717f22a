"""The database, dumped while the system runs and restored into an empty one.

SQLite: the sqlite3 online backup API (a consistent copy while others write). PostgreSQL: `pg_dump --format=custom`
(one consistent snapshot) and `pg_restore`, found like the test support finds them (pg_config, the newest
/usr/lib/postgresql/*/bin, PATH): a pg_dump older than the server refuses, so the newest installed is taken."""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy import Engine, inspect
from sqlalchemy.engine import make_url

from broadcast.backup.manifest import BackupError

SQLITE_MEMBER = "database/loaxa.sqlite3"
POSTGRES_MEMBER = "database/loaxa.pgdump"
PG_VERSIONS_DIR = Path("/usr/lib/postgresql")  # Debian keeps the client tools here, off PATH


def engine_name(url: str) -> str:
    return "postgresql" if make_url(url).get_backend_name() == "postgresql" else "sqlite"


def dump_member(url: str) -> str:
    return POSTGRES_MEMBER if engine_name(url) == "postgresql" else SQLITE_MEMBER


def sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("Chỉ sao lưu được cơ sở dữ liệu SQLite nằm trong một tệp.")
    return Path(database)


def dump(url: str, out: Path) -> None:
    if engine_name(url) == "sqlite":
        _dump_sqlite(sqlite_path(url), out)
    else:
        _run_pg("pg_dump", ["--format=custom", "--no-owner", "--no-privileges", "--file", str(out)], url)


def restore(url: str, dump_file: Path, *, replace: bool = False) -> None:
    """Into an empty database (the caller checked it), or over the existing one with `replace` (--force): the
    SQLite file is replaced whole; on PostgreSQL every object of the dump is dropped first (pg_restore --clean)."""
    if engine_name(url) == "sqlite":
        target = sqlite_path(url)
        target.parent.mkdir(parents=True, exist_ok=True)
        _dump_sqlite(dump_file, target)  # the backup API again: the copy is whole or not at all
        os.chmod(target, 0o600)
    else:
        clean = ["--clean", "--if-exists"] if replace else []
        _run_pg("pg_restore", ["--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction", *clean,
                               str(dump_file)], url, database_flag=True)


def is_empty(engine: Engine) -> bool:
    return not inspect(engine).get_table_names()


def _dump_sqlite(source: Path, out: Path) -> None:
    if not source.is_file():
        raise BackupError(f"Không có tệp cơ sở dữ liệu SQLite {source}.")
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(out)
        try:
            src.backup(dst)
        finally:
            dst.close()
    except sqlite3.Error as exc:
        raise BackupError(f"Sao chép cơ sở dữ liệu SQLite thất bại: {exc}.") from None
    finally:
        src.close()


def find_pg_tool(name: str) -> Path:
    """pg_dump or pg_restore: from pg_config's bindir, the newest /usr/lib/postgresql/*/bin, then PATH."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        if out.returncode == 0 and out.stdout.strip():
            candidates.append(Path(out.stdout.strip()))
    versions = sorted(PG_VERSIONS_DIR.glob("*/bin"),
                      key=lambda p: tuple(int(x) for x in p.parent.name.split(".") if x.isdigit()), reverse=True)
    candidates += versions
    on_path = shutil.which(name)
    if on_path:
        candidates.append(Path(on_path).parent)
    for bindir in candidates:
        if (bindir / name).is_file():
            return bindir / name
    raise BackupError(f"Không tìm thấy {name} (cần gói postgresql-client cùng phiên bản hoặc mới hơn máy chủ "
                      "PostgreSQL).")


def _run_pg(tool: str, args: list[str], url: str, *, database_flag: bool = False) -> None:
    """Connection details through libpq's environment, never on the command line (ps would show a password)."""
    parts = make_url(url)
    env = {**os.environ, "PGHOST": parts.host or "localhost", "PGPORT": str(parts.port or 5432),
           "PGUSER": parts.username or "", "PGDATABASE": parts.database or "", "PGCONNECT_TIMEOUT": "10"}
    if parts.password:
        env["PGPASSWORD"] = str(parts.password)
    command = [str(find_pg_tool(tool)), *args]
    if database_flag:
        command[1:1] = ["--dbname", parts.database or ""]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{tool} thất bại (mã {done.returncode}): {done.stderr.strip()[-800:]}")
