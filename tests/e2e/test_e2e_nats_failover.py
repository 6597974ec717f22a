"""Protocol v1 on a 3-node NATS cluster survives the death of a node during a rollout (issue #15).

60 simulated devices spread over the three nodes' MQTT listeners; the server lists every node in
LOAXA_MQTT_URL. Version 1 reaches everyone; then version 2 is staged and, halfway through the server's
publishing of it, the node holding the server's session is killed with -9. Its devices and the server
reconnect to the other nodes; every device must end on version 2 with its ack stored, the retained
schedules on the surviving nodes must be version 2, and no device may hold another's client id.

While the survivors elect new leaders (4-9 s in nats-server 2.9) and the dead node's devices reconnect at once,
nats-server refuses some subscriptions (SUBACK 0x80: the JetStream consumer behind a QoS 1 subscription was not
created within its 4 s); the simulated devices ask for those again, as real devices must (docs/nats.md).

The delivery retry backoff stays at its production default (120 s), far beyond the test's waits: the
convergence must come from the server's failover handling, not from a retry timer.
"""
from __future__ import annotations

import json
import time
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from broadcast.persistence.models import DeviceAckRow
from broadcast.runtime import Runtime
from broadcast.services.context import Actor
from broadcast.services.devices import DeviceSpec, register_device
from device_sim.device import DeviceSpec as SimSpec
from tests.e2e.test_e2e_delivery import acked_versions, stage_all, stream_item
from tests.support.app import HOAN_KIEM, make_container, wipe
from tests.support.broker import MqttProbe
from tests.support.fleet import running_fleet, wait_for
from tests.support.nats_cluster import nats_cluster_factory  # noqa: F401,F811 - fixture

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("timing")]  # not beside the chaos run
DEVICES = [f"nf-{i:04d}" for i in range(60)]
SERVER_CLIENT_ID = "loaxa-server-main"
# How long after the kill every device must have acked version 2. nats-server 2.9's recovery sets the pace: on
# 2026-12-01 one device got its CONNECT accepted by a survivor only 16 s after the kill, its SUBSCRIBE answered (0x80)
# 16 s later and its retry 10 s after that (45 s failed in 4 of 10 runs that day). Still well under the
# delivery retry (120 s), so the convergence must come from the failover handling, not from a retry timer.
CONVERGE_S = 90.0


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the broker is under test, not the database
def test_a_node_killed_during_a_rollout_loses_no_device_and_no_ack(tmp_path, database_url,
                                                                  nats_cluster_factory):  # noqa: F811
    bootstrap = make_container(tmp_path, database_url)
    secrets = {d: register_device(bootstrap.uow(), bootstrap.clock, Actor(None),
                                  DeviceSpec(id=d, name=f"Cụm loa {d}", area_code=HOAN_KIEM)).mqtt_password
               for d in DEVICES}
    bootstrap.close()
    cluster = nats_cluster_factory(devices=sorted(secrets.items()))
    container = make_container(tmp_path, database_url, mqtt_url=cluster.server_url())
    runtime = Runtime(container, flush_every_s=0.5, compile_every_s=None)
    runtime.start()
    try:
        specs = [SimSpec(device_id=d, password=pw) for d, pw in secrets.items()]
        with running_fleet(cluster.device_url, specs, container.signer.public_key_b64, speed=1.0) as fleet:
            assert runtime.gateway.wait_connected(15)
            fleet.run(fleet.fleet.wait_connected(30))
            wait_for(lambda: cluster.subscribed(2) >= set(DEVICES), 30, what="every device subscribed")
            homes = {d: cluster.node_of(d) for d in DEVICES}
            assert sorted(homes.values()).count("n1") == len(DEVICES) // 3  # spread over the nodes in turn

            assert len(stage_all(container)) == len(DEVICES)
            runtime.wake_delivery()
            wait_for(lambda: set(acked_versions(container).values()) == {1}, 30, what="every device acked v1")

            # Version 2: the node holding the server's session dies halfway through its publishing.
            doomed = cluster.node_of(SERVER_CLIENT_ID)
            assert doomed is not None
            publish = runtime.gateway.publish_schedule_payload
            handed = [0]

            def publish_then_kill(device_id: str, payload: bytes):  # noqa: ANN202 - the gateway's own result
                result = publish(device_id, payload)
                handed[0] += 1
                if handed[0] == len(DEVICES) // 2:
                    cluster.kill(doomed)
                return result

            runtime.gateway.publish_schedule_payload = publish_then_kill  # type: ignore[method-assign]
            staged = stage_all(container, lambda d: [_item(container, d)])
            assert {p.version for p in staged} == {2} and len(staged) == len(DEVICES)
            runtime.wake_delivery()

            try:
                wait_for(lambda: set(acked_versions(container).values()) == {2}, CONVERGE_S)
            except AssertionError:
                behind = sorted(d for d, v in acked_versions(container).items() if v != 2)
                devices = fleet.fleet.devices.values()
                refused = fleet.call(lambda: sum(d.counters.subscriptions_refused for d in devices))
                raise AssertionError(f"not every device acked v2 {CONVERGE_S}s after the node's death: {behind} "
                                     f"({refused} subscriptions refused and asked again)") from None
            assert not cluster.node(doomed).running
            assert cluster.node_of(SERVER_CLIENT_ID) not in (None, doomed)
            moved = [d for d, home in homes.items() if home == doomed]
            wait_for(lambda: all(cluster.node_of(d) not in (None, doomed) for d in moved), 30,
                     what="the dead node's devices connected elsewhere")
            assert fleet.call(lambda: {fleet.fleet.device(d).version for d in DEVICES}) == {2}

            # Acks are not lost: the database holds every device's receipt of version 2.
            with container.engine.connect() as connection:
                received = set(connection.scalars(select(DeviceAckRow.device_id).where(
                    DeviceAckRow.ref_kind == "schedule", DeviceAckRow.ref_id == "2",
                    DeviceAckRow.stage == "received")))
            assert received == set(DEVICES)

            # Retained schedules are intact in the cluster: for every device a survivor serves version 2. QoS 0:
            # nats-server serves it from the node's copy of the retained stream without creating a JetStream consumer
            # (which the survivors may still be slow to create for the probe while the dead node's clients settle).
            # Each node keeps that copy filled by a consumer on the replicated stream, and nats-server 2.9's consumers
            # can stall after a leader failover (nats-io/nats-server#5679): on 2026-12-01 one survivor kept a device's
            # version 1 past 20 s in 3 of 14 runs although the server had published version 2 again through the
            # other (docs/nats.md). So the survivors are read in turn for up to 20 s; a version lost from the
            # retained stream (on no survivor) still fails here.
            def retained_versions(node) -> dict[str, int]:  # noqa: ANN001 - a NodeProcess
                probe = MqttProbe(SimpleNamespace(host=node.node.host, port=node.node.mqtt_port),  # type: ignore[arg-type]
                                  cluster.server_user, cluster.server_password).connect()
                try:
                    probe.subscribe(f"{container.settings.topic_prefix}/devices/+/schedule", qos=0)
                    retained = probe.wait_for(lambda msgs: len({t for t, _, r in msgs if r}) >= len(DEVICES), 15)
                    return {topic.split("/")[-2]: json.loads(payload)["version"]
                            for topic, payload, is_retained in retained if is_retained}
                finally:
                    probe.close()

            def newest_retained() -> tuple[dict[str, int], dict[str, list[str]]]:
                newest: dict[str, int] = {}
                stale: dict[str, list[str]] = {}
                for node in cluster.alive:
                    versions = retained_versions(node)
                    stale[node.node.name] = sorted(d for d, v in versions.items() if v != 2)
                    for device, version in versions.items():
                        newest[device] = max(version, newest.get(device, version))
                return newest, stale

            deadline = time.monotonic() + 20
            newest, stale = newest_retained()
            while newest != dict.fromkeys(DEVICES, 2) and time.monotonic() < deadline:
                time.sleep(1)
                newest, stale = newest_retained()
            assert newest == dict.fromkeys(DEVICES, 2), f"older versions retained per survivor: {stale}"

            assert cluster.client_id_mismatches() == []
    finally:
        runtime.stop()
        wipe(container)
        container.close()


def _item(container, device_id: str) -> dict:
    return stream_item(f"occ-{device_id}", container.clock.now() + timedelta(days=1), 15)
