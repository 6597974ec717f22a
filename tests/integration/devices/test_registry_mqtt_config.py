"""`loaxa mqtt config` writes a broker setup from the registry that real mosquitto runs with: devices log in with
their secret (only their own topics) on their listener, the server on its own; disabled devices and anonymous
clients cannot."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from broadcast.services.context import Actor
from broadcast.services.devices import DeviceSpec, register_device, set_disabled
from tests.support.app import HOAN_KIEM, make_container
from tests.support.broker import Broker, MqttProbe, can_connect, free_port, mosquitto_binary

pytestmark = pytest.mark.integration




def test_generated_broker_config_admits_only_registered_devices(tmp_path):
    url = f"sqlite:///{tmp_path / 'reg.db'}"
    env = {**os.environ, "LOAXA_DATA_DIR": str(tmp_path / "data"), "LOAXA_DATABASE_URL": url,
           "LOAXA_MQTT_URL": "mqtt://loaxa-server:server-secret-123@127.0.0.1:1884"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "broadcast", *args], env=env, capture_output=True, text=True,
                              timeout=120)

    assert run("db", "upgrade").returncode == 0
    assert run("areas", "seed", "--province", "01").returncode == 0
    container = make_container(tmp_path, url)
    secrets = {d: register_device(container.uow(), container.clock, Actor(None),
                                  DeviceSpec(id=d, name=d, area_code=HOAN_KIEM)).mqtt_password
               for d in ("hk-0001", "hk-0002")}
    set_disabled(container.uow(), container.clock, Actor(None), "hk-0002", True)
    container.close()

    port, server_port = free_port(), free_port()
    outdir = tmp_path / "mosquitto"
    result = run("mqtt", "config", str(outdir), "--port", str(port), "--server-port", str(server_port))
    assert result.returncode == 0, result.stderr
    assert "1 thiết bị" in result.stdout
    passwd = (outdir / "passwd").read_text()
    assert secrets["hk-0001"] not in passwd and "hk-0002" not in passwd and "loaxa-server" not in passwd
    assert (outdir / "server_passwd").read_text().startswith("loaxa-server:$7$")
    conf = (outdir / "mosquitto.conf").read_text()
    assert "allow_anonymous false" in conf
    if os.geteuid() == 0:  # mosquitto drops to its own user otherwise and cannot read pytest's temp dir
        (outdir / "mosquitto.conf").write_text(conf + "user root\n")

    broker = Broker("127.0.0.1", port, outdir / "mosquitto.conf", outdir, mosquitto_binary(),
                    server_user="loaxa-server", server_password="server-secret-123", server_port=server_port)
    broker.start()
    try:
        assert can_connect(broker, "hk-0001", secrets["hk-0001"])
        assert can_connect(broker, "loaxa-server", "server-secret-123", server_port)
        assert not can_connect(broker, "hk-0001", "wrong-password")
        assert not can_connect(broker, "hk-0002", secrets["hk-0002"])  # disabled
        assert not can_connect(broker, None, None)  # anonymous

        server = MqttProbe.as_server(broker).connect()
        server.subscribe("loaxa/v1/#")
        device = MqttProbe(broker, username="hk-0001", password=secrets["hk-0001"], client_id="hk-0001").connect()
        device.publish("loaxa/v1/devices/hk-0001/status", b'{"type":"status"}')
        device.publish("loaxa/v1/devices/hk-0002/ack", b'{"forged":true}')  # another device's topic
        server.wait_for(lambda msgs: any(t.endswith("hk-0001/status") for t, _, _ in msgs), timeout=5)
        assert not any("hk-0002" in t for t, _, _ in server.snapshot())
        device.close()
        server.close()
    finally:
        broker.kill()

    missing = run("mqtt", "config", str(tmp_path / "x"))
    assert missing.returncode == 0  # the server account comes from LOAXA_MQTT_URL
    no_account = subprocess.run([sys.executable, "-m", "broadcast", "mqtt", "config", str(tmp_path / "y")],
                                env={**env, "LOAXA_MQTT_URL": "mqtt://127.0.0.1:1883"}, capture_output=True,
                                text=True, timeout=60)
    assert no_account.returncode == 2 and "LOAXA_MQTT_URL" in no_account.stderr
