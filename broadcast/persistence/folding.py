"""`folded(column)`: a column as `domain.text.fold` would write it, computed by the database, for searches that
ignore Vietnamese diacritics and case on tables too large to keep a folded copy of every text (the play log).

SQLite calls fold itself (a function registered on each connection, `register_sqlite_fold`); PostgreSQL lowers the
text and translates each accented letter to its base (built from fold, so both engines agree)."""
from __future__ import annotations

from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import String

from broadcast.domain.text import fold

SQLITE_FUNCTION = "loaxa_fold"
# Every lower-case Vietnamese letter that fold changes, and what it becomes.
_ACCENTED = "àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ"
_BARE = "".join(fold(ch) for ch in _ACCENTED)


class folded(FunctionElement):  # noqa: N801 - reads as a SQL function
    type = String()
    inherit_cache = True


@compiles(folded, "sqlite")
def _sqlite(element, compiler, **kw) -> str:
    return f"{SQLITE_FUNCTION}({compiler.process(element.clauses, **kw)})"


@compiles(folded, "postgresql")
def _postgresql(element, compiler, **kw) -> str:
    return f"translate(lower({compiler.process(element.clauses, **kw)}), '{_ACCENTED}', '{_BARE}')"


def register_sqlite_fold(dbapi_connection) -> None:
    dbapi_connection.create_function(SQLITE_FUNCTION, 1, lambda v: None if v is None else fold(v), deterministic=True)
