"""Issue #11, finding 14: registering, disabling, enabling or rotating a device reaches the broker at once.

The server rewrites the broker's device password file after each committed change and has mosquitto reload it
(SIGHUP to the pid in LOAXA_MQTT_PID_FILE); mosquitto 2.0 then checks the clients already connected again.
Real mosquitto, started with the generated config.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from fastapi.testclient import TestClient

from broadcast.web.app import create_app
from tests.support.app import HANOI, HOAN_KIEM, make_container, user, wipe
from tests.support.broker import MqttProbe

pytestmark = pytest.mark.integration


@pytest.fixture
def synced(tmp_path, database_url, clock, broker_factory):
    broker = broker_factory(devices=[])  # the server account only: devices come from the registry
    container = make_container(tmp_path, database_url, clock, mqtt_config_dir=broker.workdir,
                               mqtt_pid_file=broker.workdir / "mosquitto.pid")
    with TestClient(create_app(container)) as client:
        yield broker, container, client
    wipe(container)
    container.close()


def register(client, admin, device_id: str) -> str:
    response = client.post("/api/v1/devices", headers=admin.headers,
                           json={"id": device_id, "name": "Cụm loa", "area_code": HOAN_KIEM})
    assert response.status_code == 201, response.text
    return response.json()["mqtt_password"]


def device(broker, device_id: str, password: str, timeout: float = 5.0) -> MqttProbe | None:
    """A connected device, retrying while the broker reloads; None when the broker refuses it."""
    deadline = time.monotonic() + timeout
    while True:
        probe = MqttProbe(broker, device_id, password, client_id=device_id)
        try:
            return probe.connect(timeout=3)
        except (TimeoutError, ConnectionError):
            probe.client.loop_stop()
            if time.monotonic() > deadline:
                return None
            time.sleep(0.1)


def refused(broker, device_id: str, password: str) -> bool:
    return device(broker, device_id, password, timeout=0) is None


def dropped(probe: MqttProbe, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while probe.disconnects == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    probe.client.loop_stop()
    return probe.disconnects > 0


def test_registered_device_connects_without_anyone_regenerating_the_config(synced):
    broker, container, client = synced
    admin = user(container, client, "admin", "admin", HANOI)
    probe = device(broker, "hk-0001", register(client, admin, "hk-0001"))
    assert probe is not None, "a newly registered device could not log in"
    probe.close()


def test_disabling_drops_the_live_connection_and_refuses_the_next(synced):
    broker, container, client = synced
    admin = user(container, client, "admin", "admin", HANOI)
    password = register(client, admin, "hk-0001")
    live = device(broker, "hk-0001", password)
    assert live is not None

    assert client.post("/api/v1/devices/hk-0001/disable", headers=admin.headers).status_code == 200
    assert dropped(live), "the disabled device kept its connection"
    assert refused(broker, "hk-0001", password)

    assert client.post("/api/v1/devices/hk-0001/enable", headers=admin.headers).status_code == 200
    again = device(broker, "hk-0001", password)
    assert again is not None, "the enabled device could not log in again"
    again.close()


def test_rotating_retires_the_old_password_at_once(synced):
    broker, container, client = synced
    admin = user(container, client, "admin", "admin", HANOI)
    old = register(client, admin, "hk-0001")
    live = device(broker, "hk-0001", old)
    assert live is not None

    response = client.post("/api/v1/devices/hk-0001/rotate-secret", headers=admin.headers)
    assert response.status_code == 200, response.text
    assert dropped(live), "a connection made with the old password survived the rotation"
    assert refused(broker, "hk-0001", old)
    new = device(broker, "hk-0001", response.json()["mqtt_password"])
    assert new is not None
    new.close()


def test_cli_disable_reaches_the_broker(synced, database_url, tmp_path):
    broker, container, client = synced
    admin = user(container, client, "admin", "admin", HANOI)
    password = register(client, admin, "hk-0001")
    live = device(broker, "hk-0001", password)
    assert live is not None
    env = {**os.environ, "LOAXA_DATA_DIR": str(tmp_path / "data"), "LOAXA_DATABASE_URL": database_url,
           "LOAXA_MQTT_CONFIG_DIR": str(broker.workdir), "LOAXA_MQTT_PID_FILE": str(broker.workdir / "mosquitto.pid")}
    result = subprocess.run([sys.executable, "-m", "broadcast", "devices", "disable", "hk-0001"], env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert dropped(live), "the device disabled from the command line kept its connection"
    assert refused(broker, "hk-0001", password)
