"""LoopIO with paho's plain client (the fallback for an untested paho-mqtt): a readable event handles every
packet already read from the kernel, as BufferedClient does, so none waits for the next one."""
from __future__ import annotations

import asyncio
import socket

import paho.mqtt.client as mqtt

from device_sim.loop_io import LoopIO
from mqtt_io.buffered_socket import BufferedSocket


def qos0_publish(topic: str, payload: bytes) -> bytes:
    body = len(topic).to_bytes(2, "big") + topic.encode() + payload
    assert len(body) < 128  # one remaining-length byte
    return bytes([0x30, len(body)]) + body


def test_packets_held_above_the_kernel_are_all_handled_in_one_readable_event() -> None:
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    b.setblocking(False)

    async def main() -> list[bytes]:
        io = LoopIO(asyncio.get_running_loop())
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="t", protocol=mqtt.MQTTv311)
        got: list[bytes] = []
        client.on_message = lambda _c, _u, msg: got.append(msg.payload)
        client_io = io.attach(client)
        # Like a TLS object, this socket keeps bytes it took from the kernel where epoll cannot see them.
        client._sock = BufferedSocket(b)  # noqa: SLF001 - a connected client without a broker
        client._state = mqtt._ConnectionState.MQTT_CS_CONNECTED  # noqa: SLF001
        a.sendall(qos0_publish("t/1", b"one") + qos0_publish("t/2", b"two") + qos0_publish("t/3", b"three"))
        client_io._read()  # noqa: SLF001 - what the loop's reader callback runs
        return got

    try:
        assert asyncio.run(main()) == [b"one", b"two", b"three"]  # paho alone reads one packet per call
    finally:
        a.close()
        b.close()
