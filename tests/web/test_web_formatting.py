"""Dates and times on the pages: local time of the deployment, dd/mm/yyyy, Vietnamese weekdays."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from functools import partial
from zoneinfo import ZoneInfo

import pytest
from jinja2 import DictLoader, Environment

from broadcast.domain.auth import Grant, Principal, Role
from broadcast.web.pages.formatting import local_format
from broadcast.web.pages.navigation import MENU, navigation
from broadcast.web.pages.rendering import _format

HCM = ZoneInfo("Asia/Ho_Chi_Minh")


def test_utc_instants_show_in_local_time_with_day_first():
    late = datetime(2026, 11, 28, 20, 30, tzinfo=UTC)  # 03:30 the next morning in Vietnam
    assert local_format(late, HCM, "date") == "29/11/2026"
    assert local_format(late, HCM, "time") == "03:30"
    assert local_format(late, HCM, "datetime") == "03:30 29/11/2026"
    assert local_format(late, HCM, "long") == "Chủ Nhật, 29/11/2026"


def test_other_offsets_and_naive_values_are_converted():
    tokyo = datetime(2026, 1, 5, 9, 0, tzinfo=timezone(timedelta(hours=9)))
    assert local_format(tokyo, HCM, "datetime") == "07:00 05/01/2026"
    assert local_format(datetime(2026, 1, 5, 0, 5), HCM, "time") == "07:05"  # naive: UTC, as some databases return


def test_single_digit_days_and_months_are_padded_and_weekdays_are_vietnamese():
    assert local_format(date(2026, 3, 2), HCM, "date") == "02/03/2026"
    week = [local_format(date(2026, 11, 23) + timedelta(days=n), HCM, "long").split(",")[0] for n in range(7)]
    assert week == ["Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật"]


def test_nothing_shows_as_empty_and_a_date_has_no_time():
    assert local_format(None, HCM, "date") == ""
    with pytest.raises(ValueError):
        local_format(date(2026, 3, 2), HCM, "time")


def test_the_templates_filters_use_the_helper():
    env = Environment(loader=DictLoader({"t": "{{ v | date }} {{ v | time }}"}))
    for style in ("date", "time"):
        env.filters[style] = partial(_format, tz=HCM, style=style)
    assert env.get_template("t").render(v=datetime(2026, 11, 28, 23, 15, tzinfo=UTC)) == "29/11/2026 06:15"


def test_menu_shows_only_what_the_role_may_use():
    every_page = {item.route: f"/{item.route}" for item in MENU}

    def labels(role: Role) -> list[str]:
        principal = Principal(1, "x", (Grant(role, "00070"),))
        return [item.label for item in navigation(principal, every_page)]

    assert labels(Role.VIEWER) == ["Trang chủ", "Thư viện", "Chương trình", "Lịch phát", "Thiết bị", "Cảnh báo",
                                   "Nhật ký phát"]
    assert "Duyệt lịch" in labels(Role.APPROVER) and "Khẩn cấp" not in labels(Role.APPROVER)
    assert "Phát trực tiếp" in labels(Role.EDITOR) and "Phát trực tiếp" in labels(Role.EMERGENCY_OPERATOR)
    assert "Phát trực tiếp" not in labels(Role.VIEWER) + labels(Role.APPROVER)
    assert "Khẩn cấp" in labels(Role.EMERGENCY_OPERATOR) and "Quản trị" not in labels(Role.EMERGENCY_OPERATOR)
    assert labels(Role.ADMIN) == [item.label for item in MENU]
    only_home = navigation(Principal(1, "x", (Grant(Role.ADMIN, "01"),)), {"home": "/"})
    assert [(link.label, link.path) for link in only_home] == [("Trang chủ", "/")]  # pages not served: no link
    counted = navigation(Principal(1, "x", (Grant(Role.VIEWER, "01"),)), every_page, {"alerts": 3})
    assert [(link.label, link.badge) for link in counted if link.badge] == [("Cảnh báo", 3)]
