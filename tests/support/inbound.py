"""Device documents as the gateway hands them to the inbox: encoded and parsed by the protocol, as on the wire."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from broadcast import protocol
from broadcast.devices.ports import InboundMessage


def as_received(doc: Mapping[str, Any], received_at: datetime) -> InboundMessage:
    payload = protocol.encode(doc)
    if doc["type"] == "status":
        status = protocol.parse_status(payload)
        return InboundMessage(status.device_id, "status", status, received_at)
    ack = protocol.parse_ack(payload)
    return InboundMessage(ack.device_id, "ack", ack, received_at)


def presence(device_id: str, online: bool, at: datetime) -> InboundMessage:
    """A status that says only whether the device is online (the rest as a simulator sends it)."""
    doc = protocol.build_status(device_id, at=at, schedule_version=None, volume=50) if online \
        else protocol.offline_status(device_id)
    return as_received(doc, at)
