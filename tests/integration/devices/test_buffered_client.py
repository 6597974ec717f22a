"""BufferedClient against a real mosquitto: one send() per write pass, nothing lost, nothing reordered."""
from __future__ import annotations

import threading
import time

import paho.mqtt.client as mqtt

from mqtt_io.buffered_socket import BufferedClient
from tests.support.broker import MqttProbe

BURST = 2000


class CountingSocket:
    """Stands between BufferedSocket and the kernel to count send() calls."""

    def __init__(self, sock) -> None:  # noqa: ANN001
        self.sock, self.sends = sock, 0

    def send(self, data) -> int:  # noqa: ANN001
        self.sends += 1
        return self.sock.send(data)

    def __getattr__(self, name: str):  # noqa: ANN204
        return getattr(self.sock, name)


def connected_client(broker, client_id: str, **will) -> BufferedClient:  # noqa: ANN001
    client = BufferedClient(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311)
    if will:
        client.will_set(**will)
    ready = threading.Event()
    client.on_connect = lambda *a: ready.set()
    client.connect(broker.host, broker.port, keepalive=30)
    client.loop_start()
    assert ready.wait(10), "no CONNACK"
    return client


def test_replies_from_the_network_thread_arrive_complete_in_order_and_coalesced(anon_broker) -> None:
    client = connected_client(anon_broker, "echo")
    counter = CountingSocket(client._sock._sock)  # noqa: SLF001 - the test watches the kernel boundary
    client._sock._sock = counter  # noqa: SLF001
    wakeups = CountingSocket(client._sockpairW)  # noqa: SLF001 - paho's wake-up pipe into its select()
    client._sockpairW = wakeups  # noqa: SLF001
    subscribed = threading.Event()
    client.on_subscribe = lambda *a: subscribed.set()

    def echo(c, _u, msg) -> None:  # noqa: ANN001 - runs on paho's network thread: the no-wake-up path
        c.publish("out/echo", msg.payload, qos=1)

    client.on_message = echo
    client.subscribe("in/#", qos=1)
    assert subscribed.wait(10)
    probe = MqttProbe(anon_broker).connect()
    try:
        probe.subscribe("out/echo")
        sends_before, wakeups_before = counter.sends, wakeups.sends
        infos = [probe.client.publish("in/x", b"%06d" % i, qos=1) for i in range(BURST)]
        for info in infos:
            info.wait_for_publish(timeout=20)
        msgs = probe.wait_for(lambda m: len(m) >= BURST, timeout=30)
        assert [m[1] for m in msgs] == [b"%06d" % i for i in range(BURST)]
        # Per message the client sends a PUBACK and a PUBLISH; paho alone makes one send() of each.
        sends = counter.sends - sends_before
        assert sends < BURST / 2, f"{sends} send() calls for {2 * BURST} packets"
        # The PUBACKs and echoes were queued by the network thread itself: no wake-up byte for any of them
        # (paho writes one per queued packet; BufferedClient._packet_queue skips it on that thread).
        assert wakeups.sends - wakeups_before == 0
        deadline = time.monotonic() + 10
        while client._out_messages and time.monotonic() < deadline:  # noqa: SLF001 - every echo PUBACKed
            time.sleep(0.02)
        assert not client._out_messages  # noqa: SLF001
    finally:
        probe.close()
        client.disconnect()
        client.loop_stop()


def test_a_clean_disconnect_reaches_the_broker_so_no_last_will(anon_broker) -> None:
    probe = MqttProbe(anon_broker).connect()
    try:
        probe.subscribe("wills/#")
        client = connected_client(anon_broker, "leaver", topic="wills/leaver", payload=b"gone", qos=1)
        client.publish("wills/alive", b"hello", qos=1).wait_for_publish(timeout=10)
        client.disconnect()  # DISCONNECT is queued, then paho closes the socket at once
        client.loop_stop()
        probe.wait_for(lambda m: any(t == "wills/alive" for t, _, _ in m))
        time.sleep(1.0)
        assert [t for t, _, _ in probe.snapshot()] == ["wills/alive"]
        # Control: a dropped connection does publish the will (so the assertion above can fail).
        crasher = connected_client(anon_broker, "crasher", topic="wills/crasher", payload=b"gone", qos=1)
        crasher._sock._sock.close()  # noqa: SLF001 - the link dies without DISCONNECT
        probe.wait_for(lambda m: any(t == "wills/crasher" for t, _, _ in m))
        crasher.loop_stop()
    finally:
        probe.close()
