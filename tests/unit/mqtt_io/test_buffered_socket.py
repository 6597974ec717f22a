"""BufferedSocket hands paho the same bytes in the same order as the kernel, whatever the read sizes."""
from __future__ import annotations

import socket

import paho.mqtt.client as mqtt
import pytest

from mqtt_io.buffered_socket import BufferedClient, BufferedSocket, buffered


@pytest.fixture
def pair():
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    b.setblocking(False)
    yield a, b
    a.close()
    b.close()


def tcp_pair():
    server = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(server.getsockname())
    accepted, _ = server.accept()
    server.close()
    return client, accepted


def test_small_reads_come_from_one_buffer_in_order(pair):
    a, b = pair
    wrapped = BufferedSocket(b)
    a.sendall(b"\x30\x05hello\x40\x02\x00\x01")
    assert wrapped.recv(1) == b"\x30"
    assert wrapped.pending() == 10
    assert wrapped.recv(1) == b"\x05"
    assert wrapped.recv(5) == b"hello"
    assert wrapped.recv(100) == b"\x40\x02\x00\x01"  # never more than was buffered, without a system call
    assert wrapped.pending() == 0
    with pytest.raises(BlockingIOError):  # nothing buffered, nothing in the kernel: paho's "again"
        wrapped.recv(1)


def test_partial_body_then_rest_from_the_kernel(pair):
    a, b = pair
    wrapped = BufferedSocket(b)
    a.sendall(b"\x30\x0aabc")
    assert wrapped.recv(1) == b"\x30" and wrapped.recv(1) == b"\x0a"
    assert wrapped.recv(10) == b"abc"
    a.sendall(b"defghij")
    assert wrapped.recv(7) == b"defghij"


def test_end_of_stream_and_delegation(pair):
    a, b = pair
    wrapped = BufferedSocket(b)
    assert wrapped.fileno() == b.fileno()  # select() and asyncio see the real socket
    a.close()
    assert wrapped.recv(1) == b""


def test_only_plain_tcp_sockets_are_wrapped():
    client, accepted = tcp_pair()
    try:
        assert isinstance(buffered(client), BufferedSocket)
        double = object()
        assert buffered(double) is double
    finally:
        client.close()
        accepted.close()


def test_sends_are_collected_until_flush(pair):
    a, b = pair
    a.setblocking(False)
    wrapped = BufferedSocket(b)
    assert wrapped.send(b"\x40\x02\x00\x01") == 4
    assert wrapped.send(bytearray(b"\x40\x02\x00\x02")) == 4
    assert wrapped.unsent() == 8
    with pytest.raises(BlockingIOError):  # nothing reached the kernel yet
        a.recv(100)
    assert wrapped.flush() is True
    assert wrapped.unsent() == 0
    assert a.recv(100) == b"\x40\x02\x00\x01\x40\x02\x00\x02"


def test_a_full_kernel_buffer_keeps_the_rest_in_order(pair):
    a, b = pair
    wrapped = BufferedSocket(b)
    data = bytes(range(256)) * 20_000  # 5 MB: far more than a socket buffer
    wrapped.send(data)
    assert wrapped.flush() is False  # the kernel took what it could
    assert 0 < wrapped.unsent() < len(data)
    received = bytearray()
    while wrapped.unsent() or len(received) < len(data):
        received += a.recv(1 << 20)
        wrapped.flush()
    assert bytes(received) == data


def test_close_sends_what_was_collected(pair):
    a, b = pair
    wrapped = BufferedSocket(b)
    wrapped.send(b"\xe0\x00")  # an MQTT DISCONNECT, queued just before paho closes the socket
    wrapped.close()
    assert a.recv(10) == b"\xe0\x00"
    assert a.recv(10) == b""


def _client_on(sock):
    import paho.mqtt.client as mqtt

    from mqtt_io.buffered_socket import BufferedClient

    client = BufferedClient(mqtt.CallbackAPIVersion.VERSION2, client_id="t", protocol=mqtt.MQTTv311)
    client._sock = BufferedSocket(sock)  # noqa: SLF001 - a connected client without a broker
    client._state = mqtt._ConnectionState.MQTT_CS_CONNECTED  # noqa: SLF001
    client.on_socket_register_write = lambda *a: None  # external-loop mode: writes wait for loop_write
    return client


def test_puback_fast_path_completes_exactly_the_acknowledged_publish(pair):
    import paho.mqtt.client as mqtt

    a, b = pair
    client = _client_on(b)
    from mqtt_io.buffered_socket import _NO_PROPERTIES

    seen, objects = [], []
    client.on_publish = lambda _c, _u, mid, rc, props: (seen.append((mid, rc.value, rc.is_failure, props.json())),
                                                        objects.append(props))
    first, second = client.publish("t/a", b"1", qos=1), client.publish("t/b", b"2", qos=1)
    a.sendall(b"\x40\x02" + first.mid.to_bytes(2, "big") + b"\x40\x02\xff\xfe")  # the second mid is unknown
    assert client.loop_read() == mqtt.MQTT_ERR_SUCCESS
    assert seen == [(first.mid, 0, False, {})]
    assert objects[0] is _NO_PROPERTIES  # the fast path ran (paho would build new objects)
    assert first.is_published() and not second.is_published()
    assert list(client._out_messages) == [second.mid]  # noqa: SLF001


def test_a_malformed_puback_is_still_refused_as_paho_refuses_it(pair):
    import paho.mqtt.client as mqtt

    a, b = pair
    client = _client_on(b)
    info = client.publish("t/a", b"1", qos=1)
    a.sendall(b"\x40\x03" + info.mid.to_bytes(2, "big") + b"\x00")  # MQTT 3.1.1 PUBACKs are exactly 2 bytes
    assert client.loop_read() != mqtt.MQTT_ERR_SUCCESS
    assert not info.is_published()


def _pubacks(client: mqtt.Client) -> list[bytes]:
    return [bytes(p["packet"]) for p in client._out_packet]  # noqa: SLF001


def test_ack_many_queues_every_puback_in_order_and_only_for_manual_acks() -> None:
    """The gateway acknowledges a stored batch at once: one PUBACK per message, in order (one wake-up byte for all
    when the network loop runs); nothing when paho acknowledged on arrival itself."""
    manual = BufferedClient(mqtt.CallbackAPIVersion.VERSION2, client_id="t-manual", manual_ack=True)
    manual.ack_many([7, 300, 65535])
    assert _pubacks(manual) == [b"\x40\x02\x00\x07", b"\x40\x02\x01\x2c", b"\x40\x02\xff\xff"]
    automatic = BufferedClient(mqtt.CallbackAPIVersion.VERSION2, client_id="t-auto")
    automatic.ack_many([7])
    assert _pubacks(automatic) == []
