"""Emergencies end to end: the real API served by uvicorn with its embedded runtime, a private mosquitto with the
generated ACL, and simulated controllers that download the spoken bulletin from the API and play it.

Officer -> POST /emergencies -> play_now per zone topic -> devices ack -> reach in GET /emergencies/{id}.
"""
from __future__ import annotations

import time
from datetime import timedelta

import httpx
import pytest

from broadcast.runtime import Runtime
from broadcast.services.context import Actor
from broadcast.services.delivery import stage_schedule
from broadcast.services.devices import DeviceSpec, register_device
from broadcast.web.app import create_app
from device_sim.device import DeviceSpec as SimSpec
from tests.support.app import HANOI, HOAN_KIEM, PASSWORD, add_user, make_container, wipe
from tests.support.audio_fixtures import require_binary
from tests.support.broker import free_port, start_broker
from tests.support.fleet import running_fleet, wait_for
from tests.support.served import ServedApi

pytestmark = pytest.mark.integration
DEVICES = [f"hk-{i:03d}" for i in range(10)]
TEST_DEVICES = DEVICES[:2]
CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"


@pytest.fixture
def world(tmp_path, database_url):
    require_binary("espeak-ng")
    require_binary("ffmpeg")
    bootstrap = make_container(tmp_path, database_url)
    secrets = {d: register_device(bootstrap.uow(), bootstrap.clock, Actor(None),
                                  DeviceSpec(id=d, name=f"Cụm loa {d}", area_code=HOAN_KIEM,
                                             test_device=d in TEST_DEVICES)).mqtt_password
               for d in DEVICES}
    add_user(bootstrap, "khan-cap", "emergency_operator", HOAN_KIEM)
    bootstrap.close()
    broker = start_broker(tmp_path / "broker", devices=list(secrets.items()), persistence=True)
    port = free_port()
    container = make_container(tmp_path, database_url, public_url=f"http://127.0.0.1:{port}",
                               mqtt_url=broker.server_url)
    # A long interval: commands must go out because the API wakes the delivery, not because a timer passed.
    runtime = Runtime(container, flush_every_s=120, compile_every_s=None)
    specs = [SimSpec(device_id=d, password=pw) for d, pw in secrets.items()]
    with ServedApi(create_app(container, runtime), port) as api, \
            running_fleet(f"mqtt://{broker.host}:{broker.port}", specs, container.signer.public_key_b64) as fleet:
        assert runtime.gateway.wait_connected(10)
        _subscribe_zones(container, runtime)
        with httpx.Client(base_url=api.base, timeout=60) as http:
            token = http.post("/api/v1/auth/token", data={"username": "khan-cap", "password": PASSWORD})
            http.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
            yield http, fleet, container
    broker.kill()
    wipe(container)
    container.close()


def _subscribe_zones(container, runtime) -> None:
    """Devices learn their zones (and subscribe to their zone topics) from their first schedule."""
    uow = container.uow()
    with uow:
        for device in uow.devices.directory():
            stage_schedule(uow, container.clock, container.signer, device, [],
                           horizon_end=container.clock.now() + timedelta(days=7))
        uow.commit()
    runtime.wake_delivery()

    def all_acked():
        with container.uow() as u:
            return all(u.devices.state(d).acknowledged_version == 1 for d in DEVICES)

    wait_for(all_acked, 30, what="every device acked its schedule")


def reach(http, emergency_id: int, which: str = "reach") -> dict:
    response = http.get(f"/api/v1/emergencies/{emergency_id}")
    assert response.status_code == 200, response.text
    return response.json()[which]


def test_spoken_emergency_reaches_every_device_within_seconds(world):
    http, fleet, _container = world
    started = time.monotonic()
    response = http.post("/api/v1/emergencies", json={
        "targets": {"areas": [HOAN_KIEM]}, "reason": "Cháy rừng lan rộng",
        "text": "Khẩn cấp. Cháy rừng đang lan về phía khu dân cư. Bà con di chuyển ngay.", "expires_in_minutes": 30})
    assert response.status_code == 201, response.text
    emergency = response.json()
    spoken = time.monotonic() - started
    wait_for(lambda: reach(http, emergency["id"])["received"] == len(DEVICES), 10, what="every device received")
    wait_for(lambda: reach(http, emergency["id"])["playing"] + reach(http, emergency["id"])["played"]
             == len(DEVICES), 10, what="every device playing")
    playing_after = time.monotonic() - started
    wait_for(lambda: reach(http, emergency["id"])["played"] == len(DEVICES), 60, what="every device played it")
    final = reach(http, emergency["id"])
    assert final["not_reached"] == 0 and final["failed"] == 0
    # Every device fetched the bulletin from the API and played this command.
    acted = fleet.call(lambda: {d: fleet.fleet.device(d).acted_cmds for d in DEVICES})
    assert all(emergency["cmd_id"] in cmds for cmds in acted.values())
    print(f"\nTTS+render in request: {spoken:.2f}s; all {len(DEVICES)} devices playing after {playing_after:.2f}s")


