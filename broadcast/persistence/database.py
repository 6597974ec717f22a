"""Engine and session factory; SQLite gets WAL and foreign keys, PostgreSQL a sane pool."""
from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import ExceptionContext, make_url
from sqlalchemy.orm import Session, sessionmaker

from broadcast.domain.errors import Conflict

# A unique key hit by two writers racing (SQLite's extended result codes, PostgreSQL's SQLSTATE).
_SQLITE_UNIQUE = {1555, 2067}  # SQLITE_CONSTRAINT_PRIMARYKEY, SQLITE_CONSTRAINT_UNIQUE
_PG_UNIQUE = "23505"


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                               json_serializer=compact_json)
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
            url = str(parsed.set(drivername="postgresql+psycopg"))
        engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, json_serializer=compact_json)
    event.listen(engine, "handle_error", _unique_violation_is_a_conflict)
    return engine


def _unique_violation_is_a_conflict(context: ExceptionContext) -> None:
    """Use cases check before they insert; a unique violation means another request created the same thing in
    between. The loser gets a Conflict (409, a message to retry) instead of a 500; other errors pass as they are."""
    original = context.original_exception
    unique = getattr(original, "sqlite_errorcode", None) in _SQLITE_UNIQUE or \
        getattr(original, "sqlstate", None) == _PG_UNIQUE
    if unique:
        raise Conflict("Dữ liệu này vừa được một yêu cầu khác ghi cùng lúc; vui lòng tải lại và thử lại.",
                       code="concurrent_change") from context.sqlalchemy_exception


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


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def ping(engine: Engine) -> None:
    """Raise if the database cannot answer a trivial query."""
    from sqlalchemy import text

    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
