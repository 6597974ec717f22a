"""The one rule for text officers and outside systems give us (names, titles, reasons, texts to read), and how text
leaves us in spreadsheets.

Input is Unicode NFC, so a name typed with combining accents (NFD, as macOS and some Vietnamese keyboards send it)
and the same name typed precomposed are one name. Control and invisible formatting characters are refused: NUL
breaks PostgreSQL and C tools, and bidi overrides (U+202E) make a title read differently from what is stored.
"""
from __future__ import annotations

import re
import unicodedata
from typing import overload

from broadcast.domain.errors import InvalidInput

# Cc: C0 and C1 controls (NUL, ESC, TAB, ...); Cf: invisible formatting (bidi embeddings, overrides and isolates
# U+202A–U+202E and U+2066–U+2069, marks U+200E/U+200F, zero-width U+200B–U+200D, BOM U+FEFF, soft hyphen);
# Cs: lone surrogates (JSON can carry them, UTF-8 cannot store them); Zl/Zp: U+2028/U+2029, line breaks in disguise.
_REFUSED = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
# OWASP CSV injection: a spreadsheet runs a cell starting with one of these as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")


def _refused(ch: str, multiline: bool) -> bool:
    return not (multiline and ch == "\n") and unicodedata.category(ch) in _REFUSED


def clean_text(value: str | None, label: str, *, multiline: bool = False) -> str:
    """`value` in NFC without surrounding blanks; refuses any control or invisible formatting character.

    `label` names the field in the officer's message (e.g. "Tên vùng phát"). A multi-line text (a reason, a text
    to read, a description) keeps its line breaks, CR LF and CR becoming LF, and its tabs become spaces (pasted
    documents and CAP alerts indent with them); no other control character is allowed there either.
    """
    text = unicodedata.normalize("NFC", value or "")
    if multiline:
        text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    bad = next((ch for ch in text if _refused(ch, multiline)), None)
    if bad is not None:
        raise InvalidInput(f"{label} chứa ký tự điều khiển hoặc ký tự định dạng ẩn (U+{ord(bad):04X}), không được "
                           "phép; vui lòng nhập lại bằng chữ thông thường.", code="invalid_characters",
                           details={"field": label, "character": f"U+{ord(bad):04X}"})
    return text.strip()


def printable(value: str) -> str:
    """`value` without what clean_text refuses (newlines kept): for text stored before the rule existed."""
    return "".join(ch for ch in value if not _refused(ch, True))


@overload
def spreadsheet_cell(value: str) -> str: ...
@overload
def spreadsheet_cell(value: object) -> object: ...
def spreadsheet_cell(value: object) -> object:
    """A CSV or XLSX cell that no spreadsheet runs as a formula: text starting like one gets a leading apostrophe;
    numbers, and text that is just a number (a negative amount), stay as they are."""
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _NUMBER.match(value):
        return "'" + value
    return value


def fold(value: str) -> str:
    """`value` for matching as people type it: lower case, without Vietnamese diacritics (đ becomes d), blanks
    collapsed, so "chau  son" matches "Châu Sơn". Not for display: "Sơn" and "Són" fold alike."""
    decomposed = unicodedata.normalize("NFD", value.replace("đ", "d").replace("Đ", "D"))
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(bare.casefold().split())
