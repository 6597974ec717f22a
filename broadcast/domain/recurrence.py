"""When a schedule plays: once, or an RFC 5545 recurrence subset, in local wall-clock time.

Supported RRULE parts: FREQ=DAILY|WEEKLY, INTERVAL, BYDAY (plain weekdays), COUNT or UNTIL, WKST.
Anything else is refused with a clear error rather than silently ignored.

Semantics follow RFC 5545 as implemented by python-dateutil (the reference in tests):
- DTSTART is a local wall-clock time in the timing's zone; every occurrence keeps that wall-clock time.
- DTSTART counts as an occurrence only if it matches the rule (e.g. WEEKLY;BYDAY=TU from a Monday starts on
  the Tuesday).
- COUNT counts occurrences before EXDATE removal; EXDATEs are local wall-clock datetimes.
- UNTIL is inclusive. With a trailing Z it is UTC; without it, local wall-clock time; a bare date means the
  whole of that local day.
- Validity (valid_from inclusive, valid_until exclusive) clips occurrences but never changes COUNT.

Expansion jumps straight to the requested window with arithmetic on day ordinals (no walking from DTSTART),
so a window costs time proportional to what it yields.

Cap (decision): a recurrence must be bounded by COUNT, UNTIL or valid_until, and may yield at most
MAX_OCCURRENCES occurrences in total within its validity; a timing that yields nothing is refused too.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from enum import StrEnum
from functools import lru_cache
from itertools import islice
from typing import overload
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from broadcast.domain.errors import InvalidInput

DEFAULT_TZ = "Asia/Ho_Chi_Minh"
MAX_OCCURRENCES = 5000
MAX_INTERVAL = 1000

WEEKDAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
WEEKDAY_NAMES_VI = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật")

_UNSUPPORTED_PARTS = {
    "BYMONTH", "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYHOUR", "BYMINUTE", "BYSECOND", "BYSETPOS",
}
_ORDINAL_MAX = date.max.toordinal()
_ORDINAL_MIN = date.min.toordinal()


class Freq(StrEnum):
    DAILY = "DAILY"
    WEEKLY = "WEEKLY"


def _invalid(message: str, code: str) -> InvalidInput:
    return InvalidInput(message, code=code)


@lru_cache(maxsize=64)
def zone_for(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise _invalid(f"Múi giờ không hợp lệ: {name!r}", "timing.invalid_timezone") from None


@dataclass(frozen=True)
class RRule:
    freq: Freq
    interval: int = 1
    byday: frozenset[int] = frozenset()  # 0 = Monday ... 6 = Sunday
    count: int | None = None
    until: datetime | date | None = None  # aware = absolute; naive datetime or date = local wall clock
    wkst: int = 0

    def __post_init__(self) -> None:
        if not 1 <= self.interval <= MAX_INTERVAL:
            raise _invalid(f"INTERVAL phải từ 1 đến {MAX_INTERVAL}", "recurrence.invalid")
        if self.count is not None and self.until is not None:
            raise _invalid("Không được dùng đồng thời COUNT và UNTIL", "recurrence.invalid")
        if self.count is not None and self.count < 1:
            raise _invalid("COUNT phải là số nguyên dương", "recurrence.invalid")
        if any(not 0 <= d <= 6 for d in self.byday) or not 0 <= self.wkst <= 6:
            raise _invalid("Thứ trong tuần không hợp lệ", "recurrence.invalid")

    @property
    def bounded(self) -> bool:
        return self.count is not None or self.until is not None

    def to_string(self) -> str:
        """Canonical RRULE text (stable part order) for storage and display."""
        parts = [f"FREQ={self.freq.value}"]
        if self.interval != 1:
            parts.append(f"INTERVAL={self.interval}")
        if self.byday:
            parts.append("BYDAY=" + ",".join(WEEKDAY_CODES[d] for d in sorted(self.byday)))
        if self.wkst != 0:
            parts.append(f"WKST={WEEKDAY_CODES[self.wkst]}")
        if self.count is not None:
            parts.append(f"COUNT={self.count}")
        if isinstance(self.until, datetime):
            if self.until.tzinfo is not None:
                parts.append("UNTIL=" + self.until.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ"))
            else:
                parts.append("UNTIL=" + self.until.strftime("%Y%m%dT%H%M%S"))
        elif isinstance(self.until, date):
            parts.append("UNTIL=" + self.until.strftime("%Y%m%d"))
        return ";".join(parts)


_UNTIL_RE = re.compile(r"^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z?))?$")


def _parse_int(key: str, value: str) -> int:
    if not re.fullmatch(r"\d{1,9}", value):
        raise _invalid(f"{key} phải là số nguyên dương, nhận được {value!r}", "recurrence.invalid")
    return int(value)


def _parse_until(value: str) -> datetime | date:
    m = _UNTIL_RE.match(value)
    if not m:
        raise _invalid(
            f"UNTIL không hợp lệ: {value!r} (dạng YYYYMMDD, YYYYMMDDTHHMMSS hoặc YYYYMMDDTHHMMSSZ)",
            "recurrence.invalid",
        )
    y, mo, d, hh, mi, ss, z = m.groups()
    try:
        if hh is None:
            return date(int(y), int(mo), int(d))
        dt = datetime(int(y), int(mo), int(d), int(hh), int(mi), int(ss))
    except ValueError:
        raise _invalid(f"UNTIL không phải ngày giờ có thật: {value!r}", "recurrence.invalid") from None
    return dt.replace(tzinfo=UTC) if z else dt


def _parse_weekday(code: str) -> int:
    if code in WEEKDAY_CODES:
        return WEEKDAY_CODES.index(code)
    if re.fullmatch(r"[+-]?\d{1,2}(MO|TU|WE|TH|FR|SA|SU)", code):
        raise _invalid(
            f"BYDAY có số thứ tự ({code}) chưa được hỗ trợ; chỉ dùng MO, TU, WE, TH, FR, SA, SU",
            "recurrence.unsupported",
        )
    raise _invalid(f"Thứ trong tuần không hợp lệ: {code!r}", "recurrence.invalid")


def parse_rrule(text: str) -> RRule:
    """Parse an RRULE value such as 'FREQ=WEEKLY;BYDAY=MO,WE,FR;UNTIL=20261231'."""
    body = text.strip()
    if body.upper().startswith("RRULE:"):
        body = body[6:]
    if not body:
        raise _invalid("Quy tắc lặp đang trống", "recurrence.invalid")
    values: dict[str, str] = {}
    for part in body.split(";"):
        if not part:
            continue
        key, sep, value = part.partition("=")
        key = key.strip().upper()
        value = value.strip().upper()
        if not sep or not key or not value:
            raise _invalid(f"Thành phần quy tắc lặp không hợp lệ: {part!r}", "recurrence.invalid")
        if key in values:
            raise _invalid(f"{key} xuất hiện hai lần trong quy tắc lặp", "recurrence.invalid")
        values[key] = value
    if "FREQ" not in values:
        raise _invalid("Quy tắc lặp thiếu FREQ", "recurrence.invalid")
    # The frequency is the first thing an officer needs to hear about.
    try:
        freq = Freq(values["FREQ"])
    except ValueError:
        raise _invalid(
            f"FREQ={values['FREQ']} chưa được hỗ trợ; chỉ hỗ trợ DAILY (hằng ngày) và WEEKLY (hằng tuần)",
            "recurrence.unsupported",
        ) from None
    for key in values:
        if key in _UNSUPPORTED_PARTS:
            raise _invalid(
                f"{key} chưa được hỗ trợ; chỉ dùng FREQ, INTERVAL, BYDAY, COUNT, UNTIL, WKST",
                "recurrence.unsupported",
            )
        if key not in {"FREQ", "INTERVAL", "BYDAY", "COUNT", "UNTIL", "WKST"}:
            raise _invalid(f"Thành phần quy tắc lặp không hợp lệ: {key}", "recurrence.invalid")
    byday = (frozenset(_parse_weekday(c.strip()) for c in values["BYDAY"].split(",")) if "BYDAY" in values
             else frozenset())
    wkst = _parse_weekday(values["WKST"]) if "WKST" in values else 0
    return RRule(
        freq=freq,
        interval=_parse_int("INTERVAL", values["INTERVAL"]) if "INTERVAL" in values else 1,
        byday=byday,
        count=_parse_int("COUNT", values["COUNT"]) if "COUNT" in values else None,
        until=_parse_until(values["UNTIL"]) if "UNTIL" in values else None,
        wkst=wkst,
    )


def _rule_dates(rule: RRule, d0: date, lo: int, hi: int) -> Iterator[tuple[int, int]]:
    """(index from DTSTART, day ordinal) of rule dates with lo <= ordinal <= hi, ascending, COUNT applied."""
    d0o = d0.toordinal()
    count = rule.count
    step = rule.interval
    if rule.freq is Freq.DAILY:
        # Weekdays of d0 + k*step repeat every 7 candidates, so a match's index is arithmetic.
        pattern = [not rule.byday or (d0.weekday() + j * step) % 7 in rule.byday for j in range(7)]
        prefix = [sum(pattern[:j]) for j in range(8)]
        per_cycle = prefix[7]
        if per_cycle == 0:
            return
        k = max(0, -(-(lo - d0o) // step))
        while d0o + k * step <= hi:
            r = k % 7
            if pattern[r]:
                idx = (k // 7) * per_cycle + prefix[r]
                if count is not None and idx >= count:
                    return
                yield idx, d0o + k * step
            k += 1
        return
    byday = rule.byday or frozenset({d0.weekday()})
    offsets = sorted((d - rule.wkst) % 7 for d in byday)
    week0 = d0o - (d0.weekday() - rule.wkst) % 7
    per_week = len(offsets)
    first_week = sum(1 for o in offsets if week0 + o >= d0o)
    skipped = per_week - first_week
    span = 7 * step
    n = max(0, (lo - week0) // span)
    while week0 + n * span <= hi:
        start = week0 + n * span
        for j, o in enumerate(offsets):
            ordinal = start + o
            if ordinal < d0o:
                continue
            idx = j - skipped if n == 0 else first_week + (n - 1) * per_week + j
            if count is not None and idx >= count:
                return
            if ordinal > hi:
                return
            if ordinal >= lo:
                yield idx, ordinal
        n += 1


def _to_local_naive(value: datetime, zone: ZoneInfo) -> datetime:
    return value.astimezone(zone).replace(tzinfo=None) if value.tzinfo is not None else value


@overload
def _aware(value: datetime, zone: ZoneInfo) -> datetime: ...
@overload
def _aware(value: None, zone: ZoneInfo) -> None: ...
def _aware(value: datetime | None, zone: ZoneInfo) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=zone)


@dataclass(frozen=True)
class Timing:
    """Once at `start`, or `rule` from DTSTART=`start`; `start` and `exdates` are local wall-clock times."""

    start: datetime
    rule: RRule | None = None
    tz: str = DEFAULT_TZ
    exdates: frozenset[datetime] = field(default_factory=frozenset)
    valid_from: datetime | None = None
    valid_until: datetime | None = None

    def __post_init__(self) -> None:
        zone = zone_for(self.tz)
        object.__setattr__(self, "start", _to_local_naive(self.start, zone))
        object.__setattr__(self, "exdates", frozenset(_to_local_naive(d, zone) for d in self.exdates))
        object.__setattr__(self, "valid_from", _aware(self.valid_from, zone))
        object.__setattr__(self, "valid_until", _aware(self.valid_until, zone))
        if self.valid_from and self.valid_until and self.valid_from >= self.valid_until:
            raise _invalid("Thời hạn hiệu lực không hợp lệ: ngày bắt đầu phải trước ngày kết thúc",
                           "timing.invalid_validity")

    @classmethod
    def once(cls, start: datetime, tz: str = DEFAULT_TZ) -> Timing:
        return cls(start=start, tz=tz)

    @classmethod
    def recurring(
        cls,
        start: datetime,
        rule: str | RRule,
        tz: str = DEFAULT_TZ,
        exdates: frozenset[datetime] | set[datetime] | tuple[datetime, ...] = (),
        valid_from: datetime | None = None,
        valid_until: datetime | None = None,
    ) -> Timing:
        parsed = parse_rrule(rule) if isinstance(rule, str) else rule
        return cls(start, parsed, tz, frozenset(exdates), valid_from, valid_until)

    @property
    def zone(self) -> ZoneInfo:
        return zone_for(self.tz)

    @property
    def is_once(self) -> bool:
        return self.rule is None

    @property
    def bounded(self) -> bool:
        return self.rule is None or self.rule.bounded or self.valid_until is not None

    def _until_ts(self) -> float | None:
        until = self.rule.until if self.rule else None
        if until is None:
            return None
        if isinstance(until, datetime):
            return _aware(until, self.zone).timestamp()
        return datetime.combine(until, time(23, 59, 59), tzinfo=self.zone).timestamp()

    def occurrences(self, window_start: datetime | None = None,
                    window_end: datetime | None = None) -> Iterator[datetime]:
        """Occurrence starts (aware, in the timing's zone) with window_start <= start < window_end, ascending.

        Either bound may be None (open); validity always applies.
        """
        zone = self.zone
        lo = max((b.timestamp() for b in (window_start, self.valid_from) if b is not None), default=float("-inf"))
        hi = min((b.timestamp() for b in (window_end, self.valid_until) if b is not None), default=float("inf"))
        until_ts = self._until_ts()
        if until_ts is not None:
            hi = min(hi, until_ts + 1e-3)  # UNTIL is inclusive
        if lo >= hi:
            return
        if self.rule is None:
            first = self.start.replace(tzinfo=zone)
            if lo <= first.timestamp() < hi and self.start not in self.exdates:
                yield first
            return
        # Day-ordinal bounds with a day of slack either side for offsets; exact filtering below.
        lo_ord = _ORDINAL_MIN if lo == float("-inf") else datetime.fromtimestamp(lo, zone).toordinal() - 1
        hi_ord = _ORDINAL_MAX - 1 if hi == float("inf") else datetime.fromtimestamp(hi, zone).toordinal() + 1
        lo_ord = max(lo_ord, _ORDINAL_MIN)
        hi_ord = min(hi_ord, _ORDINAL_MAX - 1)
        wall = self.start.time()
        for _idx, ordinal in _rule_dates(self.rule, self.start.date(), lo_ord, hi_ord):
            naive = datetime.combine(date.fromordinal(ordinal), wall)
            when = naive.replace(tzinfo=zone)
            ts = when.timestamp()
            if ts < lo:
                continue
            if ts >= hi:
                return
            if naive not in self.exdates:
                yield when

    def count_occurrences(self, limit: int = MAX_OCCURRENCES + 1, after: datetime | None = None) -> int:
        """How many occurrences within validity (from `after` if given), counting at most `limit`."""
        return sum(1 for _ in islice(self.occurrences(after, None), limit))

    def validate(self, now: datetime) -> None:
        """Refuse a timing that cannot be scheduled: past once, unbounded, empty, or too many occurrences."""
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        zone = self.zone
        if self.rule is None:
            first = self.start.replace(tzinfo=zone)
            if first < now:
                raise _invalid(
                    f"Thời điểm phát {first:%H:%M ngày %d/%m/%Y} đã qua", "timing.start_in_past"
                )
            if not any(True for _ in self.occurrences()):
                raise _invalid("Thời điểm phát nằm ngoài thời hạn hiệu lực", "recurrence.empty")
            return
        if not self.bounded:
            raise _invalid(
                "Lịch lặp phải có giới hạn: COUNT, UNTIL hoặc ngày hết hiệu lực", "recurrence.unbounded"
            )
        total = self.count_occurrences(MAX_OCCURRENCES + 1)
        if total == 0:
            raise _invalid("Lịch lặp không sinh ra buổi phát nào", "recurrence.empty")
        if total > MAX_OCCURRENCES:
            raise _invalid(
                f"Lịch lặp sinh ra quá nhiều buổi phát (trên {MAX_OCCURRENCES}); hãy rút ngắn thời hạn",
                "recurrence.too_many",
            )
        if self.count_occurrences(1, after=now) == 0:
            raise _invalid("Lịch lặp không còn buổi phát nào sau thời điểm hiện tại", "recurrence.empty")


def expand(timing: Timing, window_start: datetime, window_end: datetime) -> list[datetime]:
    """All occurrence starts of `timing` in [window_start, window_end)."""
    return list(timing.occurrences(window_start, window_end))


__all__ = [
    "DEFAULT_TZ", "MAX_OCCURRENCES", "Freq", "RRule", "Timing", "expand", "parse_rrule", "zone_for",
    "WEEKDAY_CODES", "WEEKDAY_NAMES_VI",
]
