"""Vietnamese number reading, written here because no package read numbers right (docs/text-normalizer.md).

The rules, as taught and as officers read figures aloud: mười for ten but mươi for twenty and up; mốt for a
final one after twenty (hai mươi mốt, but mười một); lăm for a final five after a ten (mười lăm, một trăm
lẻ năm); lẻ for a zero ten inside a group (một trăm lẻ năm); and every group after the first read in full,
so 2024 is "hai nghìn không trăm hai mươi bốn". Groups that are all zeros are left out (một triệu).
"""
from __future__ import annotations

DIGITS = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")
BILLION = 10**9
MAX_READ = 10**18  # above a tỷ tỷ a figure is read digit by digit


def read_digits(digits: str) -> str:
    """Each digit on its own: phone numbers, codes, a figure with a leading zero."""
    return " ".join(DIGITS[int(d)] for d in digits if d.isdigit())


def _tens_and_units(tens: int, units: int) -> list[str]:
    words: list[str] = []
    if tens == 1:
        words.append("mười")
    elif tens > 1:
        words += [DIGITS[tens], "mươi"]
    if units == 0:
        return words
    if units == 1 and tens > 1:
        words.append("mốt")
    elif units == 5 and tens > 0:
        words.append("lăm")
    else:
        words.append(DIGITS[units])
    return words


def _group(value: int, full: bool) -> list[str]:
    """Words for 0 < value < 1000; `full` reads the hundreds and a zero ten even when they are zero."""
    hundreds, rest = divmod(value, 100)
    tens, units = divmod(rest, 10)
    words: list[str] = []
    if hundreds or full:
        words += [DIGITS[hundreds], "trăm"]
        if tens == 0 and units:
            words.append("lẻ")
    return words + _tens_and_units(tens, units)


def _below_billion(value: int, full: bool) -> list[str]:
    words: list[str] = []
    for scale, name in ((10**6, "triệu"), (10**3, "nghìn"), (1, "")):
        group, value = divmod(value, scale)
        if group:
            words += _group(group, full)
            if name:
                words.append(name)
            full = True  # whatever follows a group that was read is read in full
    return words


def _words(value: int, full: bool) -> list[str]:
    if value >= BILLION:
        high, low = divmod(value, BILLION)
        return _words(high, full) + ["tỷ"] + (_below_billion(low, True) if low else [])
    return _below_billion(value, full)


def read_integer(value: int) -> str:
    """36 -> "ba mươi sáu", 105 -> "một trăm lẻ năm", 1000000 -> "một triệu"; negatives with "âm"."""
    if value < 0:
        return "âm " + read_integer(-value)
    if value == 0:
        return DIGITS[0]
    if value >= MAX_READ:
        return read_digits(str(value))
    return " ".join(_words(value, False))


def read_fraction(digits: str) -> str:
    """The part after the decimal comma: short parts as a number (2,25 -> hai mươi lăm), a leading zero or a
    long part digit by digit (2,05 -> không năm)."""
    if digits.startswith("0") or len(digits) > 3:
        return read_digits(digits)
    return read_integer(int(digits))


def read_decimal(whole: int, fraction: str) -> str:
    """2,5 -> "hai phẩy năm"."""
    return f"{read_integer(whole)} phẩy {read_fraction(fraction)}"
