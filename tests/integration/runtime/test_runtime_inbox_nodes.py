"""Several API nodes taking device messages (broadcast.runtime.InboxNode) on one database and a real private
mosquitto with the protocol ACL, once on SQLite and once on PostgreSQL.

With a shared subscription group each status and ack reaches exactly one node; without one every node handles
every message and the database still holds each ack, play-log row and presence change once."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from broadcast import protocol as p
from broadcast.persistence.models import DeviceAckRow, DevicePresenceRow, PlayLogRow
from broadcast.runtime import InboxNode
from broadcast.services.context import Actor
from broadcast.services.devices import DeviceSpec, register_device
from tests.support.app import HOAN_KIEM, make_container
from tests.support.broker import Broker, MqttProbe
from tests.support.fleet import wait_for

pytestmark = pytest.mark.integration

DEVICES = [f"nd-{i:03d}" for i in range(4)]
ACKS_PER_DEVICE = 25


@pytest.fixture
def broker(broker_factory) -> Broker:
    return broker_factory(devices=[(d, f"pw-{d}") for d in DEVICES])


@pytest.fixture
def nodes(tmp_path, database_url, broker, container) -> Iterator[Callable[..., list[InboxNode]]]:
    """`make(group)`: two started nodes, each with a container of its own over the test's database."""
    for device_id in DEVICES:
        register_device(container.uow(), container.clock, Actor(None),
                        DeviceSpec(id=device_id, name=f"Cụm loa {device_id}", area_code=HOAN_KIEM))
    made: list[InboxNode] = []

    def make(group: str) -> list[InboxNode]:
        for name in ("a", "b"):
            node_container = make_container(tmp_path / name, database_url, mqtt_url=broker.server_url,
                                            topic_prefix=broker.prefix, mqtt_shared_group=group)
            node = InboxNode(node_container, name=f"inbox-{name}")
            node.start()
            made.append(node)
            assert node.gateway.wait_connected(15), "node did not connect and subscribe"
        return made

    yield make
    for node in made:
        node.stop()
        node.container.close()


def send_messages(broker: Broker, container) -> int:
    """From each device, over its own account: one status and ACKS_PER_DEVICE distinct `played` acks."""
    topics = p.Topics(broker.prefix)
    at = container.clock.now()
    sent = 0
    for device_id in DEVICES:
        device = MqttProbe(broker, device_id, f"pw-{device_id}", client_id=device_id).connect()
        try:
            status = p.build_status(device_id, at=at, schedule_version=1, volume=70)
            device.publish(topics.status(device_id), p.encode(status), retain=True)
            for n in range(ACKS_PER_DEVICE):
                ack = p.build_ack(device_id, p.schedule_ref(1), "played", at=at, item_id=f"occ-{n}",
                                  started_at=at - timedelta(minutes=5), ended_at=at)
                device.publish(topics.ack(device_id), p.encode(ack))
                sent += 1
        finally:
            device.close()
    return sent


def handled(node: InboxNode, kind: str) -> int:
    """Device messages of `kind` this node's gateway took (counted as they arrive, before the inbox)."""
    value = node.container.metrics.registry.get_sample_value("loaxa_device_messages_total", {"kind": kind})
    return int(value or 0)


def failed_batches(node: InboxNode) -> int:
    """Batches the node's inbox failed on (retried or dropped): another node's same messages must not cause any."""
    registry = node.container.metrics.registry
    return sum(int(registry.get_sample_value("loaxa_device_inbox_errors_total", {"outcome": o}) or 0)
               for o in ("retried", "dropped"))


def stored(container, model) -> int:
    with container.engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(model))


def test_a_shared_group_hands_each_device_message_to_exactly_one_node(nodes, broker, container):
    a, b = nodes("loaxa-test")
    assert a.gateway.subscriptions[0].startswith("$share/loaxa-test/")
    acks = send_messages(broker, container)

    wait_for(lambda: stored(container, PlayLogRow) == acks and handled(a, "ack") + handled(b, "ack") >= acks, 30,
             what="every ack stored")
    wait_for(lambda: handled(a, "status") + handled(b, "status") >= len(DEVICES), 30, what="every status taken")
    for node in (a, b):
        node.stop()  # what reached a node is counted by now; nothing more can arrive

    assert handled(a, "ack") + handled(b, "ack") == acks  # each ack taken once across the nodes...
    assert handled(a, "ack") > 0 and handled(b, "ack") > 0  # ...and both nodes took a share
    assert handled(a, "status") + handled(b, "status") == len(DEVICES)
    assert stored(container, DeviceAckRow) == acks
    assert stored(container, PlayLogRow) == acks
    assert stored(container, DevicePresenceRow) == len(DEVICES)  # a device's first status is one presence change


def test_without_shared_subscriptions_every_node_handles_everything_and_the_database_holds_it_once(
        nodes, broker, container):
    a, b = nodes("")
    assert a.gateway.subscriptions == [p.Topics(broker.prefix).all_status, p.Topics(broker.prefix).all_acks]
    acks = send_messages(broker, container)

    wait_for(lambda: handled(a, "ack") == acks and handled(b, "ack") == acks, 30, what="both nodes took every ack")
    wait_for(lambda: handled(a, "status") == len(DEVICES) and handled(b, "status") == len(DEVICES), 30,
             what="both nodes took every status")
    for node in (a, b):
        node.stop()  # the workers hand over what is queued before stop returns

    assert stored(container, DeviceAckRow) == acks
    assert stored(container, PlayLogRow) == acks
    assert stored(container, DevicePresenceRow) == len(DEVICES)
    assert failed_batches(a) == failed_batches(b) == 0
    with container.engine.connect() as connection:
        played = connection.execute(select(PlayLogRow.device_id, PlayLogRow.item_id, PlayLogRow.outcome)).all()
    assert len(set(played)) == acks
