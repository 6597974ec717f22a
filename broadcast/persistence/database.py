"""Engine and session factory; SQLite gets WAL and foreign keys, PostgreSQL a sane pool."""
from __future__ import annotations

import json
import os
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import ExceptionContext, make_url
from sqlalchemy.exc import DataError
from sqlalchemy.orm import Session, sessionmaker

from broadcast.domain.errors import Conflict, InvalidInput
from broadcast.persistence.folding import register_sqlite_fold

# A unique key hit by two writers racing (SQLite's extended result codes, PostgreSQL's SQLSTATE).
_SQLITE_UNIQUE = {1555, 2067}  # SQLITE_CONSTRAINT_PRIMARYKEY, SQLITE_CONSTRAINT_UNIQUE
_PG_UNIQUE = "23505"
_SQLITE_FOREIGN_KEY = 787  # SQLITE_CONSTRAINT_FOREIGNKEY
_PG_FOREIGN_KEY = "23503"


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            _create_private(Path(parsed.database))
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                               json_serializer=compact_json)
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
            url = str(parsed.set(drivername="postgresql+psycopg"))
        engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, json_serializer=compact_json)
    event.listen(engine, "handle_error", _refusal_is_a_domain_error)
    return engine


def _create_private(database: Path) -> None:
    """Create the SQLite file 0600 (its directory 0700) before SQLite does, whatever the umask: SQLite would make
    it 0644, and gives the -wal and -shm files the database file's mode."""
    database.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return  # an existing database keeps the mode its operator gave it
    os.fchmod(fd, 0o600)
    os.close(fd)


def _refusal_is_a_domain_error(context: ExceptionContext) -> None:
    """The database refusing a value or a change is a 4xx for the caller, not a 500; other errors pass as they are.

    Use cases check before they insert; a unique violation means another request created the same thing in
    between: the loser gets a Conflict with a message to retry. A foreign key violation: a row still in use (or
    gone meanwhile). A value no column can hold (SQLite's 64-bit overflow, PostgreSQL's data exceptions such as
    integer out of range): invalid input."""
    original = context.original_exception
    code = getattr(original, "sqlite_errorcode", None)
    state = getattr(original, "sqlstate", None)
    if code in _SQLITE_UNIQUE or state == _PG_UNIQUE:
        raise Conflict("Dữ liệu này vừa được một yêu cầu khác ghi cùng lúc; vui lòng tải lại và thử lại.",
                       code="concurrent_change") from context.sqlalchemy_exception
    if code == _SQLITE_FOREIGN_KEY or state == _PG_FOREIGN_KEY:
        raise Conflict("Dữ liệu này đang được dữ liệu khác sử dụng hoặc dữ liệu liên quan không còn, không thể lưu.",
                       code="still_referenced") from context.sqlalchemy_exception
    if isinstance(original, OverflowError) or isinstance(context.sqlalchemy_exception, DataError):
        raise InvalidInput("Giá trị gửi lên vượt giới hạn lưu trữ (số quá lớn, chuỗi quá dài hoặc ký tự không hợp lệ).",
                           code="invalid_value") from original


def compact_json(value: object) -> str:
    """JSON columns are stored in the device protocol's wire encoding (sorted keys, no spaces, raw UTF-8), so
    the schedule outbox can publish a stored document as it is, without decoding and re-encoding it."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
    register_sqlite_fold(dbapi_connection)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def ping(engine: Engine) -> None:
    """Raise if the database cannot answer a trivial query."""
    from sqlalchemy import text

    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
