"""Vietnamese text made speakable before text-to-speech: figures, dates, times, legal citations, abbreviations.

espeak-ng reads "UBND" as an English word, "36/2024/QH15" as a run of figures and slashes and "6h30" letter by
letter; an officer reads them as "Ủy ban nhân dân", "số ba mươi sáu năm hai nghìn không trăm hai mươi bốn Quốc
hội khóa mười lăm" and "sáu giờ ba mươi phút". `normalize_vi` rewrites the text the way the officer reads it, by
rules applied in a fixed order (each rule sees the words the earlier ones wrote, never their figures):

1. legal citations: 36/2024/QH15, 100/2019/NĐ-CP, 123/QĐ-UBND ("số ..." once, even after "Luật số");
2. the pronunciation dictionary: whole words, case-sensitive, longest term first;
3. hotlines (after "gọi", "đường dây nóng"...) and phone numbers (0... or +84..., 10-11 digits): digit by digit;
4. times 06:30, 6h30; dates 05/12/2026, 05/12, 12/2026, "tháng 4" (tháng tư);
5. roman numerals after Chương, Phần, Mục, khóa; ordinals "thứ 1" (thứ nhất), "thứ 4" (thứ tư);
6. ranges 5-7 (năm đến bảy), then every remaining figure: 10.000 (thousands), 2,5 (decimal comma), a sign, and
   the unit after it (%, km, m2, kg, °C, đ...).

Pure functions; vi_numbers.py reads the figures.
"""
from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Mapping

from .pronunciations import DEFAULT_PRONUNCIATIONS
from .vi_numbers import MAX_READ, read_digits, read_fraction, read_integer

# Parts of a legal document's code (after its number and year) that are too ambiguous for the dictionary.
LEGAL_CODES: Mapping[str, str] = {
    "NĐ": "Nghị định", "QĐ": "Quyết định", "NQ": "Nghị quyết", "TT": "Thông tư", "TTLT": "Thông tư liên tịch",
    "CT": "Chỉ thị", "KH": "Kế hoạch", "TB": "Thông báo", "BC": "Báo cáo", "HD": "Hướng dẫn", "CV": "Công văn",
    "CP": "Chính phủ", "TTg": "Thủ tướng Chính phủ", "QH": "Quốc hội", "UBTVQH": "Ủy ban Thường vụ Quốc hội",
    "VPCP": "Văn phòng Chính phủ", "BTC": "Bộ Tài chính", "BCT": "Bộ Công Thương", "BXD": "Bộ Xây dựng",
    "BGTVT": "Bộ Giao thông vận tải", "BKHĐT": "Bộ Kế hoạch và Đầu tư", "NHNN": "Ngân hàng Nhà nước",
    "BVHTTDL": "Bộ Văn hóa Thể thao và Du lịch", "BKHCN": "Bộ Khoa học và Công nghệ", "BNG": "Bộ Ngoại giao",
    "TANDTC": "Tòa án nhân dân tối cao", "VKSNDTC": "Viện kiểm sát nhân dân tối cao",
}
UNITS: Mapping[str, str] = {
    "%": "phần trăm", "km/h": "ki-lô-mét trên giờ", "km²": "ki-lô-mét vuông", "km2": "ki-lô-mét vuông",
    "km": "ki-lô-mét", "m²": "mét vuông", "m2": "mét vuông", "m³": "mét khối", "m3": "mét khối",
    "cm": "xăng-ti-mét", "mm": "mi-li-mét", "m": "mét", "kg": "ki-lô-gam", "g": "gam", "ha": "héc-ta",
    "ml": "mi-li-lít", "kWh": "ki-lô-oát giờ", "°C": "độ xê", "°": "độ", "đ": "đồng", "VNĐ": "đồng",
    "VND": "đồng", "USD": "đô la Mỹ", "h": "giờ",
}
ROMAN = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100}

_CITATION = re.compile(
    r"(?<![\w/.,])(?:(?P<so>[Ss]ố)\s+)?(?P<number>\d{1,6})(?:/(?P<year>\d{4}))?"
    r"/(?P<code>[A-ZĐ][A-Za-zĐđ0-9&]*(?:-[A-ZĐ][A-Za-zĐđ0-9&]*)*)(?![\w-])")
_CODE_WITH_TERM = re.compile(r"(?P<letters>[A-Za-zĐđ]+?)(?P<digits>\d+)")
_HOTLINE = re.compile(r"(?P<lead>(?:gọi|tổng đài|đường dây nóng|hotline|số máy)\s*:?\s+)(?P<digits>\d(?:[ .]?\d)+)",
                      re.IGNORECASE)
