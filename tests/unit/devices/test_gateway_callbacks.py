"""Unit tests of MqttGateway without a network: construction, on_message, publish bookkeeping.

A paho Client opens no socket until loop_start()/connect(), and never is here.
"""

from __future__ import annotations

import logging

import paho.mqtt.client as mqtt
import pytest

from broadcast import protocol as p
from broadcast.adapters.metrics import Metrics
from broadcast.devices import gateway as gateway_module
from broadcast.devices.gateway import MqttGateway
from broadcast.devices.ports import InboundMessage
from broadcast.settings import load_settings

DEV = "c13579-007"
AT = "2026-11-29T06:00:00+07:00"


def _gateway(metrics: Metrics, **options) -> MqttGateway:
    return MqttGateway(host="127.0.0.1", port=1, inbox=None, metrics=metrics, **options)  # type: ignore[arg-type]


def _msg(topic: bytes, payload: bytes) -> mqtt.MQTTMessage:
    msg = mqtt.MQTTMessage(mid=1, topic=topic)
    msg.payload = payload
    return msg


def _value(metrics: Metrics, name: str, **labels: str) -> float:
    v = metrics.registry.get_sample_value(name, labels or None)
    return 0.0 if v is None else v


def test_from_settings_takes_broker_account_and_prefix():
    settings = load_settings(mqtt_url="mqtt://loaxa-server:s%40cret@broker.example:1999", topic_prefix="x/v1")
    gw = MqttGateway.from_settings(settings, inbox=None, metrics=Metrics(), name="api")  # type: ignore[arg-type]
    assert gw.client_id == "loaxa-server-api"
    assert gw.topics.prefix == "x/v1"
    assert (gw._host, gw._port) == ("broker.example", 1999)  # noqa: SLF001
    assert gw._client._username == b"loaxa-server" and gw._client._password == b"s@cret"  # noqa: SLF001
    assert not gw.connected


@pytest.mark.parametrize("name", ["", "Main", "a b", "x" * 41, "a/b"])
def test_gateway_name_must_make_a_tidy_client_id(name):
    with pytest.raises(ValueError):
        _gateway(Metrics(), name=name)


def test_on_message_queues_valid_messages_and_counts_them():
    metrics = Metrics()
    gw = _gateway(metrics)
    doc = p.build_status(DEV, at=AT, schedule_version=1, volume=50)
    gw._on_message(gw._client, None, _msg(p.Topics().status(DEV).encode(), p.encode(doc)))  # noqa: SLF001
    assert gw.queue_depth == 1
    queued, receipt = gw._queue.get_nowait()  # noqa: SLF001
    assert isinstance(queued, InboundMessage) and queued.value == p.parse_status(p.encode(doc))
    assert receipt is None  # QoS 0: nothing to acknowledge
    assert _value(metrics, "loaxa_device_messages_total", kind="status") == 1


class AckSpy:
    """Stands in for paho's `ack` (manual acknowledgements): records what the gateway acknowledged."""

    def __init__(self) -> None:
        self.acked: list[int] = []

    def __call__(self, mid: int, qos: int) -> None:
        assert qos == 1
        self.acked.append(mid)


def _qos1(topic: str, payload: bytes, mid: int) -> mqtt.MQTTMessage:
    msg = _msg(topic.encode(), payload)
    msg.mid, msg.qos = mid, 1
    return msg


def test_a_device_message_is_acknowledged_after_it_is_stored_and_only_on_its_connection(monkeypatch):
    """paho acknowledges nothing by itself (manual_ack): the gateway PUBACKs a message once the inbox has stored it,
    on the connection it came on; a dropped message at once. After a reconnect the broker sends the unacknowledged
    ones again (persistent session) and their old packet ids may name other messages, so they are not acked."""
    gw = _gateway(Metrics())
    assert gw._client._manual_ack  # noqa: SLF001
    spy = AckSpy()
    monkeypatch.setattr(gw._client, "ack", spy)  # noqa: SLF001
    monkeypatch.setattr(gw._client, "ack_many", lambda mids: [spy(m, 1) for m in mids], raising=False)  # noqa: SLF001
    status = p.encode(p.build_status(DEV, at=AT, schedule_version=1, volume=50))
    topic = p.Topics().status(DEV)
    gw._on_message(gw._client, None, _qos1(topic, status, 7))  # noqa: SLF001
    gw._on_message(gw._client, None, _qos1(topic, b"\x00garbage", 8))  # noqa: SLF001
    assert spy.acked == [8]  # the dropped one at once; the queued one waits for the inbox
    first = [gw._queue.get_nowait()]  # noqa: SLF001
    gw._on_message(gw._client, None, _qos1(topic, status, 9))  # noqa: SLF001
    second = [gw._queue.get_nowait()]  # noqa: SLF001
    gw._acknowledge(first)  # noqa: SLF001
    assert spy.acked == [8, 7]
    gw._on_disconnect(gw._client, None, None, "lost", None)  # noqa: SLF001
    gw._acknowledge(second)  # noqa: SLF001 - stored after its connection died: the broker sends it again
    assert spy.acked == [8, 7]


