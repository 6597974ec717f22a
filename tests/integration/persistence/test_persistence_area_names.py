"""Migration 0009 fills the folded name of the areas a deployment already has, so search by unaccented text works
right after `loaxa db upgrade`, before any re-seed."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from broadcast.persistence.database import make_engine
from broadcast.persistence.migrate import upgrade

pytestmark = pytest.mark.integration


def test_upgrade_fills_the_folded_names_of_existing_areas(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        upgrade(engine, "0008")
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO areas (code, name, level, division_type, parent_code) VALUES "
                                    "('37', 'Ninh Bình', 'province', 'tỉnh', NULL), "
                                    "('13285', 'Phường Châu Sơn', 'commune', 'phường', '37')"))
        upgrade(engine)
        with engine.connect() as connection:
            folded = dict(connection.execute(text("SELECT code, name_folded FROM areas")).all())
    finally:
        engine.dispose()
    assert folded == {"37": "ninh binh", "13285": "phuong chau son"}
