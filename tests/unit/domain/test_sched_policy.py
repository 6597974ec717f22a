"""Area policy: inheritance from province to commune, quiet hours, allowed weekdays, daily cap."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from broadcast.domain.conflicts import Occurrence
from broadcast.domain.errors import InvalidInput
from broadcast.domain.policy import DEFAULT_POLICY, PolicyOverride, Window, check_policy, effective_policy, windows
from broadcast.domain.priority import Priority

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
MONDAY = datetime(2026, 3, 2, tzinfo=HCM)


def at(day: int, hhmm: str, minutes: int, sid: str = "s", priority: Priority = Priority.NORMAL) -> Occurrence:
    h, m = (int(x) for x in hhmm.split(":"))
    start = MONDAY + timedelta(days=day, hours=h, minutes=m)
    return Occurrence(sid, start, start + timedelta(minutes=minutes), priority)


PROVINCE = PolicyOverride(
    windows={d: windows("05:30-07:00", "17:00-18:30") for d in range(7)},
    max_minutes_per_day=60,
    allowed_weekdays=frozenset(range(5)),
)


def test_inheritance_commune_overrides_only_what_it_sets() -> None:
    commune = PolicyOverride(windows={5: windows("06:00-07:00")}, allowed_weekdays=frozenset(range(6)))
    policy = effective_policy([PROVINCE, None, commune])
    assert policy.windows[0] == windows("05:30-07:00", "17:00-18:30")
    assert policy.windows[5] == (Window(360, 420),)
    assert policy.max_minutes_per_day == 60
    assert policy.allowed_weekdays == frozenset(range(6))
    lifted = effective_policy([PROVINCE, PolicyOverride(max_minutes_per_day=1440)])
    assert lifted.max_minutes_per_day is None
    assert effective_policy([]) == DEFAULT_POLICY


def test_default_policy_refuses_the_night() -> None:
    violations = check_policy([at(0, "03:15", 10), at(0, "05:30", 10)], DEFAULT_POLICY)
    assert [(v.code, v.start.hour) for v in violations] == [("policy.outside_window", 3)]


def test_quiet_hours_weekday_and_messages() -> None:
    policy = effective_policy([PROVINCE])
    occurrences = [
        at(0, "04:30", 15, "early"),
        at(0, "06:50", 15, "spills-over"),  # starts inside, ends after 07:00
        at(0, "17:00", 30, "evening"),
        at(6, "06:00", 15, "sunday"),
        at(6, "03:00", 15, "sunday-alarm", Priority.EMERGENCY),
    ]
    violations = check_policy(occurrences, policy)
    assert [(v.schedule_id, v.code) for v in violations] == [
        ("early", "policy.outside_window"),
        ("spills-over", "policy.outside_window"),
        ("sunday", "policy.weekday_not_allowed"),
    ]
    assert violations[0].message == (
        "Buổi phát 04:30–04:45 Thứ Hai 02/03/2026 nằm ngoài khung giờ được phép (05:30–07:00, 17:00–18:30)"
    )
    assert "Chủ nhật" in violations[2].message


def test_windows_that_meet_form_one_span_also_over_midnight() -> None:
    from broadcast.domain.policy import Policy

    all_day = Policy(windows=(windows("00:00-24:00"),) * 7)
    late = Policy(windows=(windows("00:00-01:00", "22:00-24:00"),) * 7)
    touching = Policy(windows=(windows("05:00-07:00", "07:00-09:00"),) * 7)
    assert check_policy([at(0, "23:50", 20)], all_day) == []  # Monday 23:50 to Tuesday 00:10
    assert check_policy([at(0, "23:30", 60)], late) == []
    assert [v.code for v in check_policy([at(0, "23:30", 120)], late)] == ["policy.outside_window"]  # to 01:30
    assert check_policy([at(0, "06:50", 20)], touching) == []
    assert [v.code for v in check_policy([at(0, "23:50", 20)], DEFAULT_POLICY)] == ["policy.outside_window"]
    no_tuesday = Policy(windows=(windows("00:00-24:00"),) * 7, allowed_weekdays=frozenset({0, 2, 3, 4, 5, 6}))
    assert [v.code for v in check_policy([at(0, "23:50", 20)], no_tuesday)] == ["policy.outside_window"]


def test_daily_cap_lists_what_pushes_over_and_ignores_emergencies() -> None:
    policy = effective_policy([PROVINCE])
    occurrences = [
        at(1, "05:30", 30, "a"),
        at(1, "17:00", 20, "b"),
        at(1, "06:00", 40, "urgent", Priority.EMERGENCY),
        at(1, "18:00", 15, "c"),
        at(2, "05:30", 30, "next-day"),
    ]
    violations = check_policy(occurrences, policy)
    assert [(v.schedule_id, v.code) for v in violations] == [("c", "policy.daily_cap_exceeded")]
    assert "65 phút" in violations[0].message and "60 phút/ngày" in violations[0].message


def test_window_parsing_and_errors() -> None:
    assert str(Window.parse("5:00 - 24:00")) == "05:00–24:00"
    with pytest.raises(InvalidInput) as info:
        Window.parse("07:00-05:00")
    assert info.value.code == "policy.invalid_window"
    with pytest.raises(InvalidInput):
        Window.parse("sáng sớm")
    with pytest.raises(InvalidInput):
        PolicyOverride(max_minutes_per_day=-5)
