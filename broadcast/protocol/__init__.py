"""LoaXa device protocol v1 (the normative contract: shared/spec/device-protocol-v1.md), one module per message.

Pure: the standard library, PyNaCl and cryptography (keys) only. The server's gateway and the device simulator
both import it, so it never pulls in paho or the server. Documents are plain dicts (TypedDict) because what is
signed is the JSON object itself; builders make them, parsers turn untrusted bytes into them or raise
ProtocolError(code, detail).
"""
from __future__ import annotations

from typing import Union

from broadcast.protocol.wire import DEFAULT_PREFIX, MAX_PAYLOAD_BYTES, DEVICE_ID_RE, ZONE_ID_RE, TIME_RE, SHA256_RE, CMD_ID_RE, ITEM_ID_RE, PRIORITIES, ACTIONS, ACK_STAGES, TOPIC_KINDS, VIETNAM_TZ, Priority, Action, AckStage, TopicKind, ProtocolError, format_time, now_rfc3339, epoch_to_rfc3339, parse_time, canonical_bytes, encode, priority_rank, decode_object
from broadcast.protocol.topics import Topics, parse_device_topic, parse_zone_topic
from broadcast.protocol.signing import sign, PublicKeyLike, as_public_key, verify, generate_private_key, private_key_to_pem, load_private_key_pem, public_key_b64, load_public_key_b64, load_or_create_signing_key, verify_or_raise
from broadcast.protocol.schedule import media_url, Media, ScheduleItem, Schedule, build_media, build_item, build_schedule, schedule_ref, parse_schedule, parse_signed_schedule
from broadcast.protocol.command import Command, build_command, command_ref, parse_command, addressed_to, parse_signed_command
from broadcast.protocol.status import Playing, Status, build_status, offline_status, parse_status
from broadcast.protocol.ack import AckRef, Ack, build_ack, parse_ack

Document = Union[Schedule, Command, Status, Ack]

__all__ = [
    "DEFAULT_PREFIX",
    "MAX_PAYLOAD_BYTES",
    "DEVICE_ID_RE",
    "ZONE_ID_RE",
    "TIME_RE",
    "SHA256_RE",
    "CMD_ID_RE",
    "ITEM_ID_RE",
    "PRIORITIES",
    "ACTIONS",
    "ACK_STAGES",
    "TOPIC_KINDS",
    "VIETNAM_TZ",
    "Priority",
    "Action",
    "AckStage",
    "TopicKind",
    "ProtocolError",
    "format_time",
    "now_rfc3339",
    "epoch_to_rfc3339",
    "parse_time",
    "canonical_bytes",
    "encode",
    "priority_rank",
    "decode_object",
    "Topics",
    "parse_device_topic",
    "parse_zone_topic",
    "sign",
    "PublicKeyLike",
    "as_public_key",
    "verify",
    "generate_private_key",
    "private_key_to_pem",
    "load_private_key_pem",
    "public_key_b64",
    "load_public_key_b64",
    "load_or_create_signing_key",
    "verify_or_raise",
    "Media",
    "media_url",
    "ScheduleItem",
    "Schedule",
    "build_media",
    "build_item",
    "build_schedule",
    "schedule_ref",
    "parse_schedule",
    "parse_signed_schedule",
    "Command",
    "build_command",
    "command_ref",
    "parse_command",
    "addressed_to",
    "parse_signed_command",
    "Playing",
    "Status",
    "build_status",
    "offline_status",
    "parse_status",
    "AckRef",
    "Ack",
    "build_ack",
    "parse_ack",
    "Document",
]
