"""Issue #11, finding 1: one device's credentials must never take over another client's session.

Real mosquitto with the generated config: devices log in on their listener, where the broker replaces the
client id with the username, and the server accounts on a listener of their own.
"""
from __future__ import annotations

import secrets
import threading
import time

import paho.mqtt.client as mqtt
import pytest

from broadcast import protocol as p
from broadcast.adapters.metrics import Metrics
from broadcast.devices.gateway import MqttGateway
from tests.support.broker import MqttProbe, can_connect

pytestmark = pytest.mark.integration

A, B = "dev-aaa-001", "dev-bbb-002"
SERVER_CLIENT_ID = "loaxa-server-main"  # what `loaxa serve` and `loaxa scheduler` use


class NullInbox:
    def handle(self, batch: list) -> None:
        pass




def fresh_id() -> str:
    return f"try-{secrets.token_hex(3)}"


def test_a_device_using_another_clients_id_gets_only_its_own_session(broker_factory):
    broker = broker_factory(devices=[(A, "pa"), (B, "pb")])
    t = p.Topics(broker.prefix)
    server = MqttProbe.as_server(broker, client_id=SERVER_CLIENT_ID).connect()
    server.subscribe(t.everything)
    dev_b = MqttProbe(broker, B, "pb", client_id=B).connect()
    dev_b.subscribe(t.command(B))

    for victim in (SERVER_CLIENT_ID, B):
        thief = MqttProbe(broker, A, "pa", client_id=victim).connect()
        thief.subscribe(t.command(A))
        thief.subscribe(t.command(B))  # granted, never delivered: the thief is A
        server.publish(t.command(A), b'{"for":"a"}')
        server.publish(t.command(B), b'{"for":"b"}')
        got = thief.wait_for(lambda ms: any(m[0] == t.command(A) for m in ms), timeout=5)
        dev_b.wait_for(lambda ms: any(m[0] == t.command(B) for m in ms), timeout=5)
        assert [m[0] for m in got] == [t.command(A)], "the thief read another client's messages"
        thief.close()
        dev_b.messages.clear()

    assert server.disconnects == 0, "a device's credentials kicked the server's session"
    assert dev_b.disconnects == 0, "a device's credentials kicked another device's session"
    dev_b.publish(t.status(B), b'{"still":"here"}')
    server.wait_for(lambda ms: any(m[0] == t.status(B) for m in ms), timeout=5)
    dev_b.close()
    server.close()


def test_accounts_log_in_only_on_their_own_listener(broker_factory):
    broker = broker_factory(devices=[(A, "pa")])
    assert broker.server_listener_port != broker.port
    assert can_connect(broker, A, "pa", broker.port, client_id=fresh_id())
    server = (broker.server_user, broker.server_password)
    assert can_connect(broker, *server, broker.server_listener_port, client_id=fresh_id())
    assert not can_connect(broker, A, "pa", broker.server_listener_port, client_id=fresh_id())
    assert not can_connect(broker, *server, broker.port, client_id=fresh_id())


def test_an_emergency_arrives_within_a_second_while_a_device_tries_the_servers_client_id(broker_factory):
    broker = broker_factory(devices=[(A, "pa"), (B, "pb")])
    t = p.Topics(broker.prefix)
    metrics = Metrics()
    gateway = MqttGateway(host=broker.host, port=broker.server_listener_port, username=broker.server_user,
                          password=broker.server_password, prefix=broker.prefix, inbox=NullInbox(), metrics=metrics,
                          name="main")
    assert gateway.client_id == SERVER_CLIENT_ID
    gateway.start()
    stop = threading.Event()
    attempts = 0

    def attack() -> None:  # A's stolen credentials, the server's client id, again and again
        nonlocal attempts
        while not stop.is_set():
            thief = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=SERVER_CLIENT_ID, protocol=mqtt.MQTTv311)
            thief.username_pw_set(A, "pa")
            try:
                thief.connect(broker.host, broker.port, keepalive=30)
                thief.loop(0.05)
                thief.disconnect()
                attempts += 1
            except OSError:
                pass
            time.sleep(0.02)

    attacker = threading.Thread(target=attack, daemon=True)
    device = MqttProbe(broker, B, "pb", client_id=B).connect()
    try:
        assert gateway.wait_connected(10)
        device.subscribe(t.zone_command("37-13579"))
        attacker.start()
        time.sleep(1.5)  # the attack is well under way
        sent = time.monotonic()
        assert gateway.publish_zone_command("37-13579", {"type": "command", "cmd_id": "khan-cap-1"}).queued
        device.wait_for(lambda ms: any(m[0] == t.zone_command("37-13579") for m in ms), timeout=5)
        latency = time.monotonic() - sent
        lost = metrics.registry.get_sample_value("loaxa_mqtt_disconnects_total")
    finally:
        stop.set()
        attacker.join(5)
        device.close()
        gateway.stop()
    assert attempts > 10
    assert latency < 1.0, f"the emergency took {latency:.2f} s"
    assert lost in (None, 0.0), f"the server's session was taken over {lost:.0f} times"
