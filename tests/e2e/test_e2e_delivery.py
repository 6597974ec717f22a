"""The server's device side over a real broker with the generated ACL, driven by the simulator.

Registry -> broker accounts -> runtime (gateway, outbox, timer) -> simulated devices -> acks in the database.
"""
from __future__ import annotations

import json
import shutil
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from broadcast import protocol
from broadcast.persistence.models import DeviceAckRow, SchedulePublicationRow
from broadcast.runtime import Runtime
from broadcast.services.context import Actor
from broadcast.services.delivery import stage_schedule
from broadcast.services.devices import DeviceSpec, register_device
from device_sim.device import DeviceSpec as SimSpec
from tests.support.app import HOAN_KIEM, make_container, wipe
from tests.support.broker import MqttProbe, start_broker
from tests.support.fleet import running_fleet, wait_for

pytestmark = pytest.mark.integration
DEVICES = [f"hk-{i:04d}" for i in range(12)]


@pytest.fixture
def world(tmp_path, database_url):
    """Registered devices, a broker that knows only their secrets, and a server container pointed at it."""
    bootstrap = make_container(tmp_path, database_url)
    secrets = {d: register_device(bootstrap.uow(), bootstrap.clock, Actor(None),
                                  DeviceSpec(id=d, name=f"Cụm loa {d}", area_code=HOAN_KIEM)).mqtt_password
               for d in DEVICES}
    broker = start_broker(tmp_path / "broker", devices=list(secrets.items()), persistence=True)
    settings = {"mqtt_url": broker.server_url}
    bootstrap.close()

    def server():
        return make_container(tmp_path, database_url, **settings)

    yield server, broker, secrets
    broker.kill()
    last = server()
    wipe(last)
    last.close()


def stage_all(container, items_for=lambda device_id: []):
    uow = container.uow()
    with uow:
        staged = [stage_schedule(uow, container.clock, container.signer, device, items_for(device.id),
                                 horizon_end=container.clock.now() + timedelta(days=7))
                  for device in uow.devices.directory()]
        uow.commit()
    return [p for p in staged if p]


def acked_versions(container) -> dict[str, int]:
    uow = container.uow()
    with uow:
        return {d.id: uow.devices.state(d.id).acknowledged_version for d in uow.devices.directory()}


def device_state(container, device_id):
    uow = container.uow()
    with uow:
        return uow.devices.state(device_id)


def count(container, model) -> int:
    with container.engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(model))


def stream_item(item_id: str, start, minutes: int) -> dict:
    return protocol.build_item(item_id, start=start, end=start + timedelta(minutes=minutes), priority="normal",
                               volume=70, title="Tiếp sóng Đài Tiếng nói Việt Nam",
                               stream_url="http://127.0.0.1:9/vov1")


def test_schedules_reach_devices_survive_offline_and_server_restart(world):
    server, broker, secrets = world
    container = server()
    runtime = Runtime(container, flush_every_s=0.5, compile_every_s=None)
    runtime.start()
    specs = [SimSpec(device_id=d, password=pw) for d, pw in secrets.items()]
    with running_fleet(f"mqtt://{broker.host}:{broker.port}", specs, container.signer.public_key_b64,
                       speed=1.0) as fleet:
        assert runtime.gateway.wait_connected(10)
        assert len(stage_all(container)) == len(DEVICES)
        runtime.wake_delivery()
        wait_for(lambda: set(acked_versions(container).values()) == {1}, 30, what="every device acked v1")

        # One device loses its link; the schedule changes meanwhile.
        away = DEVICES[3]
        fleet.call(lambda: fleet.fleet.take_offline([away]))
        wait_for(lambda: not device_state(container, away).online, 30, what="LWT offline")
        later = container.clock.now() + timedelta(days=1)
        assert len(stage_all(container, lambda d: [stream_item(f"occ-{d}", later, 15)])) == len(DEVICES)
        runtime.wake_delivery()
        wait_for(lambda: sum(v == 2 for v in acked_versions(container).values()) == len(DEVICES) - 1, 30,
                 what="online devices acked v2")
        assert acked_versions(container)[away] == 1

        # The server restarts; the device comes back and gets the newest version from the retained message.
        runtime.stop()
        container.close()
        container = server()
        runtime = Runtime(container, flush_every_s=0.5, compile_every_s=None)
        runtime.start()
        assert acked_versions(container)[away] == 1  # state kept in the database
        fleet.call(lambda: fleet.fleet.bring_online([away]))
        wait_for(lambda: acked_versions(container)[away] == 2, 30, what="returning device acked v2")
        assert fleet.call(lambda: fleet.fleet.device(away).schedule["version"]) == 2

        # Same timelines again: nothing new is staged, no version is sent twice as new.
        publications = count(container, SchedulePublicationRow)
        assert stage_all(container, lambda d: [stream_item(f"occ-{d}", later, 15)]) == []
        assert count(container, SchedulePublicationRow) == publications == 2 * len(DEVICES)
    runtime.stop()
    container.close()


