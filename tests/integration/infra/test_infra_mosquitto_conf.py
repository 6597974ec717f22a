"""The deployed broker config (deploy/mosquitto/mosquitto.conf) really refuses anonymous clients.

Runs the real mosquitto with the repo's file; only container paths and the listener are
rewritten to a temp dir and a free loopback port (never the system broker on 1883).
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

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
CONF = ROOT / "deploy" / "mosquitto" / "mosquitto.conf"
SBIN = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])


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
    password: str


@pytest.fixture(scope="module")
def deployed_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    mosquitto, passwd_tool = _require("mosquitto"), _require("mosquitto_passwd")
    _require("mosquitto_pub")
    tmp = tmp_path_factory.mktemp("mosquitto")
    (tmp / "generated").mkdir()
    (tmp / "data").mkdir()
    password = "s3cret-for-test"
    subprocess.run([passwd_tool, "-b", "-c", str(tmp / "generated" / "passwd"), "server", password], check=True)
    (tmp / "generated" / "passwd").chmod(0o600)
    (tmp / "generated" / "acl").write_text("user server\ntopic readwrite loaxa/v1/#\n")
    port = _free_port()
    text = CONF.read_text(encoding="utf-8")
    assert "listener 1883 0.0.0.0" in text
    text = (
        text.replace("/mosquitto/config/generated", str(tmp / "generated"))
        .replace("/mosquitto/data/", f"{tmp / 'data'}/")
        .replace("listener 1883 0.0.0.0", f"listener {port} 127.0.0.1")
    )
    # As root, mosquitto would switch to the `mosquitto` user, who cannot read pytest's tmp dir.
    text += f"\nuser {getpass.getuser()}\n"
    (tmp / "mosquitto.conf").write_text(text)
    log = (tmp / "broker.log").open("wb")
    proc = subprocess.Popen([mosquitto, "-c", str(tmp / "mosquitto.conf")], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while True:
            assert proc.poll() is None, f"mosquitto exited: {(tmp / 'broker.log').read_text()}"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "mosquitto did not listen within 10 s"
                time.sleep(0.02)
        yield Broker(port=port, password=password)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


def _publish(broker: Broker, *auth: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_require("mosquitto_pub"), "-h", "127.0.0.1", "-p", str(broker.port), "-q", "1",
         "-t", "loaxa/v1/healthcheck", "-m", "ok", *auth],
        capture_output=True, text=True, timeout=15, check=False,
    )  # fmt: skip


def test_infra_deployed_broker_refuses_anonymous(deployed_broker: Broker) -> None:
    result = _publish(deployed_broker)
    assert result.returncode != 0
    assert "not authori" in (result.stderr + result.stdout).lower()


def test_infra_deployed_broker_refuses_wrong_password(deployed_broker: Broker) -> None:
    assert _publish(deployed_broker, "-u", "server", "-P", "wrong").returncode != 0


def test_infra_deployed_broker_accepts_generated_account(deployed_broker: Broker) -> None:
    result = _publish(deployed_broker, "-u", "server", "-P", deployed_broker.password)
    assert result.returncode == 0, result.stderr
