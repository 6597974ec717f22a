"""A play missed because the amplifier was switched off on purpose (ack reason power_off, spec 9.2) is counted as
such in the reports, live and in the stored daily figures, and not as a miss."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert

from broadcast.persistence.models import PlayLogRow
from broadcast.services.reports import aggregates
from tests.support.app import HOAN_KIEM

pytestmark = pytest.mark.integration
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
DAY = date(2026, 11, 27)


def test_power_off_misses_are_counted_apart(container, clock):
    start = datetime(2026, 11, 27, 6, tzinfo=TZ).astimezone(UTC)
    rows = [{"device_id": f"hk-{n}", "commune_code": HOAN_KIEM, "item_id": f"occ-{n}", "title": "Bản tin",
             "planned_start": start + timedelta(minutes=n), "outcome": outcome, "reason": reason,
             "recorded_at": start + timedelta(hours=1)}
            for n, (outcome, reason) in enumerate([("missed", "power_off"), ("missed", "power_off"),
                                                   ("missed", None), ("played", None)])]
    with container.engine.begin() as connection:
        connection.execute(insert(PlayLogRow), rows)
    with container.uow() as uow:
        live = aggregates.compute_day(uow, DAY, TZ, now=clock.now(), area=HOAN_KIEM)
    (commune,) = live.communes
    assert (commune.played, commune.missed, commune.powered_off) == (1, 1, 2)
    aggregates.store_days(container.uow, clock, TZ, [DAY])
    with container.uow() as uow:
        (stored,) = uow.reports.commune_days(DAY, DAY, HOAN_KIEM)
    assert (stored.missed, stored.powered_off) == (1, 2)
