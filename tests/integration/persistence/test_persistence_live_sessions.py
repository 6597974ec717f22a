"""Live sessions in SQL: the day's sessions (for the daily cap) are found by a local day's bounds on both engines,
whatever zone the bounds are written in."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from broadcast.domain.live import LiveSession, LiveStatus
from tests.support.app import HOAN_KIEM, make_container, wipe

pytestmark = pytest.mark.integration
VN = ZoneInfo("Asia/Ho_Chi_Minh")


def _session(created_at: datetime) -> LiveSession:
    return LiveSession(id=0, status=LiveStatus.ENDED, priority="normal", area_code=HOAN_KIEM,
                       targets={"chains": [[HOAN_KIEM]]}, mount=f"m-{created_at.timestamp()}", stream_url="u",
                       created_by="x", created_at=created_at, ends_at=created_at + timedelta(hours=1))


def test_the_sessions_of_a_local_day(tmp_path, database_url):
    container = make_container(tmp_path, database_url)
    try:
        # 23:30 local on the 30th, 00:10 and 23:50 local on the 1st, 00:00 local on the 2nd.
        times = [datetime(2026, 11, 30, 16, 30, tzinfo=UTC), datetime(2026, 11, 30, 17, 10, tzinfo=UTC),
                 datetime(2026, 12, 1, 16, 50, tzinfo=UTC), datetime(2026, 12, 1, 17, 0, tzinfo=UTC)]
        with container.uow() as uow:
            ids = [uow.live.add(_session(t)).id for t in times]
            uow.commit()
        day = datetime(2026, 12, 1, tzinfo=VN)
        with container.uow() as uow:
            found = uow.live.created_between(day, day + timedelta(days=1))
        assert [s.id for s in found] == ids[1:3]
        assert found[0].created_at == times[1]
    finally:
        wipe(container)
        container.close()
