"""The administrators' pronunciation entries in SQL: one row per term (case-sensitive, as it is matched)."""
from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from broadcast.domain.pronunciations import Pronunciation
from broadcast.persistence.models import PronunciationRow
from broadcast.persistence.repositories import _aware, affected_rows


def _entry(row: PronunciationRow) -> Pronunciation:
    return Pronunciation(term=row.term, spoken=row.spoken, updated_at=_aware(row.updated_at),
                         updated_by=row.updated_by)


class SqlPronunciationRepository:
    def __init__(self, session: Session):
        self.session = session

    def all(self) -> Sequence[Pronunciation]:
        return [_entry(r) for r in self.session.scalars(select(PronunciationRow).order_by(PronunciationRow.term))]

    def get(self, term: str) -> Pronunciation | None:
        row = self.session.get(PronunciationRow, term)
        return _entry(row) if row else None

    def put(self, entry: Pronunciation) -> None:
        row = self.session.get(PronunciationRow, entry.term)
        if row is None:
            row = PronunciationRow(term=entry.term)
            self.session.add(row)
        row.spoken, row.updated_at, row.updated_by = entry.spoken, entry.updated_at, entry.updated_by
        self.session.flush()

    def delete(self, term: str) -> bool:
        result = self.session.execute(delete(PronunciationRow).where(PronunciationRow.term == term),
                                      execution_options={"synchronize_session": False})
        return (affected_rows(result) or 0) > 0
