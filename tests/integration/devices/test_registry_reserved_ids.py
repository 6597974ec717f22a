"""Issue #11, finding 8: a device id can never be a server account or start like the server's client ids."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlalchemy import func, select

from broadcast.domain.devices import Device
from broadcast.persistence.models import DeviceRow
from broadcast.protocol.broker_config import hash_password
from broadcast.services.context import Actor
from broadcast.services.devices import import_devices
from tests.support.app import HANOI, HOAN_KIEM, user

pytestmark = pytest.mark.integration

RESERVED = ["loaxa-server", "server", "loaxa-server-main", "loaxa-scheduler"]


def devices(container) -> int:
    with container.engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(DeviceRow))


@pytest.mark.parametrize("device_id", RESERVED)
def test_api_refuses_a_reserved_device_id(container, client, device_id):
    admin = user(container, client, "admin", "admin", HANOI)
    response = client.post("/api/v1/devices", headers=admin.headers,
                           json={"id": device_id, "name": "Cụm loa", "area_code": HOAN_KIEM})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "reserved_device_id"
    assert device_id in error["message"] and "dành cho máy chủ" in error["message"]
    assert devices(container) == 0


def test_csv_import_refuses_reserved_rows_and_keeps_the_others(container):
    text = ("id,name,area_code\n"
            f"loaxa-server,Cụm loa 1,{HOAN_KIEM}\n"
            f"hk-0001,Cụm loa 2,{HOAN_KIEM}\n"
            f"server,Cụm loa 3,{HOAN_KIEM}\n")
    rows = import_devices(container.uow(), container.clock, Actor(None), text)
    assert [(r.device_id, r.ok) for r in rows] == [("loaxa-server", False), ("hk-0001", True), ("server", False)]
    assert "dành cho máy chủ" in rows[0].message
    assert devices(container) == 1


def test_mqtt_config_survives_a_reserved_id_registered_before_the_rule(container, database_url, tmp_path):
    with container.uow() as uow:  # straight into the repository, as an older release could have
        uow.devices.add(Device(id="loaxa-server", name="Cũ", commune_code=HOAN_KIEM, province_code=HANOI),
                        mqtt_password_hash=hash_password("old"), created_at=container.clock.now())
        uow.devices.add(Device(id="hk-0001", name="Cụm loa", commune_code=HOAN_KIEM, province_code=HANOI),
                        mqtt_password_hash=hash_password("pw"), created_at=container.clock.now())
        uow.commit()
    env = {**os.environ, "LOAXA_DATA_DIR": str(tmp_path / "data"), "LOAXA_DATABASE_URL": database_url,
           "LOAXA_MQTT_URL": "mqtt://loaxa-server:server-secret-123@127.0.0.1:1884"}
    out = tmp_path / "mosquitto"
    result = subprocess.run([sys.executable, "-m", "broadcast", "mqtt", "config", str(out)], env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "loaxa-server" in result.stdout + result.stderr  # named in the warning
    device_users = [line.split(":")[0] for line in (out / "passwd").read_text().splitlines()]
    assert device_users == ["hk-0001"]
