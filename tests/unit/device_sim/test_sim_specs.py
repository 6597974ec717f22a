"""Unit tests of the simulator's pure helpers: credentials CSV, specs, broker URL."""

from __future__ import annotations

import pytest

from device_sim.credentials import CredentialsError, dump_credentials, parse_credentials
from device_sim.fleet import FaultPlan, apply_faults, make_specs, parse_broker_url


def test_credentials_csv_with_header_zones_and_comments():
    text = "device_id,password,zones\n# comment\nc13579-001,s1,37;37-13579\nc13579-002,s2\n\n"
    specs = parse_credentials(text)
    assert [(s.device_id, s.password, s.zones) for s in specs] == [
        ("c13579-001", "s1", ("37", "37-13579")), ("c13579-002", "s2", ())]
    assert parse_credentials(dump_credentials(specs)) == specs


@pytest.mark.parametrize("text", ["onlyone\n", "BAD ID,pw\n", "abc-1,pw\nabc-1,pw2\n", "abc-1,pw,Thôn 3\n"])
def test_credentials_errors_are_vietnamese(text):
    with pytest.raises(CredentialsError) as e:
        parse_credentials(text)
    assert "dòng" in str(e.value)


def test_make_specs_applies_fault_fractions_deterministically():
    faults = FaultPlan(offline_fraction=0.25, fail_download_fraction=0.5, clock_skew_ms=200, drop_ack_rate=0.1)
    a = make_specs(1000, id_prefix="x", faults=faults, seed=3)
    assert a == make_specs(1000, id_prefix="x", faults=faults, seed=3)
    assert a[0].device_id == "x-00001" and len({s.device_id for s in a}) == 1000
    offline = sum(s.start_offline for s in a)
    failing = sum(s.fail_downloads for s in a)
    assert 180 < offline < 320 and 420 < failing < 580
    assert all(-200 <= s.clock_skew_ms <= 200 for s in a) and len({s.clock_skew_ms for s in a}) > 50
    assert all(s.drop_ack_rate == 0.1 for s in a)
    assert not any(s.start_offline for s in make_specs(50))


def test_apply_faults_keeps_credentials():
    specs = parse_credentials("abc-1,pw1,37\nabc-2,pw2\n")
    out = apply_faults(specs, FaultPlan(offline_fraction=1.0), seed=1)
    assert [(s.device_id, s.password, s.zones, s.start_offline) for s in out] == [
        ("abc-1", "pw1", ("37",), True), ("abc-2", "pw2", (), True)]


@pytest.mark.parametrize("url,expected", [
    ("mqtt://127.0.0.1:18830", ("127.0.0.1", 18830)),
    ("tcp://broker", ("broker", 1883)),
    ("localhost:1999", ("localhost", 1999)),
    ("mqtts://broker", ("broker", 8883)),
])
def test_parse_broker_url(url, expected):
    assert parse_broker_url(url) == expected


@pytest.mark.parametrize("url", ["http://x:1", "mqtt://:1883"])
def test_parse_broker_url_rejects(url):
    with pytest.raises(ValueError):
        parse_broker_url(url)