_PHONE = re.compile(r"(?<![\w.,/:+])(?P<prefix>\+84[ .]?|0)(?P<rest>\d(?:[ .]?\d){8,9})(?![.,]?\d)")
_CLOCK = re.compile(r"(?<![\d:])(?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2}))?(?![\d:])")
_HOUR_MARK = re.compile(r"(?<![\w.,])(?P<h>\d{1,2})h(?:(?P<m>\d{2})(?:'|ph|p)?)?(?!\w)")
_FULL_DATE = re.compile(r"(?<![\w/.,])(?:(?P<day_word>[Nn]gày)\s+)?(?P<d>\d{1,2})(?P<sep>[/.-])(?P<m>\d{1,2})"
                        r"(?P=sep)(?P<y>\d{4})(?!\d)")
_MONTH_YEAR = re.compile(r"(?<![\w/.,])(?:(?P<month_word>[Tt]háng)\s+)?(?P<m>\d{1,2})/(?P<y>\d{4})(?![\w/]|[.,]\d)")
_DAY_MONTH = re.compile(r"(?<![\w/.,])(?:(?P<day_word>[Nn]gày)\s+)?(?P<d>\d{1,2})/(?P<m>\d{1,2})(?![\w/]|[.,]\d)")
_MONTH = re.compile(r"(?<!\w)(?P<month_word>[Tt]háng)\s+(?P<m>\d{1,2})(?![\w/]|[.,]\d)")
_ROMAN_AFTER = re.compile(r"(?<!\w)(?P<lead>(?:[Cc]hương|[Pp]hần|[Mm]ục|[Kk]hóa|[Kk]hoá)\s+)(?P<roman>[IVXLC]+)(?!\w)")
_ORDINAL = re.compile(r"(?<!\w)(?P<lead>[Tt]hứ\s+)(?P<n>\d+)(?!\w|[.,]\d)")
_RANGE = re.compile(r"(?<=\d)\s?[-–]\s?(?=\d)")
_FRACTION = re.compile(r"(?<=\d)/(?=\d)")
_UNIT_ALTERNATIVES = "|".join(re.escape(u) for u in sorted(UNITS, key=len, reverse=True))
_NUMBER = re.compile(
    r"(?P<sign>(?<![\w)])-)?(?P<int>\d{1,3}(?:\.\d{3})+(?!\d)|\d+)(?:,(?P<frac>\d+))?"
    rf"(?:\s?(?P<unit>{_UNIT_ALTERNATIVES})(?!\w))?")
_SPACES = re.compile(r"[ \t]+")


def read_month(month: int) -> str:
    """April is "tháng tư", never "tháng bốn"."""
    return "tư" if month == 4 else read_integer(month)


def _roman_value(roman: str) -> int | None:
    values = [ROMAN[c] for c in roman]
    total = sum(-v if i + 1 < len(values) and v < values[i + 1] else v for i, v in enumerate(values))
    return total if 0 < total < 200 and _to_roman(total) == roman else None


def _to_roman(value: int) -> str:
    out = ""
    for number, letters in ((100, "C"), (90, "XC"), (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"),
                            (4, "IV"), (1, "I")):
        count, value = divmod(value, number)
        out += letters * count
    return out


# ------------------------------------------------------------------ legal citations

def _code_part(part: str, dictionary: Mapping[str, str]) -> str:
    spoken = dictionary.get(part) or LEGAL_CODES.get(part)
    if spoken:
        return spoken
    term = _CODE_WITH_TERM.fullmatch(part)
    if term is None:
        return part
    letters = term["letters"]
    name = dictionary.get(letters) or LEGAL_CODES.get(letters) or letters
    # QH15: the 15th National Assembly (khóa), as every law's code names the legislature that passed it.
    joiner = " khóa " if letters.endswith("QH") else " "
    return name + joiner + read_integer(int(term["digits"]))


def _read_code(code: str, dictionary: Mapping[str, str]) -> str:
    if code in dictionary:
        return dictionary[code]
    return " ".join(_code_part(part, dictionary) for part in code.split("-"))


def _citations(text: str, dictionary: Mapping[str, str]) -> str:
    def spoken(match: re.Match[str]) -> str:
        words = [match["so"] or "số", read_integer(int(match["number"]))]
        if match["year"]:
            words += ["năm", read_integer(int(match["year"]))]
        return " ".join([*words, _read_code(match["code"], dictionary)])

    return _CITATION.sub(spoken, text)


# ------------------------------------------------------------------ the dictionary

@functools.lru_cache(maxsize=8)
def _terms_pattern(terms: tuple[str, ...]) -> re.Pattern[str] | None:
    if not terms:
        return None
    alternatives = "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")


def expand_terms(text: str, dictionary: Mapping[str, str]) -> str:
    """Whole-word, case-sensitive replacement; a longer term wins over a shorter one at the same place."""
    pattern = _terms_pattern(tuple(sorted(dictionary)))
    return pattern.sub(lambda m: dictionary[m[0]], text) if pattern else text


# ------------------------------------------------------------------ phones, times, dates

