"""Which addresses the server may fetch media from (LOAXA_FETCH_ALLOW); no network is used here."""
from __future__ import annotations

import pytest

from broadcast.adapters.fetch_policy import FetchPolicy, FetchRefused
from broadcast.settings import SettingsError, load_settings

DEFAULT = FetchPolicy.parse("")


@pytest.mark.parametrize("address", [
    "127.0.0.1", "127.255.0.9", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1",
    "100.127.255.254", "0.0.0.0", "224.0.0.1", "239.255.255.250", "255.255.255.255", "240.0.0.1", "198.18.0.1",
    "192.0.2.10", "::1", "::", "fe80::1", "fe80::1%lo", "fc00::1", "fd12:3456::1", "ff02::1", "ff0e::1",
    "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:100.64.0.1", "::127.0.0.1", "2002:7f00:1::", "2002:a00:1::1",
    "64:ff9b::7f00:1", "2001:db8::1",
])
def test_the_default_refuses_every_non_public_address(address):
    assert not DEFAULT.allows_address(address)


@pytest.mark.parametrize("address", ["8.8.8.8", "203.113.131.1", "2001:4860:4860::8888", "::ffff:8.8.8.8",
                                     "2002:808:808::1"])
def test_the_default_allows_public_addresses(address):
    assert DEFAULT.allows_address(address)


def test_networks_and_names_widen_the_default():
    policy = FetchPolicy.parse(" 10.20.0.0/16, LGSP.Tinh.gov.vn ,fd00:1::/32,127.0.0.2")
    assert policy.allows_address("10.20.5.6") and policy.allows_address("::ffff:10.20.5.6")
    assert policy.allows_address("fd00:1::9") and policy.allows_address("127.0.0.2")
    assert policy.allows_address("8.8.8.8")  # still public
    assert not policy.allows_address("10.21.0.1") and not policy.allows_address("127.0.0.1")
    assert policy.allows_name("lgsp.tinh.gov.vn") and policy.allows_name("LGSP.TINH.GOV.VN.")
    assert not policy.allows_name("x.lgsp.tinh.gov.vn") and not policy.allows_name("tinh.gov.vn")


@pytest.mark.parametrize("host", ["127.0.0.1", "2130706433", "0x7f.1", "0177.0.0.1", "127.1", "0", "::1",
                                  "::ffff:127.0.0.1", "fe80::1%lo"])
def test_numeric_spellings_are_resolved_before_they_are_judged(host):
    with pytest.raises(FetchRefused):
        DEFAULT.check_host(host, 80)


@pytest.mark.parametrize("value", ["10.20.0.0/33", "http://lgsp.tinh.gov.vn", "lgsp.tinh.gov.vn:443", "*.gov.vn",
                                   "10.0.0.0/8;", "123"])
def test_a_bad_allow_entry_stops_start_up_naming_the_variable(monkeypatch, value):
    monkeypatch.setenv("LOAXA_FETCH_ALLOW", value)
    with pytest.raises(SettingsError, match="LOAXA_FETCH_ALLOW"):
        load_settings()


def test_the_allow_list_reaches_the_settings(monkeypatch):
    monkeypatch.setenv("LOAXA_FETCH_ALLOW", "10.20.0.0/16,lgsp.tinh.gov.vn")
    policy = load_settings().fetch_policy
    assert policy.allows_address("10.20.0.1") and policy.allows_name("lgsp.tinh.gov.vn")
    assert not load_settings(fetch_allow="").fetch_policy.allows_address("10.20.0.1")


def test_the_connected_address_is_judged_again():
    """What a name resolved to at connect time (DNS rebinding), unless the name itself is allowed."""
    with pytest.raises(FetchRefused):
        DEFAULT.check_peer("media.example.vn", "127.0.0.1")
    with pytest.raises(FetchRefused):
        DEFAULT.check_peer("media.example.vn", None)  # a transport that does not tell is refused
    DEFAULT.check_peer("media.example.vn", "203.113.131.1")
    FetchPolicy.parse("media.example.vn").check_peer("media.example.vn", "10.0.0.5")
