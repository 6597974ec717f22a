"""Section 9.1: the optional `health` of a status is parsed into typed values; a malformed one is dropped with the
reason while the rest of the status still counts; a v1.0 status without it is unchanged."""
from __future__ import annotations

import json

import pytest

from broadcast.protocol import build_status, parse_health, parse_status
from broadcast.protocol.wire import ProtocolError

AT = "2026-12-01T03:00:00Z"
FULL = {"temperature_c": 41, "supply_mv": 12150, "amplifier": "ok", "speaker_line": "ok", "rssi_dbm": -71,
        "network": "cellular", "uptime_s": 86400, "power": "on"}


def status_bytes(**extra) -> bytes:
    doc = build_status("c13579-007", at=AT, schedule_version=4, volume=80)
    doc.update(extra)
    return json.dumps(doc).encode()


def test_the_spec_example_is_read_whole():
    value = parse_status(status_bytes(health=FULL), "c13579-007")
    assert value.health is not None and value.health_problem is None
    assert (value.health.temperature_c, value.health.supply_mv, value.health.amplifier, value.health.speaker_line,
            value.health.rssi_dbm, value.health.network, value.health.uptime_s, value.health.power) == \
        (41, 12150, "ok", "ok", -71, "cellular", 86400, "on")


def test_every_member_may_be_missing():
    assert parse_health({}) == parse_health({"amplifier": None})
    assert parse_health({"speaker_line": "open"}).speaker_line == "open"
    assert parse_status(status_bytes()).health is None


@pytest.mark.parametrize("bad", [
    {"temperature_c": 41.5}, {"temperature_c": True}, {"supply_mv": "12V"}, {"amplifier": "broken"},
    {"speaker_line": 1}, {"network": "lora"}, {"power": "standby"}, {"rssi_dbm": 5}, {"uptime_s": -1},
])
def test_a_bad_member_is_refused_by_name(bad):
    with pytest.raises(ProtocolError) as caught:
        parse_health(bad)
    assert next(iter(bad)) in caught.value.detail


def test_a_bad_health_loses_only_itself():
    value = parse_status(status_bytes(health={"amplifier": "broken"}, playing=None), "c13579-007")
    assert value.online and value.schedule_version == 4 and value.volume == 80
    assert value.health is None and "amplifier" in (value.health_problem or "")
    assert parse_status(status_bytes(health=[1, 2])).health_problem


def test_build_status_carries_health():
    doc = build_status("c13579-007", at=AT, schedule_version=None, volume=50, health={"power": "off"})
    assert doc["health"] == {"power": "off"}
    assert "health" not in build_status("c13579-007", at=AT, schedule_version=None, volume=50)
