"""Unit tests of the gateway's inbound filter and log throttle (no sockets)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from broadcast import protocol as p
from broadcast.devices.gateway import LogThrottle, classify, explain
from broadcast.devices.ports import DropReason, InboundMessage

PREFIX = "loaxa/v1"
DEV = "c13579-007"
AT = "2026-11-29T06:00:00+07:00"
T = p.Topics(PREFIX)
NOW = datetime(2026, 11, 28, 23, 0, tzinfo=UTC)


def _status(device_id: str = DEV, **over) -> bytes:
    doc = dict(p.build_status(device_id, at=AT, schedule_version=42, volume=80), **over)
    return p.encode(doc)


def _ack(device_id: str = DEV, **over) -> bytes:
    doc = dict(p.build_ack(device_id, p.schedule_ref(42), "ready", at=AT), **over)
    return p.encode(doc)


def test_valid_status_becomes_an_inbound_message_with_the_topic_device_and_given_time():
    payload = _status()
    got = classify(PREFIX, T.status(DEV), payload, received_at=NOW)
    assert got == InboundMessage(DEV, "status", p.parse_status(payload), NOW)
    assert isinstance(got.value, p.StatusValue) and got.value.volume == 80 and got.value.at is not None


def test_valid_ack_and_the_offline_last_will_pass():
    ack = classify(PREFIX, T.ack(DEV), _ack(), received_at=NOW)
    assert isinstance(ack, InboundMessage) and ack.kind == "ack" and ack.value.stage == "ready"
    lwt = classify(PREFIX, T.status(DEV), p.encode(p.offline_status(DEV)), received_at=NOW)
    assert isinstance(lwt, InboundMessage) and lwt.value == p.StatusValue(DEV, online=False)


def test_received_at_defaults_to_now_in_utc():
    before = datetime.now(UTC)
    got = classify(PREFIX, T.status(DEV), _status())
    assert isinstance(got, InboundMessage)
    assert got.received_at.tzinfo is not None and got.received_at.utcoffset().total_seconds() == 0
    assert before <= got.received_at <= datetime.now(UTC)


def test_a_payload_device_id_other_than_the_topics_is_a_mismatch():
    assert classify(PREFIX, T.ack(DEV), _ack("c13579-008")) is DropReason.DEVICE_MISMATCH
    assert classify(PREFIX, T.status(DEV), _status("c13579-008")) is DropReason.DEVICE_MISMATCH


def test_oversized_is_decided_before_anything_else():
    big = b"{" + b" " * p.MAX_PAYLOAD_BYTES + b"}"
    assert classify(PREFIX, "not/even/ours", big) is DropReason.OVERSIZED
    # Exactly at the limit is still parsed (and here found malformed, not oversized).
    at_limit = b"x" * p.MAX_PAYLOAD_BYTES
    assert classify(PREFIX, T.status(DEV), at_limit) is DropReason.MALFORMED


@pytest.mark.parametrize("topic", [
    "other/v1/devices/c13579-007/status",       # another prefix
    f"{PREFIX}/devices/C13579-007/status",      # invalid device id (upper case)
    f"{PREFIX}/devices/ab/status",               # too short an id
    f"{PREFIX}/devices/{DEV}/schedule",          # server -> device kinds are not inbound
    f"{PREFIX}/devices/{DEV}/command",
    f"{PREFIX}/devices/{DEV}/status/extra",
    f"{PREFIX}/zones/37/command",
    "",
])
def test_topics_that_are_not_a_device_status_or_ack(topic):
    assert classify(PREFIX, topic, _status()) is DropReason.UNKNOWN_TOPIC


@pytest.mark.parametrize("payload", [
    b"not json", b"\xff\xfe\x00garbage", b"[1, 2, 3]", b"42", b"null", b"[" * 50_000,
    b'{"type": "status", "type": "ack"}',   # duplicate keys
    b'{"type": "status", "x": NaN}',
])
def test_bytes_that_are_not_a_json_object_are_malformed(payload):
    assert classify(PREFIX, T.status(DEV), payload) is DropReason.MALFORMED


@pytest.mark.parametrize("kind,payload", [
    ("status", _ack()),                                    # an ack on the status topic
    ("ack", _status()),
    ("status", _status(volume=101)),
    ("status", _status(at="2026-11-29 06:00")),
    ("ack", _ack(stage="teleported")),
    ("ack", _ack(ref={"schedule": 1, "command": "x"})),
    ("ack", b'{"type": "ack"}'),
    ("status", _status(device_id="BAD ID")),
])
def test_json_that_breaks_protocol_v1_is_bad_schema(kind, payload):
    assert classify(PREFIX, T.device(DEV, kind), payload) is DropReason.BAD_SCHEMA


def test_empty_payload_is_a_cleared_retained_status():
    assert classify(PREFIX, T.status(DEV), b"") is DropReason.EMPTY


def test_custom_prefix_is_honoured():
    topics = p.Topics("commune/x")
    assert isinstance(classify("commune/x", topics.status(DEV), _status()), InboundMessage)
    assert classify(PREFIX, topics.status(DEV), _status()) is DropReason.UNKNOWN_TOPIC


def test_explain_gives_the_vietnamese_detail_of_each_drop():
    assert "vượt giới hạn" in explain(PREFIX, T.status(DEV), b"x" * (p.MAX_PAYLOAD_BYTES + 1))
    assert "JSON" in explain(PREFIX, T.status(DEV), b"nope")
    assert "c13579-008" in explain(PREFIX, T.ack(DEV), _ack("c13579-008"))
    assert "rỗng" in explain(PREFIX, T.status(DEV), b"")
    assert explain(PREFIX, T.status(DEV), _status()) == "hợp lệ"


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_log_throttle_allows_one_line_per_key_per_interval_and_counts_the_rest():
    clock = FakeClock()
    throttle = LogThrottle(10.0, clock)
    assert throttle.allow("malformed") == 0
    assert [throttle.allow("malformed") for _ in range(9_999)] == [None] * 9_999
    assert throttle.allow("oversized") == 0          # keys are independent
    clock.t += 9.9
    assert throttle.allow("malformed") is None
    clock.t += 0.2
    assert throttle.allow("malformed") == 10_000     # the held-back count, then reset
    clock.t += 10.0
    assert throttle.allow("malformed") == 0
