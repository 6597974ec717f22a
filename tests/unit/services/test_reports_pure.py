"""Pure parts of reports: uptime from presence changes, airtime folding, quantiles, presence diffing, charts."""
from __future__ import annotations

import statistics
import xml.etree.ElementTree as ET
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from broadcast.domain.delivery import StatusReport
from broadcast.services.delivery import presence_changes
from broadcast.services.reports.aggregates import (
    day_bounds,
    first_open_day,
    fold_airtime,
    item_seconds,
    local_day,
    uptime,
)
from broadcast.services.reports.export import _sheet_title
from broadcast.services.reports.figures import quantile
from broadcast.services.reports.ports import ContentFacts, DeviceSpan, PlayedItem, PresenceEvent
from broadcast.web.charts import bar_chart_svg

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
DAY = date(2026, 3, 10)
START, END = day_bounds(DAY, TZ)
LONG_AGO = START - timedelta(days=30)


def at(hour: float) -> datetime:
    return START + timedelta(hours=hour)


def test_day_bounds_are_local_midnights():
    assert START.isoformat() == "2026-03-10T00:00:00+07:00" and END - START == timedelta(days=1)
    assert local_day(datetime.fromisoformat("2026-03-09T17:00:00+00:00"), TZ) == DAY  # 00:00 in Hà Nội
    assert local_day(datetime.fromisoformat("2026-03-09T16:59:59+00:00"), TZ) == DAY - timedelta(days=1)


def test_online_six_of_twenty_four_hours_is_a_quarter():
    devices = [DeviceSpan("a", "c1", LONG_AGO)]
    events = [PresenceEvent("a", True, at(6)), PresenceEvent("a", False, at(12))]
    assert uptime(devices, {}, events, START, END) == {"c1": (1, 0.25)}


def test_state_carried_in_from_before_the_day_and_registration_mid_day():
    devices = [DeviceSpan("a", "c1", LONG_AGO), DeviceSpan("b", "c1", at(18)), DeviceSpan("late", "c1", END)]
    # a: online since yesterday, off at 06:00 (6 h); b: registered 18:00, online at 20:00 (4 of its 6 h)
    events = [PresenceEvent("a", False, at(6)), PresenceEvent("b", True, at(20))]
    devices_counted, ratio = uptime(devices, {"a": True}, events, START, END)["c1"]
    assert devices_counted == 2  # registered after the day: not counted
    assert ratio == pytest.approx((6 + 4) / (24 + 6))


def test_no_device_time_gives_no_ratio_and_live_day_stops_at_now():
    assert uptime([], {}, [], START, END) == {}
    devices = [DeviceSpan("a", "c1", LONG_AGO)]
    assert uptime(devices, {"a": True}, [], START, at(8)) == {"c1": (1, 1.0)}


def test_fold_airtime_counts_items_once_and_plays_per_device():
    facts = {1: ContentFacts("land", "vi", "commune"), 2: ContentFacts("news", "vi", "province")}
    items = [PlayedItem("c1", "i1", 1, None, "normal", 3, at(6), at(6.25), None, None),
             PlayedItem("c1", "i2", 1, None, "normal", 2, at(7), at(7.5), None, None),
             PlayedItem("c1", "i3", 2, None, "normal", 1, at(8), at(8.1), None, None),
             PlayedItem("c2", "i1", 1, None, "normal", 1, at(6), at(6.25), None, None),
             PlayedItem("c1", "cmd", None, 9, None, 4, at(9), None, at(9), at(9) + timedelta(seconds=90))]
    got = {(a.commune_code, a.topic, a.priority): (a.items, a.plays, a.seconds)
           for a in fold_airtime(DAY, items, facts, {9: ContentFacts("disaster", "vi", "province")})}
    assert got == {("c1", "land", "normal"): (2, 5, 900 + 1800), ("c1", "news", "normal"): (1, 1, 360),
                   ("c2", "land", "normal"): (1, 1, 900), ("c1", "disaster", "emergency"): (1, 4, 90)}


def test_item_seconds_never_negative_and_zero_when_unknown():
    assert item_seconds(PlayedItem("c", "i", None, None, None, 1, at(2), at(1), None, None)) == 0
    assert item_seconds(PlayedItem("c", "i", None, None, None, 1, None, None, None, None)) == 0


@pytest.mark.parametrize("values", [[1.0], [1, 2], [3, 1, 2, 10, 0.5], list(range(1, 12))])
def test_quantile_matches_statistics_inclusive(values):
    assert quantile(values, 0.5) == pytest.approx(statistics.median(values))
    if len(values) > 1:
        assert quantile(values, 0.9) == pytest.approx(statistics.quantiles(values, n=10, method="inclusive")[8])
    assert quantile([], 0.5) is None


def test_presence_changes_first_status_counts_and_repeats_do_not():
    t = at(1)
    statuses = [StatusReport("new", False, t), StatusReport("on", True, t), StatusReport("on", False, t),
                StatusReport("off", False, t), StatusReport("ghost", True, t), StatusReport("on", False, at(2))]
    events = presence_changes({"new": None, "on": True, "off": False}, statuses)
    assert [(e.device_id, e.online) for e in events] == [("new", False), ("on", False)]


def test_first_open_day_keeps_a_day_of_margin_before_the_purge_cutoff():
    now = datetime.fromisoformat("2026-03-10T12:00:00+07:00")
    cutoff_day = local_day(now - timedelta(days=730), TZ)
    assert first_open_day(now, TZ, 730) == cutoff_day + timedelta(days=2)


def test_svg_chart_escapes_labels_and_scales_bars():
    svg = bar_chart_svg("Phút <PBGDPL> & nguồn", [("Đất đai", 30.0), ("A&B", 15)], "phút")
    root = ET.fromstring(svg)  # well-formed despite < & in the text
    ns = "{http://www.w3.org/2000/svg}"
    texts = [t.text for t in root.iter(f"{ns}text")]
    assert texts[0] == "Phút <PBGDPL> & nguồn" and "Đất đai" in texts and "30 phút" in texts
    widths = [float(r.get("width")) for r in root.iter(f"{ns}rect") if r.find(f"{ns}title") is not None]
    assert widths[0] == pytest.approx(2 * widths[1])
    empty = ET.fromstring(bar_chart_svg("Trống", [], "phút"))
    assert "Không có dữ liệu trong kỳ." in [t.text for t in empty.iter(f"{ns}text")]


def test_sheet_titles_fit_excel_rules():
    taken: set[str] = set()
    long = "Thời gian từ khi trình đến khi duyệt lịch phát: [tỉnh]/xã?"
    first, second = _sheet_title(long, taken), _sheet_title(long, taken)
    assert len(first) <= 31 and len(second) <= 31 and first != second
    assert not set("[]:*?/\\") & set(first + second)
