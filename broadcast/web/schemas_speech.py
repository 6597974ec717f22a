"""Bodies of the pronunciation dictionary and the emergency chime."""
from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from broadcast.domain.pronunciations import SPOKEN_MAX_CHARS
from broadcast.services.pronunciations import PronunciationView


class PronunciationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    spoken: str = Field(max_length=SPOKEN_MAX_CHARS * 2)  # blanks are collapsed before the real limit


class PronunciationOut(BaseModel):
    term: str
    spoken: str  # the reading in force
    default: str | None  # the built-in reading, for a default term
    custom: bool  # an administrator's entry sets the reading
    updated_at: datetime | None = None
    updated_by: str | None = None

    @classmethod
    def of(cls, view: PronunciationView) -> PronunciationOut:
        entry = view.entry
        return cls(term=view.term, spoken=view.spoken, default=view.default, custom=entry is not None,
                   updated_at=entry.updated_at if entry else None, updated_by=entry.updated_by if entry else None)


class ChimeOut(BaseModel):
    custom: bool  # an administrator's file replaced the default chime
    duration_ms: int | None = None
