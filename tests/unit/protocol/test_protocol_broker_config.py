"""Unit tests of broker_config: mosquitto `$7$` hashes, ACL lines, conf content."""

from __future__ import annotations

import os
import stat

import pytest

from broadcast.protocol import broker_config as bc

# Captured from `mosquitto_passwd -c -b pw alice secret` (mosquitto 2.0.11).
CAPTURED = ("alice:$7$101$81Fekh3i3a6NO/9J$hRMxqa7kYmtpyu6CJT3006LMPubRDnuJkMA34CnhBKvS5TbPVPRxu8i3T++6"
            "rsyLupNK9vC4T4mT4NJrBvycyg==")


def test_check_password_accepts_a_hash_made_by_mosquitto_passwd():
    user, hashed = CAPTURED.split(":", 1)
    assert bc.check_password("secret", hashed)
    assert not bc.check_password("Secret", hashed)


def test_hash_password_reproduces_mosquitto_format_for_the_same_salt():
    _, hashed = CAPTURED.split(":", 1)
    salt = __import__("base64").b64decode(hashed.split("$")[3])
    assert bc.hash_password("secret", salt=salt) == hashed


def test_hash_password_uses_fresh_salt_and_verifies():
    a, b = bc.hash_password("mật-khẩu"), bc.hash_password("mật-khẩu")
    assert a != b and a.startswith("$7$101$")
    assert bc.check_password("mật-khẩu", a) and bc.check_password("mật-khẩu", b)
    assert not bc.check_password("x", "$6$1$abc$def") and not bc.check_password("x", "garbage")


def test_acl_is_pattern_based_and_does_not_grow_per_device():
    acl = bc.render_acl("loaxa/v1", "loaxa-server")
    lines = [ln for ln in acl.splitlines() if ln and not ln.startswith("#")]
    assert lines == [
        "pattern write loaxa/v1/devices/%u/status",
        "pattern write loaxa/v1/devices/%u/ack",
        "pattern read loaxa/v1/devices/%u/schedule",
        "pattern read loaxa/v1/devices/%u/command",
        "pattern read loaxa/v1/zones/+/command",
        "user loaxa-server",
        "topic readwrite loaxa/v1/#",
    ]


@pytest.mark.parametrize("prefix", ["", "/x", "x/", "a/+/b", "a/#", "a/%u"])
def test_bad_prefixes_are_refused(prefix):
    with pytest.raises(ValueError):
        bc.render_acl(prefix, "srv")


def test_write_broker_config_writes_device_and_server_accounts_apart(tmp_path):
    devices = [(f"c13579-{i:03d}", f"pw{i}") for i in range(50)]
    conf = bc.write_broker_config(tmp_path / "out", "loaxa/v1", "loaxa-server", "s3cret", devices,
                                  "127.0.0.1", 18883, tmp_path / "data", server_port=18884)
    out = tmp_path / "out"
    assert conf == (out / "mosquitto.conf").resolve()
    passwd = (out / "passwd").read_text().splitlines()
    assert len(passwd) == 50
    users = dict(line.split(":", 1) for line in passwd)
    assert bc.check_password("pw7", users["c13579-007"])
    server_user, server_hash = (out / "server_passwd").read_text().strip().split(":", 1)
    assert server_user == "loaxa-server" and bc.check_password("s3cret", server_hash)
    for name in ("passwd", "server_passwd", "acl", "mosquitto.conf"):
        assert stat.S_IMODE(os.stat(out / name).st_mode) == 0o640
    text = conf.read_text()
    devices_part, server_part = text.split("listener 18884 127.0.0.1")
    assert "per_listener_settings true" in devices_part
    for needle in ("listener 18883 127.0.0.1", "allow_anonymous false", f"password_file {out / 'passwd'}",
                   f"acl_file {out / 'acl'}", "use_username_as_clientid true", "persistence true",
                   f"persistence_location {tmp_path / 'data'}/", "max_queued_messages 200000", "max_connections -1"):
        assert needle in devices_part
    assert f"password_file {out / 'server_passwd'}" in server_part and "use_username_as_clientid" not in server_part
    assert "user " not in text  # no privilege override unless asked
    assert "%u" in (out / "acl").read_text()


def test_tls_listener_for_devices_and_optionally_the_server(tmp_path):
    tls = bc.TlsListener(tmp_path / "cert.pem", tmp_path / "key.pem", 18885)
    text = bc.write_broker_config(tmp_path, "loaxa/v1", "srv", "x", [], "0.0.0.0", 18883, server_port=18884,
                                  tls=tls, plain=False, server_tls=True).read_text()
    assert "listener 18883" not in text
    tls_part, server_part = text.split("listener 18885 0.0.0.0")[1].split("listener 18884 127.0.0.1")
    for part in (tls_part, server_part):
        assert f"certfile {tmp_path / 'cert.pem'}" in part and f"keyfile {tmp_path / 'key.pem'}" in part
    assert "use_username_as_clientid true" in tls_part


def test_duplicate_or_bad_usernames_refused(tmp_path):
    with pytest.raises(ValueError):
        bc.write_broker_config(tmp_path, "loaxa/v1", "srv", "x", [("srv", "y")])
    with pytest.raises(ValueError):
        bc.write_broker_config(tmp_path, "loaxa/v1", "srv", "x", [("bad:user", "y")])


def test_anonymous_config_has_no_accounts(tmp_path):
    text = bc.write_anonymous_config(tmp_path, "127.0.0.1", 1999, run_as_user="root").read_text()
    assert "allow_anonymous true" in text and "password_file" not in text and "user root" in text
