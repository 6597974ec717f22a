"""The scheduler's leader lease in SQL: one conditional upsert to take it, conditional updates to keep it.

Every statement names the fencing token it acts for, so a former holder's renewal or check fails once another
process has taken the lease (the token then is larger)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from broadcast.persistence.models import core_table
from broadcast.persistence.models_lease import SchedulerLeaseRow
from broadcast.persistence.repositories import _aware
from broadcast.services.ports import LeaseState

_TABLE = core_table(SchedulerLeaseRow)


class SqlLeaseRepository:
    def __init__(self, session: Session):
        self.session = session

    def acquire(self, name: str, holder: str, *, now: datetime, until: datetime) -> int | None:
        """Take the lease when nobody holds it or its holding expired; the new fencing token, else None.

        One INSERT ... ON CONFLICT DO UPDATE WHERE: two processes racing for an expired lease cannot both win
        (the row is locked by the first update, the second sees the new expiry and updates nothing)."""
        dialect = postgresql if self.session.get_bind().dialect.name == "postgresql" else sqlite
        stmt = dialect.insert(_TABLE).values(name=name, holder=holder, token=1, expires_at=until)
        stmt = stmt.on_conflict_do_update(
            index_elements=[_TABLE.c.name],
            set_={"holder": stmt.excluded.holder, "token": _TABLE.c.token + 1, "expires_at": stmt.excluded.expires_at},
            where=_TABLE.c.expires_at <= now,
        ).returning(_TABLE.c.token)
        return self.session.execute(stmt).scalar_one_or_none()

    def renew(self, name: str, token: int, *, until: datetime) -> bool:
        """Extend the holding of `token`; False when another holder took the lease meanwhile."""
        result = self.session.execute(update(_TABLE).where(_TABLE.c.name == name, _TABLE.c.token == token)
                                      .values(expires_at=until))
        return result.rowcount == 1  # type: ignore[attr-defined]

    def release(self, name: str, token: int, *, now: datetime) -> None:
        """End the holding of `token` at once (clean shutdown): a follower takes over without waiting."""
        self.session.execute(update(_TABLE).where(_TABLE.c.name == name, _TABLE.c.token == token)
                             .values(expires_at=now))

    def current(self, name: str, *, lock: bool = False) -> LeaseState | None:
        """The lease as stored. `lock`: keep it from changing hands until this transaction ends (PostgreSQL:
        FOR SHARE, so a takeover waits for a publication being checked; SQLite has one writer anyway)."""
        stmt = select(_TABLE.c.holder, _TABLE.c.token, _TABLE.c.expires_at).where(_TABLE.c.name == name)
        if lock:
            stmt = stmt.with_for_update(read=True)
        row = self.session.execute(stmt).one_or_none()
        return None if row is None else LeaseState(name, row.holder, row.token, _aware(row.expires_at))
