"""The buffered client's inbound fast path: whole packets cut from the buffer, MQTT 3.1.1 PUBLISH decoded with fixed
structs. Whatever the path, a callback must see what paho's own client sees for the same bytes."""
from __future__ import annotations

import socket
import struct

import paho.mqtt.client as mqtt
import pytest

from mqtt_io.buffered_socket import BufferedClient, BufferedSocket

V2 = mqtt.CallbackAPIVersion.VERSION2


def remaining_length(n: int) -> bytes:
    out = bytearray()
    while True:
        digit, n = n % 128, n // 128
        out.append(digit | (128 if n else 0))
        if not n:
            return bytes(out)


def publish(topic: bytes, payload: bytes, *, qos: int = 1, mid: int = 1, retain: bool = False,
            dup: bool = False) -> bytes:
    body = struct.pack("!H", len(topic)) + topic + (struct.pack("!H", mid) if qos else b"") + payload
    first = 0x30 | (0x08 if dup else 0) | (qos << 1) | (0x01 if retain else 0)
    return bytes([first]) + remaining_length(len(body)) + body


# A stream as a broker sends it to the server: acks and statuses, a retained one, a redelivery, QoS 0, a body
# longer than 127 bytes (two length bytes), a topic that is not UTF-8, and a QoS 2 message (paho's path).
STREAM = [
    publish(b"loaxa/v1/devices/dev-001/ack", b'{"type":"ack"}', mid=1),
    publish(b"loaxa/v1/devices/dev-002/status", b'{"type":"status"}' + b" " * 300, mid=2, retain=True),
    publish(b"loaxa/v1/devices/dev-003/ack", b'{"x":1}', mid=65535, dup=True),
    publish(b"loaxa/v1/devices/dev-004/status", b"", qos=0),
    publish(b"loaxa/v1/devices/\xff\xfe/ack", b"bad topic", mid=7),
    QOS2 := publish(b"loaxa/v1/devices/dev-005/ack", b"two", qos=2, mid=9),
    publish(b"loaxa/v1/devices/dev-006/ack", b"\x00\x01binary", mid=10),
]


def seen_by(client: mqtt.Client) -> list[tuple]:
    seen: list[tuple] = []

    def on_message(_c, _u, msg: mqtt.MQTTMessage) -> None:
        try:
            topic: str | None = msg.topic
        except UnicodeDecodeError:
            topic = None
        seen.append((topic, msg._topic, msg.payload, msg.mid, msg.qos, msg.retain, msg.dup))  # noqa: SLF001

    client.on_message = on_message
    return seen


def connected(cls: type[mqtt.Client], sock: socket.socket, *, manual_ack: bool = True) -> mqtt.Client:
    client = cls(V2, client_id="t", protocol=mqtt.MQTTv311, manual_ack=manual_ack)
    client._sock = BufferedSocket(sock) if cls is BufferedClient else sock  # noqa: SLF001 - no broker needed
    client._state = mqtt._ConnectionState.MQTT_CS_CONNECTED  # noqa: SLF001
    client.on_socket_register_write = lambda *a: None  # external-loop mode: writes wait for loop_write
    return client


def read_all(client: mqtt.Client, until: int, seen: list) -> None:
    for _ in range(1000):
        if len(seen) >= until:
            return
        assert client.loop_read() == mqtt.MQTT_ERR_SUCCESS
    raise AssertionError(f"only {len(seen)} of {until} messages read")


def feed(cls: type[mqtt.Client], chunks: list[bytes]) -> list[tuple]:
    a, b = socket.socketpair()
    b.setblocking(False)
    try:
        client = connected(cls, b)
        seen = seen_by(client)
        expected = 0
        for chunk in chunks:
            a.sendall(chunk)
            expected += sum(1 for pkt in STREAM if pkt in chunk and pkt is not QOS2)
            read_all(client, expected, seen)
        # QoS 2: paho answers PUBREC and delivers on PUBREL, on either path
        a.sendall(b"\x62\x02\x00\x09")
        read_all(client, len(STREAM), seen)
        return seen
    finally:
        a.close()
        b.close()


def test_every_message_reaches_the_callback_as_paho_delivers_it():
    whole = b"".join(STREAM)
    assert feed(BufferedClient, [whole]) == feed(mqtt.Client, [whole])


def test_a_packet_split_across_reads_is_finished_by_paho_and_the_next_ones_still_arrive():
    whole = b"".join(STREAM)
    cut = len(STREAM[0]) + 5  # inside the second packet's topic
    split = [whole[:cut], whole[cut:]]
    assert feed(BufferedClient, split) == feed(mqtt.Client, [whole])


def test_whole_buffered_packets_skip_paho_s_reader(monkeypatch):
    calls = []
    paho_read = mqtt.Client._packet_read  # noqa: SLF001

    def counted(self):
        calls.append(1)
        return paho_read(self)

    monkeypatch.setattr(mqtt.Client, "_packet_read", counted)
    a, b = socket.socketpair()
    b.setblocking(False)
    client = connected(BufferedClient, b)
    seen = seen_by(client)
    a.sendall(b"".join(publish(f"t/{i}".encode(), b"x", mid=i + 1) for i in range(50)))
    read_all(client, 50, seen)
    a.close()
    b.close()
    assert [s[3] for s in seen] == list(range(1, 51))
    assert len(calls) == 1  # the first packet: it made the one recv() that buffered the other 49


