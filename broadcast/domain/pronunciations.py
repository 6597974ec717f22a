"""An administrator's entry in the pronunciation dictionary: how an abbreviation is read aloud by text-to-speech.

Entries sit on top of the built-in defaults (audio_library/pronunciations.py): an entry for a default term
replaces its reading, any other adds a term. Terms are abbreviations, matched as whole words and case-sensitively,
so a term is one word without blanks (hyphens, dots and & allowed: NĐ-CP, TP.HCM, GD&ĐT).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from broadcast.domain.errors import InvalidInput
from broadcast.domain.text import clean_text

TERM_MAX_CHARS = 40
SPOKEN_MAX_CHARS = 200
_TERM = re.compile(r"^[^\s/]+$")


@dataclass(frozen=True)
class Pronunciation:
    term: str
    spoken: str
    updated_at: datetime
    updated_by: str


def check_term(value: str) -> str:
    term = clean_text(value, "Từ viết tắt")
    if not term or len(term) > TERM_MAX_CHARS or not _TERM.match(term) or not any(c.isalpha() for c in term):
        raise InvalidInput(f"Từ viết tắt phải là một từ liền (không dấu cách, không dấu /), có chữ cái, tối đa "
                           f"{TERM_MAX_CHARS} ký tự, ví dụ UBND hoặc NĐ-CP.", code="invalid_term",
                           details={"field": "term"})
    return term


def check_spoken(value: str) -> str:
    spoken = " ".join(clean_text(value, "Cách đọc").split())
    if not spoken or len(spoken) > SPOKEN_MAX_CHARS:
        raise InvalidInput(f"Cách đọc phải có từ 1 đến {SPOKEN_MAX_CHARS} ký tự, ví dụ “Ủy ban nhân dân”.",
                           code="invalid_spoken", details={"field": "spoken"})
    return spoken
