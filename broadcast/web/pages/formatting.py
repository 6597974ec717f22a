"""Dates and times as officers read them: local time of the deployment, dd/mm/yyyy, 24-hour clock, Vietnamese
weekday names. One helper, used by every template through the Jinja filters."""
from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo

WEEKDAYS_VI = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật")
PATTERNS = {
    "date": "%d/%m/%Y",
    "time": "%H:%M",
    "datetime": "%H:%M %d/%m/%Y",
}


def local_format(value: datetime | date | None, tz: tzinfo, style: str = "datetime") -> str:
    """`value` in local time as `style`: date, time, datetime or long ("Thứ Bảy, 28/11/2026").

    A naive datetime is taken as UTC (how the database hands some back); a plain date has no time zone to convert.
    """
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(tz)
    elif style in ("time", "datetime"):
        raise ValueError(f"a date has no time of day to format as {style!r}")
    if style == "long":
        return f"{WEEKDAYS_VI[value.weekday()]}, {value.strftime(PATTERNS['date'])}"
    return value.strftime(PATTERNS[style])