@pytest.mark.parametrize("paho_logging", [False, True], ids=["quiet", "paho-debug-log"])
def test_publish_is_decoded_without_paho_unless_its_debug_log_is_on(monkeypatch, caplog, paho_logging):
    import logging

    from paho.mqtt import _packet

    decoded = []
    paho_decode = _packet.decode_publish

    def counted(*args):
        decoded.append(1)
        return paho_decode(*args)

    monkeypatch.setattr(_packet, "decode_publish", counted)
    a, b = socket.socketpair()
    b.setblocking(False)
    client = connected(BufferedClient, b)
    if paho_logging:
        client.enable_logger(logging.getLogger("paho-test"))
    seen = seen_by(client)
    with caplog.at_level(logging.DEBUG, logger="paho-test"):
        a.sendall(publish(b"t/a", b"1", mid=3))
        read_all(client, 1, seen)
    a.close()
    b.close()
    assert seen == [("t/a", b"t/a", b"1", 3, 1, False, False)]
    assert len(decoded) == (1 if paho_logging else 0)
    assert ("Received PUBLISH (d0, q1, r0, m3), 't/a'" in caplog.text) is paho_logging


def test_reading_a_packet_counts_for_the_keepalive():
    a, b = socket.socketpair()
    b.setblocking(False)
    client = connected(BufferedClient, b)
    seen = seen_by(client)
    a.sendall(publish(b"t/a", b"1") + publish(b"t/b", b"2", mid=2))
    client._packet_read()  # noqa: SLF001 - paho's reader: the first packet, and the second into the buffer
    client._last_bytes_received = 0.0  # noqa: SLF001
    client._packet_read()  # noqa: SLF001 - the second, whole in the buffer: the fast path
    a.close()
    b.close()
    assert [s[2] for s in seen] == [b"1", b"2"]
    assert client._last_bytes_received > 0.0  # noqa: SLF001
    assert client._in_packet["command"] == 0 and client._in_packet["packet"] == bytearray()  # noqa: SLF001


def test_without_manual_ack_a_qos1_message_is_acknowledged_at_once():
    a, b = socket.socketpair()
    b.setblocking(False)
    client = connected(BufferedClient, b, manual_ack=False)
    seen = seen_by(client)
    a.sendall(publish(b"t/a", b"0") + publish(b"t/a", b"1", mid=0x1234) + publish(b"t/a", b"2", qos=0))
    read_all(client, 3, seen)
    client.loop_write()
    b.setblocking(True)
    a.settimeout(2)
    assert a.recv(100) == b"\x40\x02\x00\x01\x40\x02\x12\x34"  # one PUBACK per QoS 1 message, none for QoS 0
    a.close()
    b.close()


@pytest.mark.parametrize("bad", [
    publish(b"", b"no topic"),  # MQTT 3.1.1 forbids an empty topic
    b"\x32\x03\x00\x05a",  # a topic longer than the packet
    b"\x32\x01\x00",  # no room for the topic length
], ids=["empty-topic", "short-topic", "short-packet"])
def test_a_malformed_publish_is_refused_as_paho_refuses_it(bad):
    results = []
    for cls in (BufferedClient, mqtt.Client):
        a, b = socket.socketpair()
        b.setblocking(False)
        client = connected(cls, b)
        seen = seen_by(client)
        a.sendall(publish(b"t/ok", b"first") + bad)
        rcs = [client.loop_read() for _ in range(3)]
        a.close()
        b.close()
        results.append(([s[2] for s in seen], any(rc != mqtt.MQTT_ERR_SUCCESS for rc in rcs)))
    assert results[0] == results[1] == ([b"first"], True)


@pytest.mark.parametrize(("data", "expected", "rest"), [
    (b"\x30\x00", (0x30, b""), b""),
    (b"\x30\x03abc\x40", (0x30, b"abc"), b"\x40"),
    (b"\x30\x80\x01" + b"x" * 128 + b"\xe0", (0x30, b"x" * 128), b"\xe0"),
    (b"\x30\x04abc", None, b"\x30\x04abc"),  # one byte missing
    (b"\x30\x80", None, b"\x30\x80"),  # the length goes on past the buffer
    (b"\x30\xff\xff\xff\xff\x01", None, b"\x30\xff\xff\xff\xff\x01"),  # a five-byte length: left to paho
    (b"\x30", None, b"\x30"),
], ids=["empty-body", "whole-then-more", "two-byte-length", "one-byte-short", "length-past-buffer",
        "five-byte-length", "first-byte-only"])
def test_take_packet_cuts_only_whole_packets(data, expected, rest):
    a, b = socket.socketpair()
    b.setblocking(False)
    wrapped = BufferedSocket(b)
    a.sendall(data)
    assert wrapped.recv(0) == b""  # fills the buffer from the kernel, hands nothing on
    assert wrapped.take_packet() == expected
    assert wrapped.pending() == len(rest)
    if rest:
        assert wrapped.recv(100) == rest  # what was not taken is still there, in order
    a.close()
    b.close()
