"""Private calendar addresses in SQL: one row per user, found by the SHA-256 of the token."""
from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from broadcast.persistence.models import CalendarLinkRow
from broadcast.persistence.repositories import _aware, affected_rows
from broadcast.services.ports import CalendarLink


def _link(row: CalendarLinkRow) -> CalendarLink:
    return CalendarLink(user_id=row.user_id, token_hash=row.token_hash, area_code=row.area_code,
                        token_epoch=row.token_epoch, created_at=_aware(row.created_at))


class SqlCalendarLinkRepository:
    def __init__(self, session: Session):
        self.session = session

    def by_hash(self, token_hash: str) -> CalendarLink | None:
        row = self.session.scalar(select(CalendarLinkRow).where(CalendarLinkRow.token_hash == token_hash))
        return _link(row) if row else None

    def of_user(self, user_id: int) -> CalendarLink | None:
        row = self.session.get(CalendarLinkRow, user_id)
        return _link(row) if row else None

    def put(self, link: CalendarLink) -> None:
        """A new token replaces the user's old one: the old address stops working in the same transaction."""
        row = self.session.get(CalendarLinkRow, link.user_id)
        if row is None:
            row = CalendarLinkRow(user_id=link.user_id)
            self.session.add(row)
        row.token_hash, row.area_code = link.token_hash, link.area_code
        row.token_epoch, row.created_at = link.token_epoch, link.created_at
        self.session.flush()

    def delete(self, user_id: int) -> bool:
        result = self.session.execute(delete(CalendarLinkRow).where(CalendarLinkRow.user_id == user_id),
                                      execution_options={"synchronize_session": False})
        return (affected_rows(result) or 0) > 0
