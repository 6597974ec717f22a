"""A clock tests can move: token expiry and login throttling without sleeping."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta


class MutableClock:
    def __init__(self, start: datetime | None = None):
        self.current = start or datetime(2026, 11, 28, 14, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, **kwargs: float) -> None:
        self.current += timedelta(**kwargs)
