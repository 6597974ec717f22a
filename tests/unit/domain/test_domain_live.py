"""When an editor may go live, and until when: the allowed window of every target commune."""
from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from broadcast.domain.errors import InvalidInput
from broadcast.domain.live import (
    LiveSession,
    LiveStatus,
    cap_end,
    check_class,
    counted_s,
    live_end,
    live_title,
    mount_name,
    session_label,
    window_end,
)
from broadcast.domain.policy import DEFAULT_POLICY, Policy, windows

# 08:30 local (UTC+7) on Tuesday 01/12/2026.
NOW = datetime(2026, 12, 1, 1, 30, tzinfo=UTC)
HOUR = timedelta(hours=1)


def policy(*texts: str, weekdays=frozenset(range(7))) -> Policy:
    return Policy(windows=(windows(*texts),) * 7, allowed_weekdays=weekdays)


def test_inside_a_window_the_session_ends_with_the_window():
    assert window_end(policy("05:00-07:00", "08:00-09:15"), NOW) == datetime(2026, 12, 1, 2, 15, tzinfo=UTC)


def test_outside_every_window_is_refused_with_the_windows_named():
    with pytest.raises(InvalidInput) as refused:
        window_end(policy("05:00-07:00", "17:00-19:00"), NOW)
    assert refused.value.code == "policy.outside_window"
    assert "08:30 Thứ Ba 01/12/2026" in refused.value.message
    assert "05:00–07:00, 17:00–19:00" in refused.value.message


def test_a_weekday_without_broadcasts_is_refused():
    with pytest.raises(InvalidInput) as refused:
        window_end(policy("05:00-21:00", weekdays=frozenset({0, 2, 3, 4, 5, 6})), NOW)
    assert refused.value.code == "policy.weekday_not_allowed"


def test_less_than_a_minute_left_is_refused_rather_than_cut_at_once():
    with pytest.raises(InvalidInput):
        window_end(policy("08:00-08:31"), NOW + timedelta(seconds=30))


def test_an_all_day_policy_lets_a_session_run_over_midnight():
    before_midnight = datetime(2026, 12, 1, 16, 59, 30, tzinfo=UTC)  # 23:59:30 local
    assert window_end(policy("00:00-24:00"), before_midnight) - before_midnight > timedelta(days=6)
    # 22:00-24:00 then 00:00-01:00 the next day: one span, to 01:00 local
    assert window_end(policy("00:00-01:00", "22:00-24:00"), before_midnight) == datetime(2026, 12, 1, 18, 0,
                                                                                          tzinfo=UTC)
    with pytest.raises(InvalidInput):  # the next day has no window from 00:00: less than a minute left
        window_end(policy("05:00-24:00"), before_midnight)
    with pytest.raises(InvalidInput):  # nor when the next day (Wednesday) has no broadcasts at all
        window_end(policy("00:00-24:00", weekdays=frozenset({1})), before_midnight)


def test_the_narrowest_window_over_all_communes_and_the_maximum_length_bound_the_end():
    wide, narrow = DEFAULT_POLICY, policy("08:00-09:00")
    assert live_end([wide, narrow], NOW, 2 * HOUR) == datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
    assert live_end([wide], NOW, HOUR / 2) == NOW + HOUR / 2
    assert live_end([], NOW, 2 * HOUR) == NOW + 2 * HOUR  # emergencies: no policy, only the maximum
    with pytest.raises(InvalidInput):
        live_end([wide, policy("17:00-19:00")], NOW, 2 * HOUR)  # one commune in quiet hours refuses all


def test_classes_and_statuses():
    for name in ("normal", "priority", "emergency"):
        check_class(name)
    with pytest.raises(InvalidInput) as refused:
        check_class("urgent")
    assert refused.value.code == "invalid_priority"
    assert LiveStatus.WAITING.open and LiveStatus.LIVE.open
    assert not any(s.open for s in (LiveStatus.ENDED, LiveStatus.DROPPED, LiveStatus.FAILED))
    assert mount_name(12, "ab12") == "live-12-ab12.mp3"


def test_the_daily_cap_bounds_the_end_and_refuses_when_less_than_a_minute_is_left():
    capped = Policy(windows=DEFAULT_POLICY.windows, max_minutes_per_day=30)
    assert cap_end(DEFAULT_POLICY, 10_000, NOW) is None  # no cap
    assert cap_end(capped, 20 * 60, NOW) == NOW + timedelta(minutes=10)
    with pytest.raises(InvalidInput) as refused:
        cap_end(capped, 29 * 60 + 30, NOW)
    assert refused.value.code == "policy.daily_cap_exceeded"
    assert "30 phút, hết giới hạn 30 phút/ngày" in refused.value.message
    assert live_end([], NOW, HOUR, limits=[NOW + timedelta(minutes=10)]) == NOW + timedelta(minutes=10)


def test_a_session_counts_for_the_cap_by_its_real_length_or_the_room_it_holds():
    base = LiveSession(id=1, status=LiveStatus.ENDED, priority="normal", area_code="1", targets={}, mount="m",
                       stream_url="u", created_by="x", created_at=NOW - HOUR, ends_at=NOW + HOUR,
                       started_at=NOW - HOUR, ended_at=NOW - timedelta(minutes=45))
    assert counted_s(base, NOW) == 15 * 60
    assert counted_s(replace(base, started_at=None), NOW) == 0  # never sounded
    assert counted_s(replace(base, priority="emergency"), NOW) == 0
    assert counted_s(replace(base, status=LiveStatus.LIVE, ended_at=None), NOW) == 2 * 3600  # holds to its end
    assert counted_s(replace(base, status=LiveStatus.WAITING, started_at=None, ended_at=None), NOW) == 3600


def test_a_session_is_titled_by_its_number_officer_and_targets():
    assert session_label("Nguyễn Văn An", "truc-ban", ["Phường Hoàn Kiếm", "Thôn 3"]) == \
        "Nguyễn Văn An (truc-ban) → Phường Hoàn Kiếm; Thôn 3"
    assert session_label("", "truc-ban", ["Thôn 3"]) == "truc-ban → Thôn 3"
    many = session_label("", "bien-tap", [f"Thôn {n}" for n in range(1, 9)])
    assert many == "bien-tap → Thôn 1; Thôn 2; Thôn 3; Thôn 4; Thôn 5 và 3 nơi nhận khác"
    assert live_title(12, {"label": "truc-ban → Thôn 3"}, "truc-ban") == "Phát trực tiếp số 12: truc-ban → Thôn 3"
    assert live_title(7, {}, "bien-tap") == "Phát trực tiếp số 7: bien-tap"  # a session from before labels
    assert len(live_title(1, {"label": "x" * 400}, "u")) == 300
