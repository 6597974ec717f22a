"""PostgreSQL array parameters of the inbox's set-wise statements (persistence/array_rows.py): sent in binary,
values round-trip exactly (quotes, braces, Vietnamese, NULLs, offsets, 64-bit numbers, no rows at all), and a naive
datetime is still refused as UtcDateTime refuses it."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from psycopg import pq
from psycopg.adapt import PyFormat, Transformer
from sqlalchemy import BigInteger, String, bindparam, func, select
from sqlalchemy.exc import StatementError

from broadcast.persistence.array_rows import BinaryArray
from broadcast.persistence.models import UtcDateTime
from tests.support.postgres import POSTGRES_ONLY

pytestmark = [pytest.mark.integration, POSTGRES_ONLY]
HANOI = timezone(timedelta(hours=7))
ROWS = select(func.unnest(bindparam("s", type_=BinaryArray(String(64))),
                          bindparam("d", type_=BinaryArray(UtcDateTime())),
                          bindparam("n", type_=BinaryArray(BigInteger()))).table_valued("s", "d", "n").render_derived())


@pytest.fixture
def postgres(container):
    return container.engine


def test_array_parameters_are_dumped_in_binary(postgres):
    value = BinaryArray(UtcDateTime()).bind_processor(postgres.dialect)([datetime(2026, 12, 1, tzinfo=UTC)])
    assert Transformer().get_dumper(value, PyFormat.AUTO).format == pq.Format.BINARY


def test_values_round_trip(postgres):
    texts = ["Thôn 3 'Đông' {x,y} \"q\" \\", None, ""]
    times = [datetime(2026, 12, 1, 7, 0, 0, 123456, tzinfo=HANOI), None, datetime(2026, 12, 1, tzinfo=UTC)]
    numbers = [8 * 1024 ** 4, None, -1]
    with postgres.connect() as connection:
        rows = connection.execute(ROWS, {"s": texts, "d": times, "n": numbers}).all()
        assert [tuple(r) for r in rows] == list(zip(texts, times, numbers, strict=True))
        assert connection.execute(ROWS, {"s": [], "d": [], "n": []}).all() == []
        with pytest.raises(StatementError, match="naive datetime"):
            connection.execute(ROWS, {"s": ["a"], "d": [datetime(2026, 12, 1)], "n": [1]})
