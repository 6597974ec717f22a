"""GET /api/v1/areas?q= finds areas the way officers type them: without diacritics, in any case, đ as d, on SQLite
and PostgreSQL (the folded name is stored: migration 0009)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from broadcast.domain.text import fold
from broadcast.persistence.models import AreaRow
from tests.support.app import HOAN_KIEM, user

pytestmark = pytest.mark.integration


def names(client, who, **params) -> list[str]:
    answer = client.get("/api/v1/areas", params={"limit": 50, **params}, headers=who.headers)
    assert answer.status_code == 200, answer.text
    return [a["name"] for a in answer.json()]


def test_search_ignores_diacritics_case_and_d(container, client):
    viewer = user(container, client, "viewer", "viewer", HOAN_KIEM)
    assert sorted(names(client, viewer, q="chau son")) == ["Phường Châu Sơn", "Xã Châu Sơn"]
    assert sorted(names(client, viewer, q="CHÂU SƠN")) == ["Phường Châu Sơn", "Xã Châu Sơn"]
    assert names(client, viewer, q="dak lak", level="province") == ["Đắk Lắk"]
    assert names(client, viewer, q="đồng tháp", level="province") == ["Đồng Tháp"]
    assert names(client, viewer, q="phuong  hoan kiem") == ["Phường Hoàn Kiếm"]
    assert names(client, viewer, q="chau son", parent="37") == ["Phường Châu Sơn"]


def test_like_wildcards_typed_in_a_search_match_themselves(container, client):
    viewer = user(container, client, "viewer", "viewer", HOAN_KIEM)
    assert names(client, viewer, q="%") == [] and names(client, viewer, q="_") == []
    assert len(names(client, viewer, q="   ", level="province")) == 34  # nothing typed: no filter


def test_every_seeded_area_has_its_folded_name(container):
    with container.engine.connect() as connection:
        rows = connection.execute(select(AreaRow.name, AreaRow.name_folded)).all()
    assert len(rows) == 3355
    assert all(folded == fold(name) for name, folded in rows)
