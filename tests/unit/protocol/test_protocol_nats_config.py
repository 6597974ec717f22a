"""nats_config: the same topic grants as the mosquitto ACL, bcrypt accounts, node files, client-id check."""
from __future__ import annotations

import json

import pytest

from broadcast.protocol import broker_config as bc
from broadcast.protocol import nats_config as nc
from broadcast.protocol.topic_grants import device_grants, server_grants

bcrypt = pytest.importorskip("bcrypt")


def test_mqtt_filters_map_to_nats_subjects():
    assert nc.mqtt_to_nats("loaxa/v1/zones/+/command") == ("loaxa.v1.zones.*.command",)
    assert nc.mqtt_to_nats("loaxa/v1/#") == ("loaxa.v1", "loaxa.v1.>")
    for bad in ("a.b/c", "a/#/b", "a//b", "a/>"):
        with pytest.raises(ValueError):
            nc.mqtt_to_nats(bad)


def test_device_permissions_equal_the_mosquitto_acl_for_that_device():
    acl = bc.render_acl("loaxa/v1", "loaxa-server")
    writes = [ln.split()[-1].replace("%u", "dev-7") for ln in acl.splitlines() if ln.startswith("pattern write")]
    reads = [ln.split()[-1].replace("%u", "dev-7") for ln in acl.splitlines() if ln.startswith("pattern read")]
    perms = nc.nats_permissions(device_grants("loaxa/v1", "dev-7"))
    assert perms["publish"] == [s for t in writes for s in nc.mqtt_to_nats(t)]
    assert perms["subscribe"] == [s for t in reads for s in nc.mqtt_to_nats(t)] + [nc.MQTT_QOS1_DELIVERY]
    assert nc.nats_permissions(server_grants("loaxa/v1"))["publish"] == ["loaxa.v1", "loaxa.v1.>"]


def test_accounts_hold_bcrypt_hashes_and_refuse_others(tmp_path):
    nodes = [nc.NatsNode(f"n{i}", "127.0.0.1", 4000 + i, 5000 + i, 6000 + i, tmp_path / f"s{i}", 7000 + i)
             for i in range(3)]
    paths = nc.write_nats_config(tmp_path / "out", "loaxa/v1", "loaxa-server", "s3cret", nodes,
                                 devices=[("dev-001", "pw1")], cost=4)
    text = (tmp_path / "out" / nc.ACCOUNTS_FILE).read_text()
    assert "pw1" not in text and "s3cret" not in text
    users = [json.loads(line) for line in text.splitlines() if line.strip().startswith("{")]
    assert [u["user"] for u in users] == ["loaxa-server", "dev-001"]
    assert bcrypt.checkpw(b"pw1", users[1]["password"].encode())
    assert all(u["allowed_connection_types"] == ["MQTT"] for u in users)
    node = paths[0].read_text()
    assert '"server_name": "n0"' not in node and 'server_name: "n0"' in node
    assert "nats-route://127.0.0.1:5001" in node and "nats-route://127.0.0.1:5000" not in node
    assert '"stream_replicas": 3' in node and 'include "accounts.conf"' in node
    with pytest.raises(ValueError):
        nc.render_accounts("loaxa/v1", "loaxa-server", bc.hash_password("x"), [])  # a $7$ hash is not bcrypt
    with pytest.raises(ValueError):
        nc.render_accounts("loaxa/v1", "loaxa-server", nc.bcrypt_hash("x", cost=4),
                           [("loaxa-server", nc.bcrypt_hash("y", cost=4))])
    with pytest.raises(ValueError):
        nc.check_cluster([nodes[0], nodes[0]])


def test_secrets_are_checked_against_the_stored_hashes():
    stored = [("dev-001", bc.hash_password("good")), ("dev-002", bc.hash_password("other"))]
    given, problems = nc.secrets_for_nats("device_id,password\ndev-001,good\ndev-002,wrong\ndev-404,x\n", stored)
    assert given == [("dev-001", "good")]
    assert len(problems) == 3 and any("dev-002" in p and "không khớp" in p for p in problems)


def test_client_id_mismatches_come_from_connz():
    connz = {"connections": [
        {"authorized_user": "dev-001", "mqtt_client": "dev-001"},
        {"authorized_user": "dev-002", "mqtt_client": "dev-001"},
        {"authorized_user": "loaxa-server", "mqtt_client": "loaxa-server-main"},
        {"authorized_user": "x"},  # not MQTT
    ]}
    assert nc.client_id_mismatches(connz, "loaxa-server") == [("dev-002", "dev-001")]


def test_qos1_consumers_are_replicated_like_the_streams_and_on_disk(tmp_path):
    """One in-memory replica per subscription is cheaper, but the server's session loses its acks when that
    replica's node dies (measured on nats-server 2.9.10, docs/nats.md): every node keeps R3 file consumers."""
    nodes = [nc.NatsNode(f"n{i}", "127.0.0.1", 4000 + i, 5000 + i, 6000 + i, tmp_path / f"s{i}") for i in range(3)]
    for node in nodes:
        conf = nc.render_node(node, nodes, replicas=3)
        mqtt = json.loads(next(line for line in conf.splitlines() if line.startswith("mqtt:"))[len("mqtt:"):])
        assert mqtt["stream_replicas"] == mqtt["consumer_replicas"] == 3
        assert mqtt["consumer_memory_storage"] is False
    single = nc.render_node(nodes[0], nodes[:1], replicas=1)
    assert '"consumer_replicas": 1' in single and '"stream_replicas": 1' in single
