"""Issue #11, finding 17: what `loaxa mqtt config` writes runs on Debian's mosquitto (user `mosquitto`), listens
on loopback unless told otherwise, and offers TLS; the server (mqtts:// + LOAXA_MQTT_CA_FILE) and the simulator
(`loaxa sim --ca-file`) use it. Real mosquitto, certificates made here."""
from __future__ import annotations

import datetime as dt
import grp
import ipaddress
import os
import secrets
import shutil
import ssl
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from typer.testing import CliRunner

from broadcast import protocol as p
from broadcast.adapters.metrics import Metrics
from broadcast.devices.gateway import MqttGateway
from broadcast.protocol.broker_config import TlsListener, write_broker_config
from broadcast.services.context import Actor
from broadcast.services.devices import DeviceSpec, register_device
from broadcast.settings import load_settings
from device_sim.cli import app as sim_app
from tests.support.app import HOAN_KIEM
from tests.support.broker import SERVER_USER, Broker, MqttProbe, free_port, mosquitto_binary

pytestmark = pytest.mark.integration


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_pki(directory: Path, *, hosts: tuple[str, ...] = ("127.0.0.1", "localhost")) -> dict[str, Path]:
    """A CA and a broker certificate it signed, as PEM files."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(_name("LoaXa test CA")).issuer_name(_name("LoaXa test CA"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    names = [x509.IPAddress(ipaddress.ip_address(h)) if h[0].isdigit() else x509.DNSName(h) for h in hosts]
    cert = (x509.CertificateBuilder().subject_name(_name(hosts[-1])).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .sign(ca_key, hashes.SHA256()))
    files = {"ca": directory / "ca.pem", "cert": directory / "broker.pem", "key": directory / "broker.key"}
    files["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files["cert"].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files["key"].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
    return files


def broker_group() -> grp.struct_group | None:
    try:
        return grp.getgrnam("mosquitto")
    except KeyError:
        return None


@pytest.fixture
def shared_dir():
    """A directory Debian's `mosquitto` user can enter (pytest's own temp dirs are private to root)."""
    path = Path(tempfile.mkdtemp(prefix="loaxa-broker-"))
    group = broker_group()
    if group is not None and os.geteuid() == 0:
        os.chown(path, 0, group.gr_gid)
    path.chmod(0o750)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_cli_output_runs_as_the_brokers_own_user_on_loopback_with_tls(container, database_url, shared_dir):
    password = register_device(container.uow(), container.clock, Actor(None),
                               DeviceSpec(id="hk-0001", name="Cụm loa", area_code=HOAN_KIEM)).mqtt_password
    pki = make_pki(shared_dir)
    group = broker_group()
    if group is not None and os.geteuid() == 0:  # the operator's job: the broker's user reads its own key
        os.chown(pki["key"], 0, group.gr_gid)
    pki["key"].chmod(0o640)
    port, server_port, tls_port = free_port(), free_port(), free_port()
    out = shared_dir / "loaxa"
    env = {**os.environ, "LOAXA_DATA_DIR": str(shared_dir / "data"), "LOAXA_DATABASE_URL": database_url,
           "LOAXA_MQTT_URL": f"mqtt://{SERVER_USER}:server-secret-123@127.0.0.1:{server_port}"}
    result = subprocess.run(
        [sys.executable, "-m", "broadcast", "mqtt", "config", str(out), "--port", str(port), "--server-port",
         str(server_port), "--tls-cert", str(pki["cert"]), "--tls-key", str(pki["key"]), "--tls-port", str(tls_port)],
        env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr

    conf = (out / "mosquitto.conf").read_text()
    assert f"listener {port} 127.0.0.1" in conf and f"listener {tls_port} 127.0.0.1" in conf
    assert "0.0.0.0" not in conf
    for name in ("passwd", "server_passwd", "acl", "mosquitto.conf"):
        info = (out / name).stat()
        assert stat.S_IMODE(info.st_mode) == 0o640, name
        if group is not None and os.geteuid() == 0:
            assert info.st_gid == group.gr_gid, name

    # No `user root` here: started as root, mosquitto switches to its own user, as Debian's service does.
    broker = Broker("127.0.0.1", port, out / "mosquitto.conf", shared_dir, mosquitto_binary(), server_user=SERVER_USER,
                    server_password="server-secret-123", server_port=server_port)
    broker.start()
    try:
        device = MqttProbe(broker, "hk-0001", password, client_id="hk-0001")
        device.connect(timeout=5).close()
        MqttProbe.as_server(broker).connect(timeout=5).close()
        secure = MqttProbe(broker, "hk-0001", password, client_id="hk-0001", port=tls_port)
        secure.client.tls_set(ca_certs=str(pki["ca"]))
        secure.connect(timeout=5).close()
    finally:
        broker.kill()


def test_server_and_simulator_speak_mqtts_with_their_ca_file(tmp_path, signing_key):
    pki = make_pki(tmp_path)
    port, server_port, tls_port = free_port(), free_port(), free_port()
    server_password = secrets.token_urlsafe(16)
    device_id = "tls-dev-001"
    conf = write_broker_config(
        tmp_path / "broker", p.DEFAULT_PREFIX, SERVER_USER, server_password, [(device_id, "pw-tls")], "127.0.0.1",
        port, server_port=server_port, server_tls=True, tls=TlsListener(pki["cert"], pki["key"], tls_port),
        run_as_user="root" if os.geteuid() == 0 else None)
    broker = Broker("127.0.0.1", port, conf, tmp_path / "broker", mosquitto_binary(), server_user=SERVER_USER,
                    server_password=server_password, server_port=server_port)
    broker.start()
    gateway = None
    try:
        settings = load_settings(data_dir=tmp_path / "data", mqtt_ca_file=pki["ca"],
                                 mqtt_url=f"mqtts://{SERVER_USER}:{server_password}@127.0.0.1:{server_port}")
        assert settings.mqtt.tls
        gateway = MqttGateway.from_settings(settings, inbox=None, metrics=Metrics())  # type: ignore[arg-type]
        gateway.start()
        assert gateway.wait_connected(10), "the server could not connect over TLS with LOAXA_MQTT_CA_FILE"
        watcher = MqttProbe.as_server(broker)
        watcher.client.tls_set(ca_certs=str(pki["ca"]))
        watcher.connect()
        watcher.subscribe(p.Topics().all_status)

        creds = tmp_path / "creds.csv"
        creds.write_text(f"device_id,password\n{device_id},pw-tls\n")
        result = CliRunner().invoke(sim_app, [
            "--broker", f"mqtts://127.0.0.1:{tls_port}", "--ca-file", str(pki["ca"]), "--credentials", str(creds),
            "--public-key", p.public_key_b64(signing_key), "--duration", "2", "--no-live"])
        assert result.exit_code == 0, result.output
        watcher.wait_for(lambda ms: any(b'"online":true' in m[1] for m in ms), timeout=5)
        watcher.close()

        (tmp_path / "other").mkdir()
        other = make_pki(tmp_path / "other")
        stranger = MqttProbe(broker, device_id, "pw-tls", client_id=device_id, port=tls_port)
        stranger.client.tls_set(ca_certs=str(other["ca"]))  # a broker this CA never signed: refused
        with pytest.raises(ssl.SSLError):
            stranger.connect(timeout=5)
    finally:
        if gateway is not None:
            gateway.stop()
        broker.kill()
