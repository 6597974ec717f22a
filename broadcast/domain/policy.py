"""Broadcast policy per area: allowed windows per weekday (quiet hours outside), allowed weekdays, daily cap.

Inheritance (decision): a province sets a policy, a commune may override any field; the chain is applied
from the broadest area to the narrowest, and each level replaces only the fields it sets (windows per
weekday). The starting point is DEFAULT_POLICY: every day, 05:00–21:00, no daily cap, so that a commune with
no policy still cannot wake people at 03:15. Windows lie within one local day; to allow 22:00–01:00 use
22:00–24:00 and 00:00–01:00. Windows that meet or overlap, also across midnight into the next allowed day, form
one allowed span, and an occurrence must fit entirely inside one span. Emergencies are exempt.
"""
from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from broadcast.domain.conflicts import Slot
from broadcast.domain.errors import InvalidInput
from broadcast.domain.recurrence import DEFAULT_TZ, WEEKDAY_NAMES_VI, zone_for

ALL_WEEKDAYS = frozenset(range(7))
_WINDOW_RE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*[-–]\s*(\d{1,2}):(\d{2})\s*$")


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


@dataclass(frozen=True, order=True)
class Window:
    """[start_minute, end_minute) of a local day; end may be 1440 (24:00)."""

    start_minute: int
    end_minute: int

    def __post_init__(self) -> None:
        if not 0 <= self.start_minute < self.end_minute <= 1440:
            raise InvalidInput(
                f"Khung giờ không hợp lệ: {_hhmm(self.start_minute)}–{_hhmm(self.end_minute)}",
                code="policy.invalid_window",
            )

    @classmethod
    def parse(cls, text: str) -> Window:
        m = _WINDOW_RE.match(text)
        if not m:
            raise InvalidInput(f"Khung giờ không hợp lệ: {text!r} (dạng 05:00-07:00)", code="policy.invalid_window")
        h1, m1, h2, m2 = (int(g) for g in m.groups())
        if m1 > 59 or m2 > 59 or h1 > 24 or h2 > 24:
            raise InvalidInput(f"Khung giờ không hợp lệ: {text!r}", code="policy.invalid_window")
        return cls(h1 * 60 + m1, h2 * 60 + m2)

    def __str__(self) -> str:
        return f"{_hhmm(self.start_minute)}–{_hhmm(self.end_minute)}"


def windows(*texts: str) -> tuple[Window, ...]:
    return tuple(sorted(Window.parse(t) for t in texts))


@dataclass(frozen=True)
class Policy:
    windows: tuple[tuple[Window, ...], ...]  # 7 entries, Monday first
    max_minutes_per_day: int | None = None
    allowed_weekdays: frozenset[int] = ALL_WEEKDAYS

    def __post_init__(self) -> None:
        if len(self.windows) != 7:
            raise ValueError("windows must have 7 entries, Monday first")


@dataclass(frozen=True)
class PolicyOverride:
    """What one area sets; None inherits. A cap of 1440 or more lifts an inherited cap."""

    windows: Mapping[int, tuple[Window, ...]] | None = None  # weekday -> windows replacing the inherited ones
    max_minutes_per_day: int | None = None
    allowed_weekdays: frozenset[int] | None = None

    def __post_init__(self) -> None:
        if self.max_minutes_per_day is not None and self.max_minutes_per_day < 0:
            raise InvalidInput("Giới hạn số phút mỗi ngày phải không âm", code="policy.invalid_cap")
        if self.windows and any(not 0 <= d <= 6 for d in self.windows):
            raise InvalidInput("Thứ trong tuần không hợp lệ", code="policy.invalid_weekday")
        if self.allowed_weekdays is not None and any(not 0 <= d <= 6 for d in self.allowed_weekdays):
            raise InvalidInput("Thứ trong tuần không hợp lệ", code="policy.invalid_weekday")


DEFAULT_POLICY = Policy(windows=(windows("05:00-21:00"),) * 7)


def effective_policy(area_chain: Sequence[PolicyOverride | None], base: Policy = DEFAULT_POLICY) -> Policy:
    """Apply overrides from the broadest area (province) to the narrowest (commune)."""
    per_day = list(base.windows)
    cap = base.max_minutes_per_day
    weekdays = base.allowed_weekdays
    for override in area_chain:
        if override is None:
            continue
        for day, day_windows in (override.windows or {}).items():
            per_day[day] = tuple(sorted(day_windows))
        if override.max_minutes_per_day is not None:
            cap = None if override.max_minutes_per_day >= 1440 else override.max_minutes_per_day
        if override.allowed_weekdays is not None:
            weekdays = frozenset(override.allowed_weekdays)
    return Policy(tuple(per_day), cap, weekdays)