def _phones(text: str) -> str:
    text = _HOTLINE.sub(lambda m: m["lead"] + read_digits(m["digits"]), text)
    def phone(match: re.Match[str]) -> str:
        lead = "cộng tám bốn" if match["prefix"].startswith("+") else "không"
        return f"{lead} {read_digits(match['rest'])}"

    return _PHONE.sub(phone, text)


def _time_words(hours: int, minutes: int, seconds: int = 0) -> str:
    words = [read_integer(hours), "giờ"]
    if minutes:
        words += [read_integer(minutes), "phút"]
    if seconds:
        words += [read_integer(seconds), "giây"]
    return " ".join(words)


def _times(text: str) -> str:
    def clock(match: re.Match[str]) -> str:
        h, m, s = int(match["h"]), int(match["m"]), int(match["s"] or 0)
        return _time_words(h, m, s) if h <= 24 and m < 60 and s < 60 else match[0]

    def hour_mark(match: re.Match[str]) -> str:
        h, m = int(match["h"]), int(match["m"] or 0)
        return _time_words(h, m) if h <= 24 and m < 60 else match[0]

    return _HOUR_MARK.sub(hour_mark, _CLOCK.sub(clock, text))


def _is_date(day: int, month: int) -> bool:
    return 1 <= day <= 31 and 1 <= month <= 12


def _dates(text: str) -> str:
    def full(match: re.Match[str]) -> str:
        d, m = int(match["d"]), int(match["m"])
        if not _is_date(d, m):
            return match[0]
        return (f"{match['day_word'] or 'ngày'} {read_integer(d)} tháng {read_month(m)} "
                f"năm {read_integer(int(match['y']))}")

    def month_year(match: re.Match[str]) -> str:
        m = int(match["m"])
        if not 1 <= m <= 12:
            return match[0]
        return f"{match['month_word'] or 'tháng'} {read_month(m)} năm {read_integer(int(match['y']))}"

    def day_month(match: re.Match[str]) -> str:
        d, m = int(match["d"]), int(match["m"])
        if not _is_date(d, m):
            return match[0]
        return f"{match['day_word'] or 'ngày'} {read_integer(d)} tháng {read_month(m)}"

    def month(match: re.Match[str]) -> str:
        m = int(match["m"])
        return f"{match['month_word']} {read_month(m)}" if 1 <= m <= 12 else match[0]

    text = _FULL_DATE.sub(full, text)
    text = _MONTH_YEAR.sub(month_year, text)
    text = _DAY_MONTH.sub(day_month, text)
    return _MONTH.sub(month, text)


# ------------------------------------------------------------------ numbers

def _ordinals_and_romans(text: str) -> str:
    def roman(match: re.Match[str]) -> str:
        value = _roman_value(match["roman"])
        return match["lead"] + read_integer(value) if value else match[0]

    def ordinal(match: re.Match[str]) -> str:
        n = int(match["n"])
        return match["lead"] + {1: "nhất", 4: "tư"}.get(n, read_integer(n))

    return _ORDINAL.sub(ordinal, _ROMAN_AFTER.sub(roman, text))


def _figure(match: re.Match[str]) -> str:
    whole = match["int"]
    if whole.startswith("0") and len(whole) >= 3 and match["frac"] is None:
        words = read_digits(whole)  # a code or a number written with its zeros: 001, 0243
    else:
        value = int(whole.replace(".", ""))
        words = read_integer(value) if value < MAX_READ else read_digits(whole)
        if match["frac"] is not None:
            words += " phẩy " + read_fraction(match["frac"])
    if match["sign"]:
        words = "âm " + words
    if match["unit"]:
        words += " " + UNITS[match["unit"]]
    # A figure inside a word (H5N1, QL1A) becomes words of its own.
    before, after = match.string[match.start() - 1:match.start()], match.string[match.end():match.end() + 1]
    return (" " if before.isalnum() else "") + words + (" " if after.isalnum() else "")


def _numbers(text: str) -> str:
    text = _RANGE.sub(" đến ", text)
    text = _FRACTION.sub(" trên ", text)
    return _NUMBER.sub(_figure, text)


def normalize_vi(text: str, dictionary: Mapping[str, str] | None = None) -> str:
    """The text as it should be spoken; `dictionary` maps abbreviations to their reading (default: the
    built-in one; the server passes the defaults merged with the administrators' entries)."""
    terms = DEFAULT_PRONUNCIATIONS if dictionary is None else dictionary
    text = unicodedata.normalize("NFC", text)
    text = _citations(text, terms)
    text = expand_terms(text, terms)
    text = _phones(text)
    text = _times(text)
    text = _dates(text)
    text = _ordinals_and_romans(text)
    text = _numbers(text)
    text = text.replace("&", " và ")
    return "\n".join(_SPACES.sub(" ", line).strip() for line in text.splitlines()).strip()
