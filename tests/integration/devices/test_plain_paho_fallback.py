"""With a paho-mqtt the buffered hooks were not tested with, the gateway and the simulator run on paho's plain
client (mqtt_io.client_factory) and still connect, publish and receive through a real mosquitto."""
from __future__ import annotations

import asyncio
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import paho.mqtt
import paho.mqtt.client as mqtt
import pytest

from broadcast import protocol as p
from broadcast.adapters.metrics import Metrics
from broadcast.devices.gateway import MqttGateway
from broadcast.devices.ports import InboundMessage
from broadcast.protocol.broker_config import TlsListener, write_broker_config
from device_sim import DeviceSpec, Fleet
from mqtt_io.buffered_socket import BufferedClient
from mqtt_io.client_factory import buffered_client_usable
from tests.integration.devices.test_broker_tls_and_files import make_pki
from tests.support.broker import SERVER_USER, Broker, MqttProbe, free_port, mosquitto_binary

pytestmark = pytest.mark.integration

AT = "2026-11-29T06:00:00+07:00"


@pytest.fixture(autouse=True)
def untested_paho(monkeypatch) -> Iterator[None]:
    monkeypatch.setattr(paho.mqtt, "__version__", "2.3.0")
    buffered_client_usable.cache_clear()
    assert not buffered_client_usable()
    yield
    buffered_client_usable.cache_clear()


def poll(predicate: Callable[[], Any], timeout: float = 15.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.01)
    return value


class RecordingInbox:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.messages: list[InboundMessage] = []

    def handle(self, batch: list[InboundMessage]) -> None:
        with self._lock:
            self.messages.extend(batch)


def test_gateway_on_the_plain_client_receives_device_messages_and_publishes(broker_factory, signing_key):
    device = "dev-plain-01"
    broker = broker_factory(devices=[(device, f"pw-{device}")])
    topics = p.Topics(broker.prefix)
    inbox = RecordingInbox()
    gw = MqttGateway(host=broker.host, port=broker.server_listener_port, username=broker.server_user,
                     password=broker.server_password, prefix=broker.prefix, inbox=inbox, metrics=Metrics(),
                     name=f"t-{secrets.token_hex(4)}")
    assert type(gw._client) is mqtt.Client  # noqa: SLF001 - the fallback is what this test is about
    gw.start()
    probe = MqttProbe(broker, device, f"pw-{device}", client_id=device).connect()
    try:
        assert gw.wait_connected(15), "gateway did not connect and subscribe"
        probe.subscribe(topics.schedule(device))
        sent = [p.build_ack(device, p.schedule_ref(v), "received", at=AT) for v in range(1, 201)]
        for info in [probe.client.publish(topics.ack(device), p.encode(doc), qos=1) for doc in sent]:
            info.wait_for_publish(10)
        acks = poll(lambda: len(inbox.messages) >= len(sent) and inbox.messages, what="200 acks in the inbox")
        assert [m.value for m in acks] == [p.parse_ack(p.encode(d)) for d in sent]  # every one, in order

        schedule = p.sign(p.build_schedule(device, 3, issued_at=AT, horizon_end="2026-12-06T06:00:00+07:00",
                                           zones=["z1"]), signing_key)
        assert gw.publish_schedule(device, schedule).wait(10)  # the broker's PUBACK reached the plain client
        topic, payload, _ = probe.wait_for(lambda msgs: msgs)[0]
        assert topic == topics.schedule(device)
        assert p.parse_signed_schedule(payload, p.public_key_b64(signing_key), device) == schedule
    finally:
        probe.close()
        gw.stop()


def _schedule_round_trip(side_broker: Broker, broker_url: str, signing_key: Any, device: str,
                         **fleet_kwargs: Any) -> None:
    """A one-device fleet connects, gets a signed schedule and answers `received`, status included."""
    topics = p.Topics(side_broker.prefix)
    server = MqttProbe.as_server(side_broker).connect()
    try:
        server.subscribe(topics.everything)
        fleet = Fleet(broker_url, [DeviceSpec(device, f"pw-{device}")], p.public_key_b64(signing_key),
                      prefix=side_broker.prefix, **fleet_kwargs)

        async def scenario() -> None:
            async with fleet:
                await fleet.wait_connected(20)
                client = fleet.device(device).client
                assert type(client) is mqtt.Client and not isinstance(client, BufferedClient)
                now = fleet.clock.now()
                doc = p.build_schedule(device, 1, issued_at=p.epoch_to_rfc3339(now),
                                       horizon_end=p.epoch_to_rfc3339(now + 86400), zones=["z1"])
                server.publish(topics.schedule(device), p.encode(p.sign(doc, signing_key)), retain=True)
                await fleet.wait_until(lambda: fleet.device(device).version == 1, 20)

        asyncio.run(asyncio.wait_for(scenario(), 60))
        msgs = server.wait_for(lambda m: any(t == topics.ack(device) for t, _, _ in m))
        acks = [p.parse_ack(payload, device) for t, payload, _ in msgs if t == topics.ack(device)]
        assert [(a.stage, a.ref_kind, a.ref_id) for a in acks][:1] == [("received", "schedule", "1")]
        assert any(t == topics.status(device) and b'"online":true' in payload for t, payload, _ in msgs)
    finally:
        server.close()


def test_simulator_on_the_plain_client_connects_receives_and_acks(broker_factory, signing_key):
    device = "dev-plain-02"
    broker = broker_factory(devices=[(device, f"pw-{device}")])
    _schedule_round_trip(broker, broker.url, signing_key, device)


def test_simulator_on_the_plain_client_speaks_mqtts_with_its_ca_file(tmp_path, signing_key):
    pki = make_pki(tmp_path)
    device = "dev-plain-03"
    port, server_port, tls_port = free_port(), free_port(), free_port()
    server_password = secrets.token_urlsafe(16)
    conf = write_broker_config(
        tmp_path / "broker", p.DEFAULT_PREFIX, SERVER_USER, server_password, [(device, f"pw-{device}")],
        "127.0.0.1", port, server_port=server_port, tls=TlsListener(pki["cert"], pki["key"], tls_port),
        run_as_user="root" if os.geteuid() == 0 else None)
    broker = Broker("127.0.0.1", port, conf, tmp_path / "broker", mosquitto_binary(), server_user=SERVER_USER,
                    server_password=server_password, server_port=server_port)
    broker.start()
    try:
        _schedule_round_trip(broker, f"mqtts://127.0.0.1:{tls_port}", signing_key, device, ca_file=pki["ca"])
    finally:
        broker.kill()