@dataclass(frozen=True, slots=True)
class Violation:
    code: str  # policy.weekday_not_allowed | policy.outside_window | policy.daily_cap_exceeded
    schedule_id: str
    start: datetime
    end: datetime
    message: str


def allowed_until(policy: Policy, local: datetime) -> datetime | None:
    """The end of the allowed span `local` (an aware local time) lies in: its window, extended by every window
    that starts before or when the span ends, through midnight into the following allowed days (a commune open
    until 24:00 and from 00:00 may broadcast over midnight). None in quiet hours or on a day without broadcasts."""
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    day = local.weekday()
    if day not in policy.allowed_weekdays:
        return None
    at_s = (local - midnight).total_seconds()
    end_s = _span_end(policy.windows[day], at_s, inside=True)
    if end_s is None:
        return None
    days = 0
    while end_s == 1440 * 60 and days < 7:  # open until midnight: the next day's windows from 00:00 go on
        following = (day + days + 1) % 7
        more = _span_end(policy.windows[following], 0, inside=False) if following in policy.allowed_weekdays \
            else None
        if more is None:
            break
        days, end_s = days + 1, more
    return midnight + timedelta(days=days, seconds=end_s)


def _span_end(day_windows: Sequence[Window], at_s: float, *, inside: bool) -> float | None:
    """Seconds after midnight where the windows that contain `at_s` (or, not `inside`, start at it) and those
    meeting them end; None when none does."""
    end_s: float | None = None
    for w in sorted(day_windows):
        start, stop = w.start_minute * 60, w.end_minute * 60
        if end_s is None:
            if start <= at_s < stop if inside else start == at_s:
                end_s = stop
        elif start <= end_s:
            end_s = max(end_s, stop)
    return end_s


def _day_label(local: datetime) -> str:
    return f"{WEEKDAY_NAMES_VI[local.weekday()]} {local:%d/%m/%Y}"


def check_policy(occurrences: Iterable[Slot], policy: Policy, tz: str = DEFAULT_TZ) -> list[Violation]:
    """Every non-emergency occurrence that breaks the policy, in time order, with a Vietnamese message.

    Pass all occurrences that will play in the area (existing approved ones and the candidate) so the daily
    cap sees the whole day; the occurrence that pushes a day over the cap, and each one after it, is listed.
    """
    zone = zone_for(tz)
    ordered = sorted(
        (o for o in occurrences if not o.priority.policy_exempt), key=lambda o: (o.start.timestamp(), o.schedule_id)
    )
    violations: list[Violation] = []
    used_s: dict[date, int] = defaultdict(int)
    for occ in ordered:
        start, end = occ.start.astimezone(zone), occ.end.astimezone(zone)
        span = f"{start:%H:%M}–{end:%H:%M}"
        day = start.weekday()
        if day not in policy.allowed_weekdays:
            violations.append(
                Violation(
                    "policy.weekday_not_allowed", occ.schedule_id, occ.start, occ.end,
                    f"Buổi phát {span} {_day_label(start)}: địa bàn không cho phép phát thanh vào "
                    f"{WEEKDAY_NAMES_VI[day]}",
                )
            )
        else:
            until = allowed_until(policy, start)
            if until is None or until < end:
                allowed = policy.windows[day]
                listed = ", ".join(str(w) for w in allowed) or "không có khung giờ nào"
                violations.append(
                    Violation(
                        "policy.outside_window", occ.schedule_id, occ.start, occ.end,
                        f"Buổi phát {span} {_day_label(start)} nằm ngoài khung giờ được phép ({listed})",
                    )
                )
        if policy.max_minutes_per_day is not None:
            key = start.date()
            used_s[key] += int((occ.end - occ.start).total_seconds())
            if used_s[key] > policy.max_minutes_per_day * 60:
                violations.append(
                    Violation(
                        "policy.daily_cap_exceeded", occ.schedule_id, occ.start, occ.end,
                        f"Buổi phát {span} {_day_label(start)} làm tổng thời lượng trong ngày lên "
                        f"{-(-used_s[key] // 60)} phút, vượt giới hạn {policy.max_minutes_per_day} phút/ngày",
                    )
                )
    return violations
