"""Alert rules and states: each rule fires past its threshold; thresholds inherit province -> commune; a condition
must hold for the settle time to open and be gone for it to resolve, so flapping does not open and close alerts."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from broadcast.domain.alerts import (
    AlertState,
    Cause,
    DeviceFacts,
    Finding,
    Thresholds,
    check_overrides,
    describe,
    effective_thresholds,
    findings,
    parse_thresholds_setting,
    step,
)
from broadcast.domain.errors import InvalidInput

NOW = datetime(2026, 12, 1, 3, tzinfo=UTC)
SETTLE = timedelta(minutes=2)


def facts(**over) -> DeviceFacts:
    base = dict(device_id="hk-1", commune_code="00070", province_code="01", online=True, last_seen=NOW,
                created_at=NOW - timedelta(days=30), clock_offset_ms=10, storage_free_bytes=1 << 30, amplifier="ok",
                speaker_line="ok", temperature_c=40, supply_mv=12_100)
    return DeviceFacts(**{**base, **over})


DEFAULTS = Thresholds()


def causes(device: DeviceFacts, t: Thresholds = DEFAULTS) -> set[Cause]:
    return {f.cause for f in findings(device, t, NOW)}


def test_a_healthy_device_has_no_findings():
    assert causes(facts()) == set()


@pytest.mark.parametrize("over,cause", [
    ({"online": False, "last_seen": NOW - timedelta(minutes=16)}, Cause.OFFLINE),
    ({"online": False, "last_seen": None, "created_at": NOW - timedelta(hours=1)}, Cause.OFFLINE),  # never heard
    ({"newest_acknowledged": False, "newest_published_at": NOW - timedelta(minutes=31)}, Cause.SCHEDULE_NOT_ACKED),
    ({"missed_today": 4}, Cause.PLAYS_MISSED),
    ({"amplifier": "fault"}, Cause.AMPLIFIER_FAULT),
    ({"speaker_line": "open"}, Cause.SPEAKER_LINE), ({"speaker_line": "short"}, Cause.SPEAKER_LINE),
    ({"temperature_c": 71}, Cause.TEMPERATURE_HIGH),
    ({"supply_mv": 10_799}, Cause.SUPPLY_LOW),
    ({"clock_offset_ms": -2_001}, Cause.CLOCK_OFF),
    ({"storage_free_bytes": 1024}, Cause.STORAGE_LOW),
    ({"relay_failed_today": 1}, Cause.RELAY_CHANNEL_DOWN),
])
def test_each_rule_fires_past_its_threshold(over, cause):
    assert causes(facts(**over)) == {cause}


@pytest.mark.parametrize("over", [
    {"online": False, "last_seen": NOW - timedelta(minutes=14)}, {"missed_today": 3}, {"temperature_c": 70},
    {"supply_mv": 10_800}, {"clock_offset_ms": 2_000}, {"amplifier": "off"}, {"speaker_line": "unknown"},
    {"newest_acknowledged": False, "newest_published_at": NOW - timedelta(minutes=29)},
])
def test_at_the_threshold_nothing_fires(over):
    assert causes(facts(**over)) == set()


def test_thresholds_inherit_and_override_by_area():
    province, commune = {"temperature_c": 60, "settle_s": 0}, {"temperature_c": 80}
    t = effective_thresholds([province, commune])
    assert (t.temperature_c, t.settle_s, t.supply_mv) == (80, 0, Thresholds().supply_mv)
    assert effective_thresholds([province, None]).temperature_c == 60
    assert causes(facts(temperature_c=75), effective_thresholds([province])) == {Cause.TEMPERATURE_HIGH}
    assert causes(facts(temperature_c=75), t) == set()


@pytest.mark.parametrize("bad", [{"unknown": 1}, {"temperature_c": 500}, {"settle_s": -1}, {"missed_plays": 2.5},
                                 {"offline_minutes": True}])
def test_bad_overrides_are_refused_whole(bad):
    with pytest.raises(InvalidInput):
        check_overrides({"temperature_c": 65, **bad})


def test_a_condition_opens_only_after_the_settle_time_and_flapping_opens_nothing():
    finding = Finding("hk-1", "00070", Cause.AMPLIFIER_FAULT)
    first = step(None, finding, NOW, SETTLE)
    assert first.kind == "pending"
    alert = first.alert
    assert step(alert, finding, NOW + timedelta(minutes=1), SETTLE).kind == "touched"  # only last_seen_at moves
    hotter = Finding("hk-1", "00070", Cause.AMPLIFIER_FAULT, {"value": 1})
    assert step(alert, hotter, NOW + timedelta(minutes=1), SETTLE).kind == "seen"  # details are written again
    assert step(alert, None, NOW + timedelta(minutes=1), SETTLE).kind == "dropped"  # flapped away: never shown
    opened = step(alert, finding, NOW + SETTLE, SETTLE)
    assert opened.kind == "opened" and opened.alert.state is AlertState.OPEN


def test_resolves_only_when_clear_for_the_settle_time():
    finding = Finding("hk-1", "00070", Cause.AMPLIFIER_FAULT)
    alert = step(None, finding, NOW, timedelta(0)).alert
    assert alert.state is AlertState.OPEN
    cleared = step(alert, None, NOW + timedelta(minutes=1), SETTLE)
    assert cleared.kind == "seen" and cleared.alert.clear_since == NOW + timedelta(minutes=1)
    back = step(cleared.alert, finding, NOW + timedelta(minutes=2), SETTLE)  # it came back: still the same alert
    assert back.kind == "seen" and back.alert.clear_since is None and back.alert.state is AlertState.OPEN
    again = step(back.alert, None, NOW + timedelta(minutes=3), SETTLE).alert
    assert step(again, None, NOW + timedelta(minutes=4), SETTLE) is None
    resolved = step(again, None, NOW + timedelta(minutes=5), SETTLE)
    assert resolved.kind == "resolved" and resolved.alert.resolved_at == NOW + timedelta(minutes=5)


def test_descriptions_are_vietnamese():
    assert describe("temperature_high", {"value": 78, "threshold": 70}) == "Nhiệt độ cao: 78 °C (ngưỡng 70 °C)"
    assert describe("supply_low", {"value": 10300, "threshold": 10800}) == \
        "Điện áp nguồn thấp: 10,30 V (ngưỡng 10,80 V)"
    assert describe("speaker_line", {"value": "open"}) == "Đứt hoặc chập dây loa (đứt dây)"


def test_the_countrys_thresholds_are_json_over_the_defaults():
    assert parse_thresholds_setting("") == Thresholds()
    assert parse_thresholds_setting(' {"offline_minutes": 30} ') == Thresholds(offline_minutes=30)
    for bad in ("30", "{", '{"offline_minutes": true}', '{"temperature": 60}', '{"supply_mv": -1}'):
        with pytest.raises(ValueError):
            parse_thresholds_setting(bad)
