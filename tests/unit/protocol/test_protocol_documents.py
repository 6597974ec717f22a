"""Unit tests of broadcast.protocol: canonical bytes, signing, keys, topics, validators."""

from __future__ import annotations

import base64
import json
import os
import stat
from datetime import datetime, timedelta, timezone

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from broadcast import protocol as p

TZ = timezone(timedelta(hours=7))
SHA = "ab" * 32


def _media() -> p.Media:
    return p.build_media(SHA, f"http://127.0.0.1:8000/media/{SHA}.mp3", 2496044, 312000)


def _schedule(**over) -> dict:
    doc = p.build_schedule(
        "c13579-007", 42,
        issued_at="2026-11-28T21:00:00+07:00", horizon_end="2026-12-05T21:00:00+07:00",
        zones=["37", "37-13579", "37-13579-thon-3"],
        items=[p.build_item("occ-8f2c", "2026-11-29T06:00:00+07:00", "2026-11-29T06:05:12+07:00",
                            priority="normal", volume=80, title="Luật Hòa giải ở cơ sở - số 3",
                            media=[_media()])],
    )
    doc.update(over)
    return dict(doc)


def _command(**over) -> dict:
    doc = dict(p.build_command("9b1d-01", "play_now", issued_at="2026-11-28T21:00:00+07:00",
                               expires_at="2026-11-28T21:10:00+07:00", priority="emergency",
                               volume=100, media=[_media()], target={"zone": "37-13579"}))
    doc.update(over)
    return doc


def _ack(**over) -> dict:
    doc = dict(p.build_ack("c13579-007", {"schedule": 42}, "played", at="2026-11-29T06:05:13+07:00",
                           item_id="occ-8f2c", started_at="2026-11-29T06:00:00+07:00",
                           ended_at="2026-11-29T06:05:12+07:00"))
    doc.update(over)
    return doc


def _status(**over) -> dict:
    doc = dict(p.build_status("c13579-007", at="2026-11-29T06:00:01+07:00", schedule_version=42, volume=80,
                              playing={"item_id": "occ-8f2c", "since": "2026-11-29T06:00:00+07:00"},
                              firmware="sim-1.0", clock_offset_ms=-12, storage_free_bytes=10))
    doc.update(over)
    return doc


def _b(doc) -> bytes:
    return json.dumps(doc, ensure_ascii=False).encode()


# ---------------------------------------------------------------- canonical bytes and signing

def test_canonical_bytes_sorted_compact_raw_utf8_without_sig():
    doc = {"b": 1, "a": "Hòa giải ở cơ sở", "sig": "x", "c": {"z": [1, 2], "y": None}}
    got = p.canonical_bytes(doc)
    assert got == '{"a":"Hòa giải ở cơ sở","b":1,"c":{"y":null,"z":[1,2]}}'.encode()
    assert b"\\u" not in got
    assert "ò".encode() in got


def test_canonical_bytes_matches_spec_python_expression():
    doc = _schedule()
    expected = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert p.canonical_bytes(doc) == expected
    assert p.canonical_bytes(p.sign(doc, p.generate_private_key())) == expected


def test_sign_then_verify_and_tamper_fails():
    key = p.generate_private_key()
    signed = p.sign(_schedule(), key)
    sig = base64.b64decode(signed["sig"], validate=True)
    assert len(sig) == 64
    assert p.verify(signed, p.public_key_of(key))
    assert p.verify(signed, p.public_key_b64(key))  # base64 public key form
    tampered = dict(signed, items=[dict(signed["items"][0], title="Luật Hoà giải ở cơ sở - số 3")])
    assert not p.verify(tampered, p.public_key_of(key))
    assert not p.verify(signed, p.public_key_of(p.generate_private_key()))


def test_signature_survives_key_order_and_wire_round_trip():
    key = p.generate_private_key()
    signed = p.sign(_command(), key)
    shuffled = dict(reversed(list(signed.items())))
    assert p.verify(shuffled, p.public_key_of(key))
    assert p.verify(json.loads(p.encode(signed)), p.public_key_of(key))


