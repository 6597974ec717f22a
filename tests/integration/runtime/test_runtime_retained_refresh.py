"""After a reconnect the scheduler's flush republishes recently published schedule versions for the broker's
retained store (a node that died may have taken them, and a cluster electing its retained stream's leader drops
retained writes it acknowledges). The gateway calls its reconnect hooks at CONNACK but counts as connected only at
SUBACK: a flush in between publishes nothing, and the refresh must stay pending for the next flush instead of being
dropped. A second pass comes once the cluster has settled. Real mosquitto, both engines."""
from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from sqlalchemy import insert

from broadcast.persistence.models import DeviceRow, SchedulePublicationRow
from broadcast.runtime import Runtime
from broadcast.services.delivery import retained
from tests.support.app import device_row, make_container
from tests.support.broker import Broker, MqttProbe
from tests.support.fleet import wait_for

pytestmark = pytest.mark.integration
DEVICES = ["rt-1", "rt-2", "rt-3"]


def retained_versions(broker: Broker, prefix: str) -> dict[str, int]:
    probe = MqttProbe.as_server(broker).connect()
    try:
        probe.subscribe(f"{prefix}/devices/+/schedule", qos=1)
        time.sleep(0.5)  # retained messages come at once after the SUBACK
        return {topic.split("/")[-2]: json.loads(payload)["version"]
                for topic, payload, is_retained in probe.messages if is_retained and payload}
    finally:
        probe.close()


@pytest.fixture
def sent_before_the_loss(tmp_path, database_url, broker_factory,
                         container) -> Iterator[tuple[Callable[..., Runtime], Broker]]:
    """(`make(received=...)`, the broker). `make`: version 1 of every device published 5 s ago (received, or still
    in flight), and a scheduler runtime over the same database pointed at the broker (its gateway not started)."""
    broker = broker_factory(devices=[(d, f"pw-{d}") for d in DEVICES])
    made: list[Runtime] = []

    def make(*, received: bool) -> Runtime:
        now = container.clock.now()
        with container.engine.begin() as connection:
            connection.execute(insert(DeviceRow), [device_row(d, now) for d in DEVICES])
            connection.execute(insert(SchedulePublicationRow), [
                {"device_id": d, "version": 1, "fingerprint": "f" * 64, "document": {"version": 1},
                 "created_at": now, "published_at": now - timedelta(seconds=5), "attempts": 1,
                 "next_attempt_at": None if received else now + timedelta(minutes=2),
                 "received_at": now if received else None} for d in DEVICES])
        server = make_container(tmp_path / "server", database_url, container.clock, mqtt_url=broker.server_url,
                                topic_prefix=broker.prefix)
        made.append(Runtime(server, compile_every_s=None))
        return made[-1]

    yield make, broker
    for runtime in made:
        runtime.gateway.stop()
        runtime.container.close()


def reconnected(runtime: Runtime) -> None:
    for hook in runtime.gateway.on_reconnect:  # what paho's CONNACK runs
        hook()


def test_a_refresh_the_broker_did_not_take_is_tried_again_at_the_next_flush(sent_before_the_loss):
    make, broker = sent_before_the_loss
    runtime = make(received=True)
    reconnected(runtime)  # the subscription is not yet there: the gateway does not count as connected
    runtime.flush()
    assert retained_versions(broker, broker.prefix) == {}  # nothing could be published yet

    runtime.gateway.start()
    assert runtime.gateway.wait_connected(15)
    runtime.flush()
    wait_for(lambda: retained_versions(broker, broker.prefix) == dict.fromkeys(DEVICES, 1), 10,
             what="every received schedule retained after the next flush")


def test_a_retained_copy_lost_after_the_first_pass_comes_back_once_the_cluster_settled(sent_before_the_loss,
                                                                                       monkeypatch):
    monkeypatch.setattr(retained, "SETTLE_S", 1.0)
    make, broker = sent_before_the_loss
    runtime = make(received=False)
    runtime.gateway.start()
    assert runtime.gateway.wait_connected(15)
    reconnected(runtime)
    runtime.flush()
    wait_for(lambda: retained_versions(broker, broker.prefix) == dict.fromkeys(DEVICES, 1), 10,
             what="the first pass")
    lost = MqttProbe.as_server(broker).connect()  # what a leaderless retained stream does to a write
    try:
        for device in DEVICES:
            lost.client.publish(f"{broker.prefix}/devices/{device}/schedule", b"", qos=1, retain=True)
        wait_for(lambda: retained_versions(broker, broker.prefix) == {}, 10, what="the copies gone")
    finally:
        lost.close()
    time.sleep(1.0)
    runtime.flush()
    wait_for(lambda: retained_versions(broker, broker.prefix) == dict.fromkeys(DEVICES, 1), 10,
             what="the second pass")
