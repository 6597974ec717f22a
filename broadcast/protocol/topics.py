"""Protocol v1 topics (spec section 1): where each document travels, and parsing inbound topic names."""
from __future__ import annotations

import functools
from dataclasses import dataclass

from broadcast.protocol.wire import DEFAULT_PREFIX, DEVICE_ID_RE, TOPIC_KINDS, ZONE_ID_RE, ProtocolError, TopicKind


@functools.lru_cache(maxsize=64)  # the gateway parses every inbound topic with the same prefix
def _check_prefix(prefix: str) -> str:
    if not prefix or prefix.startswith("/") or prefix.endswith("/") or any(c in prefix for c in "+#\0"):
        raise ProtocolError("bad_prefix", f"tiền tố chủ đề không hợp lệ: {prefix!r}")
    return prefix


def _check_device_id(device_id: str) -> str:
    if not isinstance(device_id, str) or not DEVICE_ID_RE.match(device_id):
        raise ProtocolError("bad_device_id", f"mã thiết bị không hợp lệ: {device_id!r}")
    return device_id


def _check_zone_id(zone_id: str) -> str:
    if not isinstance(zone_id, str) or not ZONE_ID_RE.match(zone_id):
        raise ProtocolError("bad_zone_id", f"mã vùng không hợp lệ: {zone_id!r}")
    return zone_id


@dataclass(frozen=True)
class Topics:
    """Topic names under one prefix P (default `loaxa/v1`)."""

    prefix: str = DEFAULT_PREFIX

    def __post_init__(self) -> None:
        _check_prefix(self.prefix)

    def device(self, device_id: str, kind: TopicKind) -> str:
        if kind not in TOPIC_KINDS:
            raise ProtocolError("bad_topic", f"loại chủ đề không hợp lệ: {kind!r}")
        return f"{self.prefix}/devices/{_check_device_id(device_id)}/{kind}"

    def schedule(self, device_id: str) -> str:
        return self.device(device_id, "schedule")

    def command(self, device_id: str) -> str:
        return self.device(device_id, "command")

    def status(self, device_id: str) -> str:
        return self.device(device_id, "status")

    def ack(self, device_id: str) -> str:
        return self.device(device_id, "ack")

    def zone_command(self, zone_id: str) -> str:
        return f"{self.prefix}/zones/{_check_zone_id(zone_id)}/command"

    # Wildcard subscriptions for the server side.
    @property
    def all_status(self) -> str:
        return f"{self.prefix}/devices/+/status"

    @property
    def all_acks(self) -> str:
        return f"{self.prefix}/devices/+/ack"

    @property
    def everything(self) -> str:
        return f"{self.prefix}/#"


def parse_device_topic(prefix: str, topic: str) -> tuple[str, TopicKind]:
    """`P/devices/{id}/{kind}` -> (device_id, kind); ProtocolError otherwise."""
    _check_prefix(prefix)
    head = prefix + "/devices/"
    if not topic.startswith(head):
        raise ProtocolError("bad_topic", f"chủ đề không thuộc tiền tố {prefix!r}: {topic!r}")
    parts = topic[len(head):].split("/")
    if len(parts) != 2 or parts[1] not in TOPIC_KINDS:
        raise ProtocolError("bad_topic", f"chủ đề thiết bị không hợp lệ: {topic!r}")
    return _check_device_id(parts[0]), parts[1]  # type: ignore[return-value]


def parse_zone_topic(prefix: str, topic: str) -> str:
    """`P/zones/{zone}/command` -> zone id; ProtocolError otherwise."""
    _check_prefix(prefix)
    head = prefix + "/zones/"
    if not topic.startswith(head) or not topic.endswith("/command"):
        raise ProtocolError("bad_topic", f"chủ đề vùng không hợp lệ: {topic!r}")
    return _check_zone_id(topic[len(head):-len("/command")])