@pytest.mark.parametrize("sig", [None, 12, "", "not base64!!", base64.b64encode(b"x" * 63).decode()])
def test_verify_false_on_missing_or_malformed_sig(sig):
    key = p.generate_private_key()
    doc = _schedule()
    if sig is not None:
        doc["sig"] = sig
    assert p.verify(doc, p.public_key_of(key)) is False


def test_verify_matches_independent_openssl_style_check():
    # Signature made directly with cryptography over the spec's expression.
    key = Ed25519PrivateKey.generate()
    doc = _schedule()
    raw = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    doc["sig"] = base64.b64encode(key.sign(raw)).decode()
    assert p.verify(doc, key.public_key().public_bytes_raw())


def test_the_key_file_is_the_pkcs8_pem_openssl_reads_and_writes():
    """Key files of earlier releases (written by cryptography/OpenSSL) load, and ours load there: same key."""
    theirs = Ed25519PrivateKey.generate()
    pem = theirs.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                               serialization.NoEncryption())
    ours = p.load_private_key_pem(pem)
    assert base64.b64decode(p.public_key_b64(ours)) == theirs.public_key().public_bytes_raw()
    back = serialization.load_pem_private_key(p.private_key_to_pem(ours), password=None)
    assert back.public_key().public_bytes_raw() == theirs.public_key().public_bytes_raw()
    assert p.private_key_to_pem(ours) == pem


@pytest.mark.parametrize("pem", [
    b"", b"-----BEGIN PRIVATE KEY-----\n%%%\n-----END PRIVATE KEY-----\n",
    b"-----BEGIN PRIVATE KEY-----\n" + base64.encodebytes(b"\x30" * 48) + b"-----END PRIVATE KEY-----\n",
    b"-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n"])
def test_a_key_file_that_is_not_an_ed25519_pkcs8_key_is_refused(pem):
    with pytest.raises(ValueError):
        p.load_private_key_pem(pem)


# ---------------------------------------------------------------- keys

