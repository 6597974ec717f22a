"""UtcDateTime's fused SQLite binder writes exactly what SQLAlchemy's own DATETIME would, in UTC."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import DateTime, create_engine

from broadcast.persistence.models import UtcDateTime

SQLITE = create_engine("sqlite://").dialect


@pytest.mark.parametrize("value", [
    datetime(2026, 11, 29, 7, 0, tzinfo=timezone(timedelta(hours=7))),  # Hà Nội, the day before in UTC
    datetime(1999, 1, 2, 3, 4, 5, 123456, tzinfo=UTC),
    datetime(2030, 12, 31, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-5))),
])
def test_sqlite_text_equals_sqlalchemy_storage_format(value: datetime) -> None:
    ours = UtcDateTime().bind_processor(SQLITE)
    theirs = DateTime().dialect_impl(SQLITE).bind_processor(SQLITE)
    assert ours(value) == theirs(value.astimezone(UTC).replace(tzinfo=None))


def test_naive_datetime_is_refused_and_none_passes() -> None:
    bind = UtcDateTime().bind_processor(SQLITE)
    assert bind(None) is None
    with pytest.raises(ValueError, match="naive"):
        bind(datetime(2026, 1, 1))