def test_garbage_from_devices_leaves_server_up_and_consistent(world):
    server, broker, secrets = world
    container = server()
    runtime = Runtime(container, flush_every_s=0.5, compile_every_s=None)
    runtime.start()
    assert runtime.gateway.wait_connected(10)
    device = DEVICES[0]
    prefix = container.settings.topic_prefix
    probe = MqttProbe(broker, username=device, password=secrets[device], client_id=device).connect()
    garbage = [b"", b"{", b"[1,2]", b"\xff\xfe", json.dumps({"type": "ack"}).encode(), b"x" * 60_000,
               json.dumps({"type": "ack", "device_id": DEVICES[1], "ref": {"schedule": 1}, "stage": "played",
                           "at": "2026-11-28T21:00:00+07:00", "item_id": None, "reason": None}).encode()]
    for i in range(10_000):
        probe.publish(f"{prefix}/devices/{device}/{'ack' if i % 2 else 'status'}", garbage[i % len(garbage)])
    # Another device's topic: the broker's ACL drops these before the server sees them.
    for _ in range(100):
        probe.publish(f"{prefix}/devices/{DEVICES[1]}/ack", garbage[-1])
    valid = protocol.build_status(device, at=container.clock.now(), schedule_version=None, volume=55,
                                  firmware="after-flood")
    probe.publish(f"{prefix}/devices/{device}/status", protocol.encode(valid), retain=True)

    wait_for(lambda: device_state(container, device).firmware == "after-flood", 60, what="valid status after the flood")
    dropped = sum(sample.value for metric in container.metrics.registry.collect()
                  if metric.name == "loaxa_device_messages_dropped" for sample in metric.samples
                  if sample.name.endswith("_total"))
    assert dropped >= 10_000 - 1  # every garbage message counted (the retained status may count once more)
    assert count(container, DeviceAckRow) == 0
    probe.close()
    runtime.stop()
    container.close()


def test_zone_command_reaches_devices_once_and_expired_is_not_sent(world):
    from broadcast.services.delivery.commands import CommandRequest, stage_command

    server, broker, secrets = world
    container = server()
    runtime = Runtime(container, flush_every_s=0.5, compile_every_s=None)
    runtime.start()
    specs = [SimSpec(device_id=d, password=pw) for d, pw in secrets.items()]
    commune_zone = f"01-{HOAN_KIEM}"
    with running_fleet(f"mqtt://{broker.host}:{broker.port}", specs, container.signer.public_key_b64) as fleet:
        assert runtime.gateway.wait_connected(10)
        stage_all(container)  # devices subscribe to their zones from their first schedule
        runtime.wake_delivery()
        wait_for(lambda: set(acked_versions(container).values()) == {1}, 30, what="schedules acked")
        uow = container.uow()
        with uow:
            cmd_id = stage_command(uow, container.clock, container.signer, CommandRequest(
                action="set_volume", volume=35, zones=[commune_zone],
                tracked_devices=uow.devices.ids_in_zones([commune_zone])), created_by="test")
            uow.commit()
        runtime.wake_delivery()

        def reach():
            uow = container.uow()
            with uow:
                return uow.commands.reach(cmd_id)

        wait_for(lambda: reach().get("received") == len(DEVICES), 30, what="every device received the command")
        assert all(v == 35 for v in fleet.call(lambda: [d.volume for d in fleet.fleet.devices.values()]))
        with container.uow() as uow:
            assert uow.commands.due(now=container.clock.now(), limit=10) == []
    runtime.stop()
    container.close()


def test_a_broker_that_lost_its_retained_store_gets_the_current_schedules_again(world):
    """A broker (or cluster node) that dies may take retained messages with it that it had already acknowledged,
    while the devices acked the live deliveries: nothing is due any more, yet a device that restarts and reads its
    retained topic would find nothing (or an older version). Here mosquitto is killed and its persistence file
    deleted; after the server reconnects, every device's current schedule is retained on the broker again."""
    server, broker, secrets = world
    container = server()
    runtime = Runtime(container, flush_every_s=0.5, compile_every_s=None)
    runtime.start()
    try:
        specs = [SimSpec(device_id=d, password=pw) for d, pw in secrets.items()]
        with running_fleet(f"mqtt://{broker.host}:{broker.port}", specs, container.signer.public_key_b64,
                           speed=1.0):
            assert runtime.gateway.wait_connected(10)
            assert len(stage_all(container)) == len(DEVICES)
            runtime.wake_delivery()
            wait_for(lambda: set(acked_versions(container).values()) == {1}, 30, what="every device acked v1")

            broker.kill()
            shutil.rmtree(broker.workdir / "data")  # what it had not written out, and more, is gone
            (broker.workdir / "data").mkdir()
            broker.start()
            assert runtime.gateway.wait_connected(30)

            def retained() -> dict[str, int]:
                probe = MqttProbe.as_server(broker).connect()
                try:
                    probe.subscribe(f"{container.settings.topic_prefix}/devices/+/schedule", qos=1)
                    time.sleep(1.0)  # retained messages come at once; none may come at all
                    return {topic.split("/")[-2]: json.loads(payload)["version"]
                            for topic, payload, is_retained in probe.messages if is_retained and payload}
                finally:
                    probe.close()

            wait_for(lambda: retained() == dict.fromkeys(DEVICES, 1), 20, what="every schedule retained again")
    finally:
        runtime.stop()
        container.close()
