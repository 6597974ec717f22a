"""What the MQTT gateway hands to the rest of the server, without paho.

Services implement `DeviceInbox` and import these names from here, so they
never load paho (only broadcast.devices.gateway does).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Literal, Protocol

from broadcast.protocol import AckValue, StatusValue

InboundKind = Literal["status", "ack"]


@dataclass(frozen=True)
class InboundMessage:
    """A device message that passed topic, size and schema checks."""

    device_id: str
    kind: InboundKind
    value: StatusValue | AckValue  # parsed once, here; the inbox stores it as it is
    received_at: datetime  # UTC, when the gateway got it


class DropReason(str, Enum):
    """Why an inbound message was not passed on (the metric's `reason` label)."""

    OVERSIZED = "oversized"            # payload above protocol.MAX_PAYLOAD_BYTES
    EMPTY = "empty"                    # zero bytes: a retained status being cleared
    UNKNOWN_TOPIC = "unknown_topic"    # not P/devices/{valid id}/status|ack
    MALFORMED = "malformed"            # not UTF-8, not JSON, not an object
    BAD_SCHEMA = "bad_schema"          # JSON object that breaks protocol v1
    DEVICE_MISMATCH = "device_mismatch"  # payload device_id differs from the topic's
    QUEUE_FULL = "queue_full"          # valid, but the inbox fell too far behind
    INBOX_FAILED = "inbox_failed"      # the inbox kept raising on its batch past the retry time


class DeviceInbox(Protocol):
    """Receives valid device messages in batches, on the gateway's worker thread.

    Must be idempotent: QoS 1 may deliver twice, and retained statuses are
    delivered again on every (re)subscription. Unknown devices are the inbox's
    business, not the gateway's. If it raises, the batch is retried with growing
    pauses for a while (a database restarting) and then dropped (acks are idempotent, so a retry that
    half-succeeded before does no harm).
    """

    def handle(self, batch: list[InboundMessage]) -> None: ...