def test_load_or_create_signing_key_creates_0600_then_reloads(tmp_path):
    path = tmp_path / "keys" / "signing.pem"
    k1 = p.load_or_create_signing_key(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    k2 = p.load_or_create_signing_key(path)
    assert p.public_key_b64(k1) == p.public_key_b64(k2)


def test_public_key_b64_is_raw_32_bytes_and_round_trips():
    key = p.generate_private_key()
    b64 = p.public_key_b64(key)
    assert len(base64.b64decode(b64)) == 32
    assert p.public_key_b64(p.load_public_key_b64(b64)) == b64
    assert p.load_private_key_pem(p.private_key_to_pem(key)) is not None


@pytest.mark.parametrize("bad", ["%%%", base64.b64encode(b"x" * 31).decode()])
def test_load_public_key_b64_rejects_bad_input(bad):
    with pytest.raises(ValueError):
        p.load_public_key_b64(bad)


# ---------------------------------------------------------------- topics

def test_topic_builders_and_parser_round_trip():
    t = p.Topics()
    assert t.schedule("c13579-007") == "loaxa/v1/devices/c13579-007/schedule"
    assert t.zone_command("37-13579") == "loaxa/v1/zones/37-13579/command"
    assert t.all_acks == "loaxa/v1/devices/+/ack"
    for kind in p.TOPIC_KINDS:
        assert p.parse_device_topic("loaxa/v1", t.device("c13579-007", kind)) == ("c13579-007", kind)
    assert p.parse_zone_topic("loaxa/v1", t.zone_command("37")) == "37"
    assert p.Topics("x/y").ack("abc") == "x/y/devices/abc/ack"


@pytest.mark.parametrize("topic", [
    "other/v1/devices/c13579-007/ack",
    "loaxa/v1/devices/c13579-007/ack/extra",
    "loaxa/v1/devices/c13579-007/bogus",
    "loaxa/v1/devices/AB/ack",
    "loaxa/v1/devices//ack",
    "loaxa/v1/zones/37/command",
])
def test_parse_device_topic_rejects(topic):
    with pytest.raises(p.ProtocolError) as e:
        p.parse_device_topic("loaxa/v1", topic)
    assert e.value.code in ("bad_topic", "bad_device_id")


@pytest.mark.parametrize("device_id", ["ab", "-abc", "Abc", "a" * 65, "abc_d", "abc/d", "ab+"])
def test_topic_builder_rejects_bad_device_ids(device_id):
    with pytest.raises(p.ProtocolError):
        p.Topics().status(device_id)


def test_bad_prefix_rejected():
    with pytest.raises(p.ProtocolError):
        p.Topics("loaxa/#")


# ---------------------------------------------------------------- time

def test_time_helpers():
    dt = datetime(2026, 11, 29, 6, 0, 0, 123456, tzinfo=TZ)
    assert p.format_time(dt) == "2026-11-29T06:00:00+07:00"
    assert p.parse_time("2026-11-29T06:00:00+07:00") == dt.replace(microsecond=0)
    assert p.parse_time("2026-11-28T23:00:00Z") == dt.replace(microsecond=0)
    with pytest.raises(ValueError):
        p.format_time(datetime(2026, 1, 1))


@pytest.mark.parametrize("value", [
    "2026-11-29T06:00:00", "2026-11-29T06:00:00.5+07:00", "2026-11-29 06:00:00+07:00",
    "2026-02-30T06:00:00+07:00", "29/11/2026", 1764370800, None,
])
def test_parse_time_rejects(value):
    with pytest.raises(p.ProtocolError) as e:
        p.parse_time(value)
    assert e.value.code == "bad_time"


# ---------------------------------------------------------------- validators: valid documents pass

def test_valid_documents_parse():
    assert p.parse_schedule(_b(_schedule()), "c13579-007")["version"] == 42
    assert p.parse_command(_b(_command()))["action"] == "play_now"
    ack = p.parse_ack(_b(_ack()), "c13579-007")
    assert (ack.stage, ack.ref_kind, ack.ref_id, ack.item_id) == ("played", "schedule", "42", _ack()["item_id"])
    assert ack.at.tzinfo is not None and ack.started_at is not None and ack.ended_at is not None
    status = p.parse_status(_b(_status()), "c13579-007")
    assert status.online is True and status.at is not None and status.device_id == "c13579-007"
    assert p.parse_status(p.encode(p.offline_status("c13579-007"))) == p.StatusValue("c13579-007", online=False)
    stream = _schedule(items=[p.build_item("relay-1", "2026-11-29T06:00:00+07:00", "2026-11-29T07:00:00+07:00",
                                           stream_url="http://vov.example/live")])
    assert p.parse_schedule(_b(stream))["items"][0]["stream_url"]
    for action, extra in [("stop", {"ref_cmd_id": "x1"}), ("set_volume", {"volume": 0}), ("resync", {})]:
        cmd = p.build_command("c-2", action, issued_at="2026-11-28T21:00:00+07:00",
                              expires_at="2026-11-28T21:10:00+07:00", **extra)
        assert p.parse_command(p.encode(cmd))["action"] == action


def test_signed_parsers():
    key = p.generate_private_key()
    good = p.encode(p.sign(_schedule(), key))
    assert p.parse_signed_schedule(good, p.public_key_of(key), "c13579-007")["version"] == 42
    forged = p.encode(p.sign(_schedule(), p.generate_private_key()))
    with pytest.raises(p.ProtocolError) as e:
        p.parse_signed_schedule(forged, p.public_key_of(key), "c13579-007")
    assert e.value.code == "bad_signature"
    with pytest.raises(p.ProtocolError) as e:
        p.parse_signed_command(p.encode(_command()), p.public_key_of(key))
    assert e.value.code == "bad_signature"


# ---------------------------------------------------------------- validators: every rejection

@pytest.mark.parametrize("payload,code", [
    (b"{" + b" " * p.MAX_PAYLOAD_BYTES + b"}", "too_large"),
    (b"\xff\xfe{}", "not_utf8"),
    (b"{not json", "not_json"),
    (b'{"a":1,"a":2}', "not_json"),
    (b'{"a":NaN}', "not_json"),
    (b"[1,2]", "not_object"),
    (b'"schedule"', "not_object"),
])
def test_decode_object_rejections(payload, code):
    with pytest.raises(p.ProtocolError) as e:
        p.parse_schedule(payload)
    assert e.value.code == code


def test_payload_at_limit_is_not_too_large():
    doc = _schedule()
    raw = _b(doc)
    padded = raw[:-1] + b" " * (p.MAX_PAYLOAD_BYTES - len(raw)) + b"}"
    assert len(padded) == p.MAX_PAYLOAD_BYTES
    assert p.parse_schedule(padded)["version"] == 42


def _item(**over):
    item = dict(_schedule()["items"][0])
    item.update(over)
    return item


@pytest.mark.parametrize("over,code", [
    ({"type": "command"}, "wrong_type"),
    ({"type": None}, "wrong_type"),
    ({"device_id": "c13579-008"}, "device_mismatch"),
    ({"device_id": "BAD ID"}, "bad_device_id"),
    ({"version": True}, "bad_field"),
    ({"version": 42.0}, "bad_field"),
    ({"version": "42"}, "bad_field"),
    ({"version": -1}, "bad_field"),
    ({"issued_at": "2026-11-28T21:00:00"}, "bad_time"),
    ({"horizon_end": "2026-12-05T21:00:00.000+07:00"}, "bad_time"),
    ({"zones": ["37", "Thôn 3"]}, "bad_zone_id"),
    ({"zones": "37"}, "bad_zone_id"),
    ({"status_interval_s": 0}, "bad_field"),
    ({"status_interval_s": 60.5}, "bad_field"),
    ({"items": {}}, "bad_field"),
    ({"items": ["x"]}, "bad_field"),
    ({"items": [_item(volume=101)]}, "bad_field"),
    ({"items": [_item(volume=False)]}, "bad_field"),
    ({"items": [_item(priority="urgent")]}, "bad_field"),
    ({"items": [_item(start="2026-11-29T06:10:00+07:00")]}, "bad_field"),
    ({"items": [_item(item_id="")]}, "bad_field"),
    ({"items": [_item(stream_url="http://x/live")]}, "bad_field"),
    ({"items": [_item(media=[])]}, "bad_field"),
    ({"items": [_item(media=[dict(_media(), sha256="AB" * 32)])]}, "bad_field"),
    ({"items": [_item(media=[dict(_media(), bytes=1.5)])]}, "bad_field"),
    ({"items": [_item(media=[dict(_media(), duration_ms=True)])]}, "bad_field"),
    ({"items": [_item(media=[dict(_media(), url="ftp://x/y")])]}, "bad_field"),
    ({"items": [_item(), _item()]}, "bad_field"),
    ({"items": [_item(), _item(item_id="occ-2", start="2026-11-29T06:05:00+07:00",
                               end="2026-11-29T06:07:00+07:00")]}, "overlap"),
])
def test_schedule_rejections(over, code):
    with pytest.raises(p.ProtocolError) as e:
        p.parse_schedule(_b(_schedule(**over)), "c13579-007")
    assert e.value.code == code


@pytest.mark.parametrize("field", ["device_id", "version", "issued_at", "horizon_end", "zones",
                                   "status_interval_s", "items"])
def test_schedule_missing_fields(field):
    doc = _schedule()
    del doc[field]
    with pytest.raises(p.ProtocolError) as e:
        p.parse_schedule(_b(doc))
    assert e.value.code == "missing_field"


@pytest.mark.parametrize("over,code", [
    ({"type": "schedule"}, "wrong_type"),
    ({"cmd_id": "has space"}, "bad_field"),
    ({"action": "self_destruct"}, "unknown_action"),
    ({"expires_at": "tomorrow"}, "bad_time"),
    ({"priority": "high"}, "bad_field"),
    ({"volume": 100.0}, "bad_field"),
    ({"volume": -1}, "bad_field"),
    ({"stream_url": "http://x/live"}, "bad_field"),
    ({"end": "2026-11-28T21:10:00.1+07:00"}, "bad_time"),
    ({"target": {"zone": "Thôn"}}, "bad_zone_id"),
    ({"target": "37"}, "bad_field"),
    ({"ref_cmd_id": ""}, "bad_field"),
])
def test_command_rejections(over, code):
    with pytest.raises(p.ProtocolError) as e:
        p.parse_command(_b(_command(**over)))
    assert e.value.code == code


def test_command_action_specific_rules():
    base = dict(issued_at="2026-11-28T21:00:00+07:00", expires_at="2026-11-28T21:10:00+07:00")
    with pytest.raises(p.ProtocolError) as e:  # set_volume needs volume
        p.parse_command(p.encode(p.build_command("c1", "set_volume", **base)))
    assert e.value.code == "missing_field"
    with pytest.raises(p.ProtocolError) as e:  # play_now needs a priority
        p.parse_command(p.encode(p.build_command("c1", "play_now", media=[_media()], **base)))
    assert e.value.code == "missing_field"
    with pytest.raises(p.ProtocolError) as e:  # stop carries no media
        p.parse_command(p.encode(p.build_command("c1", "stop", media=[_media()], **base)))
    assert e.value.code == "bad_field"


@pytest.mark.parametrize("over,code", [
    ({"type": "status"}, "wrong_type"),
    ({"device_id": "c13579-999"}, "device_mismatch"),
    ({"ref": {"schedule": 42, "command": "x"}}, "bad_ref"),
    ({"ref": {"order": 1}}, "bad_ref"),
    ({"ref": {"schedule": "42"}}, "bad_field"),
    ({"ref": {"schedule": True}}, "bad_field"),
    ({"stage": "done"}, "bad_stage"),
    ({"at": "2026-11-29 06:05:13+07:00"}, "bad_time"),
    ({"item_id": None}, "missing_field"),
    ({"started_at": "x"}, "bad_time"),
    ({"reason": 5}, "bad_field"),
])
def test_ack_rejections(over, code):
    with pytest.raises(p.ProtocolError) as e:
        p.parse_ack(_b(_ack(**over)), "c13579-007")
    assert e.value.code == code


def test_ack_stage_rules():
    for stage in p.ACK_STAGES:
        ack = p.build_ack("c13579-007", {"command": "c-1"}, stage, at="2026-11-29T06:05:13+07:00",
                          reason="x", started_at="2026-11-29T06:00:00+07:00", ended_at="2026-11-29T06:05:00+07:00")
        assert p.parse_ack(p.encode(ack)).stage == stage
    no_reason = p.build_ack("c13579-007", {"schedule": 1}, "rejected", at="2026-11-29T06:05:13+07:00")
    with pytest.raises(p.ProtocolError) as e:
        p.parse_ack(p.encode(no_reason))
    assert e.value.code == "missing_field"
    no_end = _ack()
    del no_end["ended_at"]
    with pytest.raises(p.ProtocolError) as e:
        p.parse_ack(_b(no_end))
    assert e.value.code == "missing_field"


@pytest.mark.parametrize("over,code", [
    ({"online": "yes"}, "bad_field"),
    ({"at": None}, "bad_time"),
    ({"schedule_version": 4.2}, "bad_field"),
    ({"volume": True}, "bad_field"),
    ({"clock_offset_ms": 1.5}, "bad_field"),
    ({"playing": "occ-8f2c"}, "bad_field"),
    ({"playing": {"item_id": "occ-8f2c", "since": "now"}}, "bad_time"),
    ({"capabilities": "audio"}, "bad_field"),
    ({"device_id": "x"}, "bad_device_id"),
])
def test_status_rejections(over, code):
    with pytest.raises(p.ProtocolError) as e:
        p.parse_status(_b(_status(**over)), "c13579-007")
    assert e.value.code == code


def test_protocol_error_carries_code_and_vietnamese_detail():
    with pytest.raises(p.ProtocolError) as e:
        p.parse_schedule(_b(_schedule(version=True)))
    assert e.value.code == "bad_field"
    assert "số nguyên" in e.value.detail
    assert str(e.value).startswith("bad_field: ")


def test_priority_rank_orders_classes():
    assert p.priority_rank("normal") < p.priority_rank("priority") < p.priority_rank("emergency")
