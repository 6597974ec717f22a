"""The schedule form of the web pages: what an officer picks (programme, commune, villages or devices, day and
time, how it repeats, until when) and the ScheduleDraft the workflow service takes from it.

The recurrence builder offers what the service accepts (domain/recurrence.py): once, daily or weekly on chosen
weekdays, every N days or weeks, until a date or a number of times. Dates come from <input type=date> (ISO) or
are typed as dd/mm/yyyy where the browser has no date picker.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time

from broadcast.domain.errors import InvalidInput
from broadcast.domain.recurrence import MAX_INTERVAL, Freq, RRule, parse_rrule, zone_for
from broadcast.domain.recurrence_text import WEEKDAYS
from broadcast.domain.scheduling import Schedule, TargetSet
from broadcast.services.schedules import ScheduleDraft

REPEATS = {"once": "Một lần", "daily": "Hằng ngày", "weekly": "Hằng tuần"}
ENDS = {"until": "Vào một ngày", "count": "Sau một số lần phát"}
WEEKDAY_CHOICES = tuple(enumerate(WEEKDAYS))
MAX_COUNT = 5000
_DMY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_HM = re.compile(r"^(\d{1,2}):(\d{2})$")


def parse_day(text: str, label: str) -> date:
    """'2026-12-31' (a date input) or '31/12/2026' (typed)."""
    text = text.strip()
    try:
        if found := _DMY.match(text):
            day, month, year = (int(g) for g in found.groups())
            return date(year, month, day)
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{label} phải là một ngày có thật, dạng dd/mm/yyyy.", code="invalid_date") from None


def _parse_time(text: str) -> time:
    found = _HM.match(text.strip())
    if found and int(found.group(1)) < 24 and int(found.group(2)) < 60:
        return time(int(found.group(1)), int(found.group(2)))
    raise InvalidInput("Giờ phát phải có dạng HH:MM, ví dụ 06:00.", code="invalid_time")


def _whole(text: str, label: str, low: int, high: int) -> int:
    if not re.fullmatch(r"\s*\d{1,6}\s*", text) or not low <= int(text) <= high:
        raise InvalidInput(f"{label} phải là số nguyên từ {low} đến {high}.", code="invalid_number")
    return int(text)


@dataclass
class ScheduleForm:
    """The form's fields as text, as the browser sends them back (so a refused form shows what was typed)."""

    programme_id: str = ""
    area_code: str = ""
    whole_area: bool = False
    zones: list[str] = field(default_factory=list)
    devices: list[str] = field(default_factory=list)
    start_date: str = ""
    start_time: str = "06:00"
    repeat: str = "weekly"
    interval: str = "1"
    weekdays: list[int] = field(default_factory=list)
    end: str = "until"
    until_date: str = ""
    count: str = "10"
    volume: str = "80"
    leave_order: bool = False

    @classmethod
    def from_form(cls, form: Mapping[str, str], lists: Mapping[str, list[str]]) -> ScheduleForm:
        """`form`: single values by name; `lists`: every value of the multi-valued fields (checkboxes)."""
        days = sorted({int(d) for d in lists.get("weekdays", []) if d in {str(n) for n in range(7)}})
        return cls(programme_id=form.get("programme_id", "").strip(), area_code=form.get("area_code", "").strip(),
                   whole_area=form.get("whole_area") == "1", zones=list(dict.fromkeys(lists.get("zones", []))),
                   devices=list(dict.fromkeys(lists.get("devices", []))),
                   start_date=form.get("start_date", "").strip(), start_time=form.get("start_time", "").strip(),
                   repeat=form.get("repeat", "once") if form.get("repeat") in REPEATS else "once",
                   interval=form.get("interval", "1").strip() or "1", weekdays=days,
                   end=form.get("end", "until") if form.get("end") in ENDS else "until",
                   until_date=form.get("until_date", "").strip(), count=form.get("count", "").strip(),
                   volume=form.get("volume", "80").strip(), leave_order=form.get("leave_order") == "1")

    @classmethod
    def from_schedule(cls, schedule: Schedule, area_code: str, tz: str) -> ScheduleForm:
        """The form for editing a stored schedule. A rule the builder cannot show exactly (an UNTIL with a time, a
        week starting on another day) is shown at its closest; the detail page keeps the stored sentence."""
        start = datetime.fromisoformat(schedule.start_local)
        form = cls(programme_id=str(schedule.programme_id), area_code=area_code,
                   whole_area=area_code in schedule.targets.areas, zones=list(schedule.targets.zones),
                   devices=list(schedule.targets.devices), start_date=start.date().isoformat(),
                   start_time=f"{start:%H:%M}", repeat="once", volume=str(schedule.volume))
        if not schedule.rrule:
            return form
        rule = parse_rrule(schedule.rrule)
        weekly = rule.freq is Freq.WEEKLY or (bool(rule.byday) and rule.interval == 1)
        form = replace(form, repeat="weekly" if weekly else "daily", interval=str(rule.interval),
                       weekdays=sorted(rule.byday or ({start.weekday()} if weekly else set())))
        if rule.count is not None:
            return replace(form, end="count", count=str(rule.count))
        until = rule.until
        if isinstance(until, datetime):
            until = (until.astimezone(zone_for(tz)) if until.tzinfo else until).date()
        return replace(form, end="until", until_date=until.isoformat() if until else "")

    def targets(self) -> TargetSet:
        return TargetSet(areas=(self.area_code,) if self.whole_area and self.area_code else (),
                         zones=tuple(self.zones), devices=tuple(self.devices))

    def start_local(self) -> str:
        if not self.start_date:
            raise InvalidInput("Cần chọn ngày bắt đầu phát.", code="invalid_date")
        moment = datetime.combine(parse_day(self.start_date, "Ngày bắt đầu"), _parse_time(self.start_time))
        return moment.isoformat(timespec="seconds")

    def rule(self) -> RRule | None:
        """The recurrence the choices make (None: once), in the subset the service accepts."""
        if self.repeat == "once":
            return None
        interval = _whole(self.interval, "Khoảng lặp", 1, MAX_INTERVAL)
        weekly = self.repeat == "weekly"
        byday = frozenset(self.weekdays) if weekly else frozenset()
        if self.end == "count":
            return RRule(Freq.WEEKLY if weekly else Freq.DAILY, interval, byday,
                         count=_whole(self.count, "Số lần phát", 1, MAX_COUNT))
        if not self.until_date:
            raise InvalidInput("Lịch lặp cần ngày kết thúc hoặc số lần phát.", code="recurrence.unbounded")
        return RRule(Freq.WEEKLY if weekly else Freq.DAILY, interval, byday,
                     until=parse_day(self.until_date, "Ngày kết thúc"))

    def rrule(self) -> str | None:
        rule = self.rule()
        return rule.to_string() if rule else None

    def draft(self, kept: Schedule | None = None) -> ScheduleDraft:
        """What the service saves; an edit keeps what the form does not show (exceptions, validity)."""
        if not self.programme_id.isdigit():
            raise InvalidInput("Cần chọn chương trình để phát.", code="programme_required")
        return ScheduleDraft(programme_id=int(self.programme_id), targets=self.targets(),
                             start_local=self.start_local(), volume=_whole(self.volume, "Âm lượng", 0, 100),
                             rrule=self.rrule(), exdates=kept.exdates if kept else (),
                             valid_from=kept.valid_from if kept else None,
                             valid_until=kept.valid_until if kept else None, area_code=self.area_code or None)

