"""A timing in plain Vietnamese, as an officer would say it: "Thứ Hai, Thứ Tư, Thứ Sáu lúc 06:00, đến 31/12/2026".

The sentence is read back to the author while building a schedule and to the approver deciding on it, so it says
exactly what the stored RRULE means (the subset of domain/recurrence.py), never a rounded version of it.
"""
from __future__ import annotations

from datetime import datetime, time

from broadcast.domain.recurrence import DEFAULT_TZ, Freq, RRule, parse_rrule, zone_for

WEEKDAYS = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật")
EVERY_DAY = frozenset(range(7))
END_OF_DAY = time(23, 59, 59)


def _local(value: datetime, tz: str) -> datetime:
    """A naive value is already local wall-clock time; an aware one is converted."""
    return value.astimezone(zone_for(tz)).replace(tzinfo=None) if value.tzinfo else value


def _days(days: frozenset[int]) -> str:
    return ", ".join(WEEKDAYS[d] for d in sorted(days))


def _cadence(rule: RRule, start: datetime) -> str:
    if rule.freq is Freq.DAILY:
        if rule.interval == 1:
            return "Hằng ngày" if rule.byday in (frozenset(), EVERY_DAY) else _days(rule.byday)
        every = f"Cứ {rule.interval} ngày một lần"
        return every if not rule.byday else f"{every}, nếu rơi vào {_days(rule.byday)},"
    days = rule.byday or frozenset({start.weekday()})
    if rule.interval == 1:
        return "Hằng ngày" if days == EVERY_DAY else _days(days)
    return f"{_days(days)}, cứ {rule.interval} tuần một lần,"


def _bound(rule: RRule, tz: str) -> str:
    if rule.count is not None:
        return f", {rule.count} lần"
    until = rule.until
    if until is None:
        return ""
    if isinstance(until, datetime):
        local = _local(until, tz)
        if local.time() != END_OF_DAY:
            return f", đến {local:%H:%M} ngày {local:%d/%m/%Y}"
        until = local.date()
    return f", đến {until:%d/%m/%Y}"


def describe_rrule(rrule: str | RRule | None, start: datetime, tz: str = DEFAULT_TZ) -> str:
    """The sentence for a schedule starting at `start` (local wall clock if naive) and repeating by `rrule`
    (None: once). Raises InvalidInput for a rule the system does not accept, like parse_rrule."""
    local = _local(start, tz)
    at = f"lúc {local:%H:%M}"
    if not rrule:
        return f"Một lần {at}, {WEEKDAYS[local.weekday()]}, {local:%d/%m/%Y}"
    rule = parse_rrule(rrule) if isinstance(rrule, str) else rrule
    return f"{_cadence(rule, local)} {at}{_bound(rule, tz)}"

