"""A unique key hit by a racing writer is a Conflict (409 with a message), on both databases; other integrity
errors still fail loudly as what they are."""
from __future__ import annotations

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from broadcast.domain.errors import Conflict
from broadcast.persistence.database import make_engine
from broadcast.persistence.models import AreaRow
from tests.support.app import HANOI

pytestmark = pytest.mark.integration


@pytest.fixture
def engine(database_url: str):
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def test_a_duplicate_key_is_a_conflict(engine) -> None:
    with engine.connect() as connection:
        with pytest.raises(Conflict) as caught:
            connection.execute(insert(AreaRow).values(code=HANOI, name="Hà Nội", level="province",
                                                      division_type="thành phố", parent_code=None))
        connection.rollback()
    assert caught.value.code == "concurrent_change"
    assert "thử lại" in caught.value.message


def test_other_integrity_errors_are_not_dressed_up(engine) -> None:
    with engine.connect() as connection:
        with pytest.raises(IntegrityError):  # NOT NULL: a bug, not a race
            connection.execute(insert(AreaRow).values(code="99999", name=None, level="commune",
                                                      division_type="xã", parent_code=HANOI))
        connection.rollback()


def test_a_foreign_key_refusal_is_a_conflict(engine) -> None:
    """A row still in use, or a parent deleted meanwhile by another request: 409 for the caller, not a 500."""
    with engine.connect() as connection:
        with pytest.raises(Conflict) as caught:
            connection.execute(insert(AreaRow).values(code="99998", name="x", level="commune",
                                                      division_type="xã", parent_code="nowhere"))
        connection.rollback()
    assert caught.value.code == "still_referenced"
