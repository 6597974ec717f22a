"""Proof of play end to end: a schedule goes out over a real broker, simulated devices play it in real time,
their acks come back through the gateway and the inbox, and the play-log API shows what was played and missed.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from broadcast import protocol
from broadcast.persistence.models import PlayLogRow
from broadcast.runtime import PURGE_JOB, Runtime
from broadcast.services.context import Actor
from broadcast.services.delivery import stage_schedule
from broadcast.services.devices import DeviceSpec, register_device
from broadcast.web.app import create_app
from device_sim.device import DeviceSpec as SimSpec
from tests.support.app import HANOI, HOAN_KIEM, make_container, user, wipe
from tests.support.broker import start_broker
from tests.support.fleet import running_fleet, wait_for

pytestmark = pytest.mark.integration
DEVICES = ["hk-pl-01", "hk-pl-02"]


@pytest.fixture
def world(tmp_path, database_url):
    bootstrap = make_container(tmp_path, database_url)
    secrets = {d: register_device(bootstrap.uow(), bootstrap.clock, Actor(None),
                                  DeviceSpec(id=d, name=f"Cụm loa {d}", area_code=HOAN_KIEM)).mqtt_password
               for d in DEVICES}
    broker = start_broker(tmp_path / "broker", devices=list(secrets.items()))
    bootstrap.close()
    container = make_container(tmp_path, database_url,
                               mqtt_url=broker.server_url)
    yield container, broker, secrets
    broker.kill()
    wipe(container)
    container.close()


def items_for(device_id: str, now: datetime) -> list[dict]:
    """One relay already over (the device can only miss it) and one a few seconds ahead (it plays it)."""
    soon = now.replace(microsecond=0) + timedelta(seconds=3)
    past = protocol.build_item(f"occ-{device_id}-past", start=now - timedelta(minutes=2),
                               end=now - timedelta(minutes=1), priority="normal", volume=70, title="Bản tin đã qua",
                               stream_url="http://127.0.0.1:9/vov1")
    ahead = protocol.build_item(f"occ-{device_id}-soon", start=soon.astimezone(protocol.VIETNAM_TZ),
                                end=(soon + timedelta(seconds=2)).astimezone(protocol.VIETNAM_TZ),
                                priority="normal", volume=70, title="Tiếp sóng Đài Tiếng nói Việt Nam",
                                stream_url="http://127.0.0.1:9/vov1")
    for item, schedule_id in ((past, 41), (ahead, 42)):
        item["schedule_id"], item["programme_id"] = str(schedule_id), 7
    return [past, ahead]


def play_log(container) -> dict[tuple[str, str], PlayLogRow]:
    with container.engine.connect() as connection:
        return {(r.device_id, r.outcome): r for r in connection.execute(select(PlayLogRow))}


def as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def test_simulated_devices_play_and_the_play_log_shows_it(world):
    container, broker, secrets = world
    runtime = Runtime(container, flush_every_s=0.5, compile_every_s=None)
    runtime.start()
    try:
        assert PURGE_JOB in runtime.timer.job_ids()  # the nightly retention purge is registered
        specs = [SimSpec(device_id=d, password=pw) for d, pw in secrets.items()]
        with running_fleet(f"mqtt://{broker.host}:{broker.port}", specs, container.signer.public_key_b64):
            assert runtime.gateway.wait_connected(10)
            now = container.clock.now()
            uow = container.uow()
            with uow:
                planned = {}
                for device in uow.devices.directory():
                    planned[device.id] = items_for(device.id, now)
                    stage_schedule(uow, container.clock, container.signer, device, planned[device.id],
                                   horizon_end=now + timedelta(days=7))
                uow.commit()
            runtime.wake_delivery()
            wait_for(lambda: len(play_log(container)) == 2 * len(DEVICES), 30, what="played and missed rows")
    finally:
        runtime.stop()

    rows = play_log(container)
    for device_id in DEVICES:
        ahead = planned[device_id][1]
        played = rows[(device_id, "played")]
        assert played.item_id == ahead["item_id"] and played.commune_code == HOAN_KIEM
        assert (played.schedule_id, played.programme_id, played.title) == (42, 7, ahead["title"])
        planned_start = protocol.parse_time(ahead["start"])
        assert as_utc(played.planned_start) == planned_start
        # It really played, on time, to the planned end (the simulator ends a relay at its `end`).
        assert abs((as_utc(played.started_at) - planned_start).total_seconds()) <= 2
        assert as_utc(played.ended_at) == protocol.parse_time(ahead["end"])
        missed = rows[(device_id, "missed")]
        assert missed.item_id == planned[device_id][0]["item_id"] and missed.started_at is None

    with TestClient(create_app(container)) as client:
        officer = user(container, client, "officer", "viewer", HANOI)
        listed = client.get("/api/v1/playlog", params={"outcome": "played", "schedule": 42},
                            headers=officer.headers).json()
        assert sorted(r["device_id"] for r in listed) == DEVICES
        assert all(r["outcome_label"] == "đã phát" for r in listed)