def test_on_message_never_raises_and_counts_each_drop(caplog):
    caplog.set_level(logging.WARNING, logger="broadcast.devices.gateway")
    metrics = Metrics()
    gw = _gateway(metrics)
    topic = p.Topics().ack(DEV).encode()
    for _ in range(1_000):
        gw._on_message(gw._client, None, _msg(topic, b"\x00garbage"))  # noqa: SLF001
    gw._on_message(gw._client, None, _msg(b"loaxa/v1/devices/\xff\xfe/status", b"{}"))  # noqa: SLF001
    assert _value(metrics, "loaxa_device_messages_dropped_total", reason="malformed") == 1_000
    assert _value(metrics, "loaxa_device_messages_dropped_total", reason="unknown_topic") == 1
    assert gw.queue_depth == 0
    assert len(caplog.records) == 2  # one line per reason, the rest held back


def test_on_message_swallows_its_own_bugs(monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise KeyError("bug")

    monkeypatch.setattr(gateway_module, "classify", broken)
    gw = _gateway(Metrics())
    gw._on_message(gw._client, None, _msg(b"loaxa/v1/devices/abc/status", b"{}"))  # noqa: SLF001
    assert any("Lỗi khi nhận" in r.getMessage() for r in caplog.records)


def test_on_message_counts_queue_full_instead_of_blocking():
    metrics = Metrics()
    gw = _gateway(metrics, queue_size=3)
    payload = p.encode(p.build_status(DEV, at=AT, schedule_version=1, volume=50))
    for _ in range(5):
        gw._on_message(gw._client, None, _msg(p.Topics().status(DEV).encode(), payload))  # noqa: SLF001
    assert gw.queue_depth == 3
    assert _value(metrics, "loaxa_device_messages_dropped_total", reason="queue_full") == 2
    assert _value(metrics, "loaxa_device_messages_total", kind="status") == 3


def test_publish_while_disconnected_is_queued_until_the_bound_then_refused_visibly():
    metrics = Metrics()
    gw = _gateway(metrics, max_queued_publishes=2)
    results = [gw.publish_schedule(DEV, {"type": "schedule", "version": v}) for v in range(3)]
    assert [r.queued for r in results] == [True, True, False]
    assert [r.wait(0) for r in results] == [False, False, False]
    assert _value(metrics, "loaxa_mqtt_publishes_total", result="queued") == 2
    assert _value(metrics, "loaxa_mqtt_publishes_total", result="queue_full") == 1
    gw._on_publish(gw._client, None, results[1].mid, None, None)  # noqa: SLF001 - the PUBACK
    assert results[1].wait(0) and not results[0].published


def test_publish_refuses_documents_above_the_protocol_limit():
    gw = _gateway(Metrics())
    with pytest.raises(ValueError):
        gw.publish_device_command(DEV, {"pad": "x" * p.MAX_PAYLOAD_BYTES})


def test_convenience_publishers_pick_the_protocol_topics():
    gw = _gateway(Metrics())
    topics = p.Topics()
    assert gw.publish_schedule(DEV, {}).topic == topics.schedule(DEV)
    assert gw.publish_device_command(DEV, {}).topic == topics.command(DEV)
    assert gw.publish_zone_command("37-13579", {}).topic == topics.zone_command("37-13579")
    assert gw.clear_retained(topics.schedule(DEV)).topic == topics.schedule(DEV)
    with pytest.raises(p.ProtocolError):
        gw.publish_zone_command("Bad Zone", {})


class SubscribeSpy:
    """Stands for paho's subscribe on a connected client: records each request and hands out packet ids."""

    def __init__(self) -> None:
        self.requests: list[list[tuple[str, int]]] = []

    def __call__(self, topics: list[tuple[str, int]]) -> tuple[int, int]:
        self.requests.append(topics)
        return mqtt.MQTT_ERR_SUCCESS, 100 + len(self.requests)


def test_refused_subscriptions_are_asked_for_again_with_a_growing_wait(monkeypatch):
    """A clustered broker refuses subscriptions while its nodes elect leaders (SUBACK 0x80); a gateway that kept
    the refusal would never hear a device again. It asks again after 1 s, 2 s, 4 s..., and is ready once granted."""
    gw = _gateway(Metrics())
    spy, waits = SubscribeSpy(), []
    monkeypatch.setattr(gw._client, "subscribe", spy)  # noqa: SLF001
    monkeypatch.setattr(gw._client, "is_connected", lambda: True)  # noqa: SLF001

    class InstantTimer:
        def __init__(self, wait, function, args=()):
            waits.append(wait)
            self.daemon, self._run = False, lambda: function(*args)

        def start(self):
            self._run()

    monkeypatch.setattr(gateway_module.threading, "Timer", InstantTimer)
    refused, granted = mqtt.ReasonCode(mqtt.PacketTypes.SUBACK, identifier=0x80), mqtt.ReasonCode(
        mqtt.PacketTypes.SUBACK, identifier=1)
    gw._sub_mid = 7  # noqa: SLF001 - the subscription sent after CONNACK
    for _ in range(3):
        gw._on_subscribe(gw._client, None, gw._sub_mid, [refused, granted], None)  # noqa: SLF001
    assert waits == [1.0, 2.0, 4.0] and len(spy.requests) == 3
    assert spy.requests[0] == [(t, 1) for t in gw.subscriptions]
    assert not gw._ready.is_set()  # noqa: SLF001
    gw._on_subscribe(gw._client, None, gw._sub_mid, [granted, granted], None)  # noqa: SLF001
    assert gw._ready.is_set() and gw._sub_retry_s == 1.0  # noqa: SLF001
    gw._stopping = True  # noqa: SLF001 - a refusal arriving while stopping asks for nothing more
    gw._on_subscribe(gw._client, None, gw._sub_mid, [refused], None)  # noqa: SLF001
    assert len(spy.requests) == 3