def test_stop_cuts_a_relay_on_every_device(world):
    http, fleet, _container = world
    emergency = http.post("/api/v1/emergencies", json={
        "targets": {"areas": [HOAN_KIEM]}, "reason": "Tiếp sóng chỉ đạo phòng chống bão",
        "stream_url": "http://127.0.0.1:9/vov1", "stream_minutes": 30, "expires_in_minutes": 30}).json()
    wait_for(lambda: reach(http, emergency["id"])["playing"] == len(DEVICES), 10, what="every device playing")
    stopped = http.post(f"/api/v1/emergencies/{emergency['id']}/stop")
    assert stopped.status_code == 200, stopped.text
    wait_for(lambda: reach(http, emergency["id"])["preempted"] == len(DEVICES), 10, what="every device stopped")
    wait_for(lambda: reach(http, emergency["id"], "stop_reach")["received"] == len(DEVICES), 10,
             what="every device acked the stop")
    assert fleet.call(lambda: [fleet.fleet.device(d).current for d in DEVICES]) == [None] * len(DEVICES)


def _cap(identifier: str, *, status: str, msg_type: str = "Alert", references: str = "", expires: str) -> bytes:
    info = "" if msg_type == "Cancel" else f"""<info><language>vi-VN</language><event>Diễn tập</event>
      <urgency>Immediate</urgency><severity>Severe</severity><certainty>Likely</certainty>
      <expires>{expires}</expires><headline>Diễn tập cảnh báo sóng thần</headline>
      <description>Đây là bản tin diễn tập.</description>
      <area><areaDesc>Hoàn Kiếm</areaDesc><geocode><valueName>VN-ADMIN</valueName><value>{HOAN_KIEM}</value>
      </geocode></area></info>"""
    refs = f"<references>{references}</references>" if references else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?><alert xmlns="{CAP_NS}"><identifier>{identifier}</identifier>
      <sender>diễn-tập@{HANOI}.gov.vn</sender><sent>2026-11-28T21:00:00+07:00</sent><status>{status}</status>
      <msgType>{msg_type}</msgType><scope>Public</scope>{refs}{info}</alert>""".encode()


def test_test_cap_reaches_only_test_devices_and_cancel_stops_it(world):
    http, fleet, container = world
    expires = (container.clock.now() + timedelta(minutes=20)).isoformat()
    xml = _cap("DT-1", status="Exercise", expires=expires)
    response = http.post("/api/v1/emergencies/cap", content=xml, headers={"Content-Type": "application/cap+xml"})
    assert response.status_code == 201, response.text
    emergency = response.json()["emergency"]
    wait_for(lambda: reach(http, emergency["id"])["received"] == len(TEST_DEVICES), 10, what="test devices received")
    duplicate = http.post("/api/v1/emergencies/cap", content=xml, headers={"Content-Type": "application/cap+xml"})
    assert duplicate.status_code == 200 and duplicate.json()["action"] == "duplicate"
    assert len(http.get("/api/v1/emergencies").json()) == 1

    cancel = _cap("DT-2", status="Exercise", msg_type="Cancel", expires=expires,
                  references=f"diễn-tập@{HANOI}.gov.vn,DT-1,2026-11-28T21:00:00+07:00")
    cancelled = http.post("/api/v1/emergencies/cap", content=cancel, headers={"Content-Type": "application/cap+xml"})
    assert cancelled.status_code == 200 and cancelled.json()["action"] == "stopped", cancelled.text
    wait_for(lambda: reach(http, emergency["id"], "stop_reach")["received"] == len(TEST_DEVICES), 10,
             what="test devices acked the stop")
    acted = fleet.call(lambda: {d: list(fleet.fleet.device(d).acted_cmds) for d in DEVICES})
    assert {d for d, cmds in acted.items() if emergency["cmd_id"] in cmds} == set(TEST_DEVICES)
    assert fleet.call(lambda: [fleet.fleet.device(d).current for d in TEST_DEVICES]) == [None] * len(TEST_DEVICES)
