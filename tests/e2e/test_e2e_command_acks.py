"""Acks of a command count only from the devices it was sent to (issue #11, finding 5).

The broker ACL lets every device read every zone's command topic; a device outside an emergency's zones that
answers its command must not show up in the emergency's reach, deliveries, acks or play log. Real mosquitto
with the generated ACL, the server runtime, simulated controllers for the targeted devices, and a plain MQTT
client logged in with the outsider device's own credentials.
"""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from broadcast import protocol
from broadcast.persistence.models import DeviceAckRow
from broadcast.runtime import Runtime
from broadcast.services.context import Actor
from broadcast.services.delivery import stage_schedule
from broadcast.services.devices import DeviceSpec, register_device
from broadcast.services.emergencies import EmergencyRequest, EmergencyTools, start_emergency, stop_emergency
from broadcast.services.ports import PlayLogQuery
from device_sim.device import DeviceSpec as SimSpec
from tests.support.app import CUA_NAM, HOAN_KIEM, make_container, wipe
from tests.support.broker import MqttProbe, start_broker
from tests.support.fleet import running_fleet, wait_for

pytestmark = pytest.mark.integration
TARGETED = [f"hk-{i:04d}" for i in range(3)]
OUTSIDER = "cn-0000"  # a device of another ward: not a target of the emergency


@pytest.fixture
def world(tmp_path, database_url):
    bootstrap = make_container(tmp_path, database_url)
    secrets = {d: register_device(bootstrap.uow(), bootstrap.clock, Actor(None),
                                  DeviceSpec(id=d, name=f"Cụm loa {d}", area_code=area)).mqtt_password
               for d, area in [(d, HOAN_KIEM) for d in TARGETED] + [(OUTSIDER, CUA_NAM)]}
    bootstrap.close()
    broker = start_broker(tmp_path / "broker", devices=list(secrets.items()))
    container = make_container(tmp_path, database_url,
                               mqtt_url=broker.server_url)
    runtime = Runtime(container, flush_every_s=0.5, compile_every_s=None)
    runtime.start()
    outsider = MqttProbe(broker, OUTSIDER, secrets[OUTSIDER], client_id=OUTSIDER).connect()
    try:
        with running_fleet(f"mqtt://{broker.host}:{broker.port}", [SimSpec(d, secrets[d]) for d in TARGETED],
                           container.signer.public_key_b64) as fleet:
            assert runtime.gateway.wait_connected(10)
            _learn_zones(container, runtime)
            yield container, runtime, fleet, outsider, broker
    finally:
        outsider.close()
        runtime.stop()
        broker.kill()
        wipe(container)
        container.close()


def _learn_zones(container, runtime) -> None:
    """The targeted devices learn their zones from their first schedule."""
    uow = container.uow()
    with uow:
        for device in uow.devices.directory():
            if device.id in TARGETED:
                stage_schedule(uow, container.clock, container.signer, device, [],
                               horizon_end=container.clock.now() + timedelta(days=7))
        uow.commit()
    runtime.wake_delivery()

    def acked():
        with container.uow() as uow:
            return all(uow.devices.state(d).acknowledged_version == 1 for d in TARGETED)

    wait_for(acked, 30, what="the targeted devices acked their schedule")


def _reach(container, cmd_id: str) -> dict:
    with container.uow() as uow:
        return uow.commands.reach(cmd_id)


def test_acks_of_a_device_the_command_was_not_sent_to_are_not_counted(world):
    container, runtime, _fleet, outsider, broker = world
    topics = protocol.Topics(broker.prefix)
    outsider.subscribe(f"{broker.prefix}/zones/+/command")  # what the broker ACL allows every device
    tools = EmergencyTools(clock=container.clock, signer=container.signer, processor=container.audio,
                           public_url=container.settings.public_url, work_dir=container.settings.data_dir / "work")
    emergency = start_emergency(container.uow(), tools, Actor(None), EmergencyRequest(
        reason="Lũ quét ở phường Hoàn Kiếm", areas=[HOAN_KIEM], stream_url="http://127.0.0.1:9/vov1",
        expires_in_minutes=30))
    runtime.wake_delivery()
    wait_for(lambda: _reach(container, emergency.cmd_id) == {"playing": len(TARGETED)}, 15,
             what="every targeted device playing")
    # The outsider read the zone command meant for Hoàn Kiếm.
    heard = outsider.wait_for(lambda msgs: any(t.endswith("/command") for t, _, _ in msgs))
    assert json.loads(next(m for t, m, _ in heard if t.endswith("/command")))["cmd_id"] == emergency.cmd_id

    stop_emergency(container.uow(), container.clock, container.signer, Actor(None), emergency.id)
    runtime.wake_delivery()
    wait_for(lambda: _reach(container, emergency.cmd_id) == {"preempted": len(TARGETED)}, 15,
             what="every targeted device stopped")

    # It claims, on its own ack topic, to have received and played the emergency.
    now = container.clock.now()
    ref = protocol.command_ref(emergency.cmd_id)
    for stage, times in (("received", {}), ("playing", {"started_at": now}),
                         ("played", {"started_at": now, "ended_at": now + timedelta(minutes=2)})):
        outsider.publish(topics.ack(OUTSIDER), protocol.encode(protocol.build_ack(OUTSIDER, ref, stage, at=now,
                                                                                  **times)))
    # Its status after the acks: once stored, the inbox has handled the acks too (one connection, in order).
    outsider.publish(topics.status(OUTSIDER), protocol.encode(protocol.build_status(
        OUTSIDER, at=now, schedule_version=None, volume=80)), retain=True)

    def outsider_seen():
        with container.uow() as uow:
            return uow.devices.state(OUTSIDER).online is True

    wait_for(outsider_seen, 15, what="the outsider's status stored")

    assert _reach(container, emergency.cmd_id) == {"preempted": len(TARGETED)}  # reach and deliveries
    with container.uow() as uow:
        log = uow.playlog.list(PlayLogQuery(emergency_id=emergency.id))
        recent = uow.devices.state(OUTSIDER).recent_acks
    assert sorted((e.device_id, e.outcome) for e in log) == [(d, "preempted") for d in TARGETED]
    assert recent == ()
    with container.engine.connect() as connection:
        stored = connection.execute(select(DeviceAckRow.device_id, DeviceAckRow.stage)
                                    .where(DeviceAckRow.ref_id == emergency.cmd_id)).all()
    assert {d for d, _ in stored} == set(TARGETED)
    assert sorted(s for d, s in stored if d == TARGETED[0]) == ["playing", "preempted", "ready", "received"]
