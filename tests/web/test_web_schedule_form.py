"""The schedule form's recurrence builder (web/pages/schedule_form.py): the choices an officer ticks become the RRULE
the workflow accepts, and a stored schedule comes back as the same choices."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from broadcast.domain.errors import InvalidInput
from broadcast.domain.recurrence import parse_rrule
from broadcast.domain.scheduling import Schedule, ScheduleStatus, TargetSet
from broadcast.web.pages.schedule_form import ScheduleForm


def form(**fields) -> ScheduleForm:
    base = {"programme_id": "7", "area_code": "00070", "zones": ["01-00070-to-1"], "start_date": "2026-11-30",
            "start_time": "06:00", "repeat": "weekly", "interval": "1", "end": "until", "until_date": "2026-12-31",
            "count": "", "volume": "80"}
    single = {k: v for k, v in {**base, **fields}.items() if isinstance(v, str)}
    lists = {k: v for k, v in {**base, **fields}.items() if isinstance(v, list)}
    return ScheduleForm.from_form(single, lists)


@pytest.mark.parametrize(("fields", "rrule"), [
    ({"weekdays": ["0", "2", "4"]}, "FREQ=WEEKLY;BYDAY=MO,WE,FR;UNTIL=20261231"),
    ({"weekdays": ["4", "0", "9", "x"]}, "FREQ=WEEKLY;BYDAY=MO,FR;UNTIL=20261231"),  # unknown days dropped
    ({"weekdays": []}, "FREQ=WEEKLY;UNTIL=20261231"),  # the start's weekday
    ({"weekdays": ["1"], "interval": "2", "end": "count", "count": "6"}, "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU;COUNT=6"),
    ({"repeat": "daily", "weekdays": ["1"], "end": "count", "count": "10"}, "FREQ=DAILY;COUNT=10"),
    ({"repeat": "daily", "interval": "3", "until_date": "15/01/2027"}, "FREQ=DAILY;INTERVAL=3;UNTIL=20270115"),
    ({"repeat": "once", "weekdays": ["1"]}, None),
    ({"repeat": "monthly"}, None),  # not offered: anything unknown is once
])
def test_choices_become_the_rule_the_service_accepts(fields, rrule):
    built = form(**fields).rrule()
    assert built == rrule
    if built:
        assert parse_rrule(built).to_string() == built


def test_the_draft_carries_targets_start_and_volume():
    draft = form(weekdays=["0"], whole_area="1", devices=["loa-1", "loa-1"], start_time="17:30", volume="65").draft()
    assert draft.targets == TargetSet(areas=("00070",), zones=("01-00070-to-1",), devices=("loa-1",))
    assert draft.start_local == "2026-11-30T17:30:00" and draft.volume == 65 and draft.programme_id == 7
    assert form(start_date="30/11/2026").start_local() == "2026-11-30T06:00:00"


@pytest.mark.parametrize(("fields", "message"), [
    ({"until_date": ""}, "ngày kết thúc hoặc số lần phát"),
    ({"until_date": "31/02/2027"}, "Ngày kết thúc phải là một ngày có thật"),
    ({"end": "count", "count": "0"}, "Số lần phát phải là số nguyên từ 1 đến 5000"),
    ({"interval": "0"}, "Khoảng lặp phải là số nguyên từ 1 đến 1000"),
])
def test_impossible_choices_are_refused_in_words(fields, message):
    with pytest.raises(InvalidInput) as info:
        form(**fields).rrule()
    assert message in info.value.message


@pytest.mark.parametrize(("fields", "message"), [
    ({"start_time": "25:00"}, "Giờ phát phải có dạng HH:MM"),
    ({"start_date": ""}, "Cần chọn ngày bắt đầu"),
    ({"programme_id": ""}, "Cần chọn chương trình"),
    ({"volume": "120"}, "Âm lượng phải là số nguyên từ 0 đến 100"),
])
def test_the_rest_of_the_form_is_checked_too(fields, message):
    with pytest.raises(InvalidInput) as info:
        form(**fields).draft()
    assert message in info.value.message


def stored(rrule: str | None, **more) -> Schedule:
    return Schedule(id=3, programme_id=7, status=ScheduleStatus.DRAFT, targets=TargetSet(zones=("01-00070-to-1",)),
                    start_local="2026-11-30T06:00:00", volume=70, area_code="00070", author="can-bo",
                    created_at=datetime(2026, 11, 28, tzinfo=UTC), rrule=rrule, **more)


@pytest.mark.parametrize("rrule", [
    "FREQ=WEEKLY;BYDAY=MO,WE,FR;UNTIL=20261231", "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU;COUNT=6", "FREQ=DAILY;COUNT=10",
    "FREQ=DAILY;INTERVAL=3;UNTIL=20270115", None,
])
def test_a_stored_schedule_comes_back_as_the_same_choices(rrule):
    again = ScheduleForm.from_schedule(stored(rrule), "00070", "Asia/Ho_Chi_Minh")
    assert again.rrule() == rrule and again.start_local() == "2026-11-30T06:00:00"
    assert again.targets() == TargetSet(zones=("01-00070-to-1",)) and again.volume == "70"


def test_an_edit_keeps_what_the_form_does_not_show():
    kept = stored("FREQ=DAILY;COUNT=10", exdates=("2026-12-01T06:00:00",),
                  valid_until=datetime(2026, 12, 20, tzinfo=UTC))
    draft = ScheduleForm.from_schedule(kept, "00070", "Asia/Ho_Chi_Minh").draft(kept)
    assert draft.exdates == kept.exdates and draft.valid_until == kept.valid_until
    # a week day filter on a daily rule is shown as the weekly choice it equals
    daily_days = ScheduleForm.from_schedule(stored("FREQ=DAILY;BYDAY=SA,SU;COUNT=4"), "00070", "Asia/Ho_Chi_Minh")
    assert daily_days.repeat == "weekly" and daily_days.weekdays == [5, 6]
