"""The generated passwd/ACL on a real mosquitto: who may publish and read what."""

from __future__ import annotations

import json

import pytest

from broadcast import protocol as p
from tests.support.broker import MqttProbe

pytestmark = pytest.mark.integration

A, B = "dev-aaa-001", "dev-bbb-002"


def test_generated_password_hashes_are_accepted_and_wrong_passwords_refused(broker_factory):
    broker = broker_factory(devices=[(A, "secret-a"), (B, "secret-b")])
    ok = MqttProbe(broker, A, "secret-a", client_id=A).connect()
    ok.close()
    with pytest.raises(ConnectionError):
        MqttProbe(broker, A, "secret-b", client_id=A).connect()
    with pytest.raises(ConnectionError):
        MqttProbe(broker, "nobody-123", "x").connect()  # no anonymous access


def test_device_cannot_publish_to_or_read_another_devices_topics(broker_factory):
    broker = broker_factory(devices=[(A, "pa"), (B, "pb")])
    t = p.Topics(broker.prefix)
    server = MqttProbe.as_server(broker).connect()
    server.subscribe(t.everything)
    # Something retained for B that A must not be able to read.
    server.publish(t.schedule(B), b'{"secret":"for-b"}', retain=True)

    dev_a = MqttProbe(broker, A, "pa", client_id=A).connect()
    dev_a.subscribe(t.schedule(B))  # the broker grants SUBACK but delivers nothing
    dev_a.subscribe(t.command(B))
    dev_a.subscribe(t.schedule(A))
    for topic in (t.status(B), t.ack(B), t.schedule(B), t.command(B), t.schedule(A), t.command(A),
                  t.zone_command("37"), f"{broker.prefix}/other"):
        dev_a.publish(topic, b'{"forged":true}')
    dev_a.publish(t.ack(A), b'{"marker":"last"}')  # allowed; arrives after the forged ones would have

    msgs = server.wait_for(lambda ms: any(m[0] == t.ack(A) for m in ms))
    forged = [m for m in msgs if m[1] == b'{"forged":true}']
    assert forged == [], f"the broker let forged publishes through: {forged}"
    # A's subscriptions to B's topics never delivered B's retained schedule.
    server.publish(t.schedule(A), b'{"mine":true}', retain=True)
    dev_a.wait_for(lambda ms: any(m[0] == t.schedule(A) for m in ms))
    assert [m for m in dev_a.snapshot() if m[0] != t.schedule(A)] == []
    dev_a.close()
    server.close()


def test_device_may_use_its_own_topics_and_zone_commands(broker_factory):
    broker = broker_factory(devices=[(A, "pa")])
    t = p.Topics(broker.prefix)
    server = MqttProbe.as_server(broker).connect()
    server.subscribe(t.all_status)
    server.subscribe(t.all_acks)
    dev = MqttProbe(broker, A, "pa", client_id=A).connect()
    dev.subscribe(t.zone_command("37-13579"))
    dev.subscribe(t.command(A))
    dev.publish(t.status(A), b'{"s":1}', retain=True)
    dev.publish(t.ack(A), b'{"a":1}')
    server.wait_for(lambda ms: {m[0] for m in ms} >= {t.status(A), t.ack(A)})
    server.publish(t.zone_command("37-13579"), b'{"z":1}')
    server.publish(t.command(A), b'{"c":1}')
    got = dev.wait_for(lambda ms: len(ms) >= 2)
    assert {m[0] for m in got} == {t.zone_command("37-13579"), t.command(A)}
    dev.close()
    server.close()


def test_lwt_marks_device_offline_when_link_drops(broker_factory):
    broker = broker_factory(devices=[(A, "pa")])
    t = p.Topics(broker.prefix)
    server = MqttProbe.as_server(broker).connect()
    server.subscribe(t.all_status)
    dev = MqttProbe(broker, A, "pa", client_id=A)
    dev.client.will_set(t.status(A), p.encode(p.offline_status(A)), qos=1, retain=True)
    dev.connect()
    dev.client.socket().shutdown(2)  # no DISCONNECT: the broker must send the will
    msgs = server.wait_for(lambda ms: any(m[0] == t.status(A) for m in ms))
    status = json.loads([m for m in msgs if m[0] == t.status(A)][-1][1])
    assert status == {"type": "status", "device_id": A, "online": False}
    dev.client.loop_stop()


def test_sim_tamper_fault_is_contained_by_the_acl(broker_factory, signing_key, helpers):
    from device_sim import DeviceSpec, Fleet

    broker = broker_factory(devices=[(A, "pa"), (B, "pb")])
    t = p.Topics(broker.prefix)
    server = MqttProbe.as_server(broker).connect()
    server.subscribe(t.everything)
    specs = [DeviceSpec(A, "pa", tamper=True), DeviceSpec(B, "pb", start_offline=True)]

    async def scenario():
        async with Fleet(broker.url, specs, p.public_key_b64(signing_key)) as fleet:
            await fleet.wait_until(lambda: fleet.device(A).counters.tamper_published == 5)
            # A marker after the tamper shots: everything before it has been routed.
            fleet.device(A).publish_raw(t.ack(A), b'{"marker":"end"}')
            await fleet.wait_until(lambda: any(m[1] == b'{"marker":"end"}' for m in server.snapshot()))

    helpers.run(scenario())
    topics = [m[0] for m in server.snapshot()]
    assert t.ack(B) not in topics and t.status(B) not in topics, "forged publishes on B's topics got through"
    assert topics.count(t.schedule(A)) == 0, "a device wrote its own schedule"
    own_acks = [m[1] for m in server.snapshot() if m[0] == t.ack(A)]
    assert b"\xff\xfe not json" in own_acks  # garbage only on its own topic: the gateway's parser must cope
    with pytest.raises(p.ProtocolError):
        p.parse_ack(b"\xff\xfe not json", A)
    forged = [m for m in own_acks if m.startswith(b"{") and b'"device_id":"' + B.encode() in m]
    assert forged, "the forged ack was expected on A's own topic"
    with pytest.raises(p.ProtocolError) as e:
        p.parse_ack(forged[0], expected_device_id=A)
    assert e.value.code == "device_mismatch"
    server.close()
