"""The deployed broker config (deploy/mosquitto/mosquitto.conf, started by deploy/mosquitto/run.sh as compose does)
really refuses anonymous clients, keeps devices and the server on their own listeners, and reloads by itself when
LoaXa rewrites the devices' password file.

Runs the real mosquitto with the repo's files and generated accounts; only container paths and the listeners are
rewritten to a temp dir and free loopback ports (never the system broker on 1883).
"""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from broadcast.adapters.broker_sync import BrokerSync
from broadcast.protocol.broker_config import write_broker_config

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
CONF = ROOT / "deploy" / "mosquitto" / "mosquitto.conf"
RUN = ROOT / "deploy" / "mosquitto" / "run.sh"
SBIN = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
DEVICE, DEVICE_PASSWORD = "hk-0001", "device-secret"


def _require(name: str) -> str:
    path = shutil.which(name, path=SBIN)
    if path is None:
        message = f"{name} not installed (apt-get install mosquitto mosquitto-clients)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Broker:
    port: int
    server_port: int
    password: str
    generated: Path


@pytest.fixture(scope="module")
def deployed_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    mosquitto = _require("mosquitto")
    _require("mosquitto_pub")
    tmp = tmp_path_factory.mktemp("mosquitto")
    (tmp / "data").mkdir()
    password = "s3cret-for-test"
    # What `loaxa mqtt config` writes (its own mosquitto.conf is not the one compose runs).
    write_broker_config(tmp / "generated", "loaxa/v1", "server", password, [(DEVICE, DEVICE_PASSWORD)])
    port, server_port = _free_port(), _free_port()
    text = CONF.read_text(encoding="utf-8")
    assert "listener 1883 0.0.0.0" in text and "listener 1884 0.0.0.0" in text
    text = (
        text.replace("/mosquitto/config/generated", str(tmp / "generated"))
        .replace("/mosquitto/data/", f"{tmp / 'data'}/")
        .replace("listener 1883 0.0.0.0", f"listener {port} 127.0.0.1")
        .replace("listener 1884 0.0.0.0", f"listener {server_port} 127.0.0.1")
    )
    # As root, mosquitto would switch to the `mosquitto` user, who cannot read pytest's tmp dir.
    text = f"user {getpass.getuser()}\n" + text
    (tmp / "mosquitto.conf").write_text(text)
    log = (tmp / "broker.log").open("wb")
    env = {**os.environ, "MOSQUITTO_BIN": mosquitto, "MOSQUITTO_CONF": str(tmp / "mosquitto.conf"),
           "MOSQUITTO_WATCH": str(tmp / "generated" / "passwd")}
    proc = subprocess.Popen(["sh", str(RUN)], stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 10
        for listening in (port, server_port):
            while True:
                assert proc.poll() is None, f"mosquitto exited: {(tmp / 'broker.log').read_text()}"
                try:
                    socket.create_connection(("127.0.0.1", listening), timeout=0.5).close()
                    break
                except OSError:
                    assert time.monotonic() < deadline, "mosquitto did not listen within 10 s"
                    time.sleep(0.02)
        yield Broker(port=port, server_port=server_port, password=password, generated=tmp / "generated")
    finally:
        proc.terminate()  # run.sh passes it on to mosquitto
        proc.wait(timeout=10)
        log.close()


def _publish(broker: Broker, *auth: str, port: int | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_require("mosquitto_pub"), "-h", "127.0.0.1", "-p", str(port or broker.port), "-q", "1",
         "-t", "loaxa/v1/healthcheck", "-m", "ok", *auth],
        capture_output=True, text=True, timeout=15, check=False,
    )  # fmt: skip


def test_infra_deployed_broker_refuses_anonymous(deployed_broker: Broker) -> None:
    for port in (deployed_broker.port, deployed_broker.server_port):
        result = _publish(deployed_broker, port=port)
        assert result.returncode != 0
        assert "not authori" in (result.stderr + result.stdout).lower()


def test_infra_deployed_broker_refuses_wrong_password(deployed_broker: Broker) -> None:
    assert _publish(deployed_broker, "-u", "server", "-P", "wrong", port=deployed_broker.server_port).returncode != 0


def test_infra_deployed_broker_accepts_generated_accounts_on_their_own_listeners(deployed_broker: Broker) -> None:
    server = ("-u", "server", "-P", deployed_broker.password)
    device = ("-u", DEVICE, "-P", DEVICE_PASSWORD, "-t", f"loaxa/v1/devices/{DEVICE}/status")
    result = _publish(deployed_broker, *server, port=deployed_broker.server_port)
    assert result.returncode == 0, result.stderr
    assert _publish(deployed_broker, *device).returncode == 0
    assert _publish(deployed_broker, *server).returncode != 0  # not on the devices' listener
    assert _publish(deployed_broker, *device, port=deployed_broker.server_port).returncode != 0


def test_infra_deployed_broker_reloads_when_loaxa_rewrites_the_device_accounts(deployed_broker: Broker) -> None:
    subscriber = subprocess.Popen(  # a connected device that LoaXa then disables
        [_require("mosquitto_sub"), "-h", "127.0.0.1", "-p", str(deployed_broker.port), "-u", DEVICE, "-P",
         DEVICE_PASSWORD, "-i", DEVICE, "-t", f"loaxa/v1/devices/{DEVICE}/command"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        time.sleep(0.5)
        assert subscriber.poll() is None, subscriber.stdout.read() if subscriber.stdout else ""
        BrokerSync(deployed_broker.generated).apply(lambda: [])  # no pid file: run.sh notices the new file
        subscriber.wait(timeout=10)  # mosquitto_sub exits when the broker drops it
    finally:
        subscriber.kill()
    device = ("-u", DEVICE, "-P", DEVICE_PASSWORD, "-t", f"loaxa/v1/devices/{DEVICE}/status")
    assert _publish(deployed_broker, *device).returncode != 0
