"""mqtt_io.failover: reconnects go to the next broker address, the first connect to the first."""
from __future__ import annotations

import paho.mqtt.client as mqtt
import pytest

from mqtt_io.failover import BrokerRotation, rotate_on_reconnect


def test_rotation_wraps_and_starts_where_told():
    rotation = BrokerRotation([("a", 1), ("b", 2), ("c", 3)], start=4)
    assert rotation.current == ("b", 2)
    assert [rotation.advance() for _ in range(3)] == [("c", 3), ("a", 1), ("b", 2)]
    with pytest.raises(ValueError):
        BrokerRotation([])


def test_every_reconnect_after_the_first_moves_the_client():
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    client.connect_async("a", 1)
    rotate_on_reconnect(client, BrokerRotation([("a", 1), ("b", 2)]))
    client.on_pre_connect(client, None)
    assert (client.host, client.port) == ("a", 1)
    client.on_pre_connect(client, None)
    assert (client.host, client.port) == ("b", 2)
    client.on_pre_connect(client, None)
    assert (client.host, client.port) == ("a", 1)


def test_one_address_leaves_the_client_alone():
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    rotate_on_reconnect(client, BrokerRotation([("a", 1)]))
    assert client.on_pre_connect is None
