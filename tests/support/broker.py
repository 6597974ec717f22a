"""A private mosquitto per test: real binary, free loopback port, generated config.

Never the machine's broker on 1883. The config comes from
broadcast.protocol.broker_config (accounts + protocol ACL) or is anonymous.
Readiness is polled (TCP accept), the broker is killed at teardown, and it
can be restarted on the same port for "broker dies" tests.

Use from a conftest:  ``from tests.support.broker import broker_factory  # noqa: F401``
"""

from __future__ import annotations

import os
import resource
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import pytest

from broadcast.protocol import DEFAULT_PREFIX
from broadcast.protocol.broker_config import write_anonymous_config, write_broker_config
from tests.support import required

READY_TIMEOUT_S = 15.0
SERVER_USER = "loaxa-server"


missing = partial(required.missing, "mosquitto")


def mosquitto_binary() -> str:
    return required.system_binary("mosquitto", package="mosquitto")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def raise_nofile_limit() -> int:
    """Lift the soft fd limit to the hard one (10k clients need 10k fds)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = 1 << 20
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


@dataclass
class Broker:
    """A running private mosquitto."""

    host: str
    port: int
    conf_path: Path
    workdir: Path
    binary: str
    prefix: str = DEFAULT_PREFIX
    server_user: str | None = None
    server_password: str | None = None
    credentials: dict[str, str] = field(default_factory=dict)  # device id -> password
    proc: subprocess.Popen[bytes] | None = None
    server_port: int | None = None  # the server accounts' own listener; None: the same as `port`

    @property
    def url(self) -> str:
        """Where devices connect."""
        return f"mqtt://{self.host}:{self.port}"

    @property
    def server_listener_port(self) -> int:
        return self.server_port or self.port

    @property
    def server_url(self) -> str:
        """LOAXA_MQTT_URL of the server account."""
        return f"mqtt://{self.server_user}:{self.server_password}@{self.host}:{self.server_listener_port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / "mosquitto.log"

    def start(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            return
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(
                [self.binary, "-c", str(self.conf_path)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                preexec_fn=raise_nofile_limit,  # mosquitto inherits the fd limit
            )
        finally:
            log.close()
        self.wait_ready()

    def wait_ready(self, timeout: float = READY_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        waiting = sorted({self.port, self.server_listener_port})
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"mosquitto exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                with socket.create_connection((self.host, waiting[0]), timeout=0.5):
                    waiting.pop(0)
                    if not waiting:
                        return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"mosquitto not accepting on {self.host}:{waiting} after {timeout}s\n{self.log_tail()}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop it (SIGKILL simulates a crash: no clean shutdown, no save)."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(sig)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def restart(self) -> None:
        self.stop()
        self.start()

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def start_broker(
    workdir: Path,
    *,
    devices: Sequence[tuple[str, str]] | None = None,
    prefix: str = DEFAULT_PREFIX,
    server_password: str | None = None,
    persistence: bool = False,
    host: str = "127.0.0.1",
) -> Broker:
    """Start a broker. devices=None: anonymous, no ACL. Otherwise accounts + ACL, devices on `port` and the
    server account on `server_port` (see `Broker.server_url`), pid in workdir/mosquitto.pid."""
    binary = mosquitto_binary()
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port(host)
    # As root, mosquitto would switch to user `mosquitto` and lose access to
    # pytest's private temp dirs.
    run_as = "root" if os.geteuid() == 0 else None
    if devices is None:
        conf = write_anonymous_config(workdir, host, port, run_as_user=run_as)
        broker = Broker(host, port, conf, workdir, binary, prefix)
    else:
        server_password = server_password or secrets.token_urlsafe(16)
        server_port = free_port(host)
        conf = write_broker_config(
            workdir, prefix, SERVER_USER, server_password, list(devices), host, port,
            workdir / "data" if persistence else None, run_as_user=run_as, server_host=host,
            server_port=server_port, pid_file=workdir / "mosquitto.pid",
        )
        broker = Broker(host, port, conf, workdir, binary, prefix, SERVER_USER, server_password, dict(devices),
                        server_port=server_port)
    broker.start()
    return broker


@pytest.fixture
def broker_factory(tmp_path: Path) -> Iterator[Callable[..., Broker]]:
    """Yield `make(devices=None|[(id, pw)], prefix=..., persistence=False) -> Broker`; all stopped at teardown."""
    started: list[Broker] = []

    def make(**kwargs: object) -> Broker:
        broker = start_broker(tmp_path / f"broker{len(started)}", **kwargs)  # type: ignore[arg-type]
        started.append(broker)
        return broker

    yield make
    for broker in started:
        broker.kill()


@pytest.fixture
def anon_broker(broker_factory: Callable[..., Broker]) -> Broker:
    return broker_factory()


class MqttProbe:
    """A plain paho client (own network thread) for tests to watch and poke the broker."""

    def __init__(self, broker: Broker, username: str | None = None, password: str | None = None,
                 client_id: str | None = None, *, port: int | None = None) -> None:
        import threading

        import paho.mqtt.client as mqtt

        self._lock = threading.Lock()
        self.messages: list[tuple[str, bytes, bool]] = []  # (topic, payload, retain)
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                                  client_id=client_id or f"probe-{secrets.token_hex(4)}",
                                  protocol=mqtt.MQTTv311)
        if username is not None:
            self.client.username_pw_set(username, password)
        self._connected = threading.Event()
        self._rc: object = None
        self.disconnects = 0  # links the broker (or the network) closed
        self.port = port or broker.port

        def on_connect(client, userdata, flags, reason_code, properties):  # noqa: ANN001
            self._rc = reason_code
            self._connected.set()

        def on_message(client, userdata, msg):  # noqa: ANN001
            with self._lock:
                self.messages.append((msg.topic, bytes(msg.payload), bool(msg.retain)))

        def on_disconnect(client, userdata, flags, reason_code, properties):  # noqa: ANN001
            self.disconnects += 1

        self.client.on_connect = on_connect
        self.client.on_message = on_message
        self.client.on_disconnect = on_disconnect
        self.broker = broker

    @classmethod
    def as_server(cls, broker: Broker, client_id: str | None = None) -> MqttProbe:
        return cls(broker, broker.server_user, broker.server_password, client_id, port=broker.server_listener_port)

    def connect(self, timeout: float = 10.0) -> MqttProbe:
        self.client.connect(self.broker.host, self.port, keepalive=30)
        self.client.loop_start()
        if not self._connected.wait(timeout):
            raise TimeoutError("probe did not get CONNACK")
        if getattr(self._rc, "is_failure", False):
            raise ConnectionError(f"probe refused: {self._rc}")
        return self

    def subscribe(self, topic: str, qos: int = 1) -> None:
        done = __import__("threading").Event()
        self.client.on_subscribe = lambda *a: done.set()
        self.client.subscribe(topic, qos)
        if not done.wait(10):
            raise TimeoutError(f"no SUBACK for {topic}")

    def publish(self, topic: str, payload: bytes | str, *, retain: bool = False, qos: int = 1) -> None:
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        info.wait_for_publish(timeout=10)

    def snapshot(self, topic_filter: Callable[[str], bool] | None = None) -> list[tuple[str, bytes, bool]]:
        with self._lock:
            msgs = list(self.messages)
        return [m for m in msgs if topic_filter is None or topic_filter(m[0])]

    def wait_for(self, predicate: Callable[[list[tuple[str, bytes, bool]]], bool], timeout: float = 10.0) -> list:
        deadline = time.monotonic() + timeout
        while True:
            msgs = self.snapshot()
            if predicate(msgs):
                return msgs
            if time.monotonic() > deadline:
                raise TimeoutError(f"condition not met in {timeout}s; {len(msgs)} messages seen")
            time.sleep(0.02)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def can_connect(broker: Broker, username: str | None, password: str | None, port: int | None = None,
                client_id: str | None = None) -> bool:
    """Whether the broker admits these credentials on `port` (default: the device listener)."""
    probe = MqttProbe(broker, username=username, password=password, client_id=client_id or username or "anonymous-x",
                      port=port)
    try:
        probe.connect(timeout=3)
    except (TimeoutError, ConnectionError):
        probe.client.loop_stop()
        return False
    probe.close()
    return True
