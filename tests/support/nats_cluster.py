"""A private 3-node nats-server cluster per test: real binary, free loopback ports, configuration written by
the project's own `write_nats_config` (accounts, per-device users, the ACL's permissions), JetStream stores
in the test's temp dir.

Ready means every node answers `/healthz` (JetStream current), the JetStream meta group has a leader with
all peers, and the server account can open an MQTT session on every node (the first one creates the
replicated `$MQTT_*` streams). `kill(name)` is kill -9: no clean shutdown, JetStream's other replicas take
over. A missing nats-server fails under CI=true and skips elsewhere, like the mosquitto fixture.

Use from a test:  ``from tests.support.nats_cluster import nats_cluster_factory  # noqa: F401``
"""
from __future__ import annotations

import json
import secrets
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from broadcast.protocol import DEFAULT_PREFIX
from broadcast.protocol.nats_config import NatsNode, client_id_mismatches, write_nats_config
from tests.support import required
from tests.support.broker import SERVER_USER, free_port, raise_nofile_limit

READY_TIMEOUT_S = 30.0
TEST_BCRYPT_COST = 4  # the minimum: a test hashes one password per device


missing = partial(required.missing, "nats-server")


def nats_binary() -> str:
    return required.system_binary("nats-server", package="nats-server")


@dataclass
class NodeProcess:
    """One cluster member and its process."""

    node: NatsNode
    conf_path: Path
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def name(self) -> str:
        return self.node.name

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def mqtt_address(self) -> tuple[str, int]:
        return self.node.host, self.node.mqtt_port

    def monitor(self, path: str, timeout: float = 2.0) -> Any:
        """GET a monitoring endpoint (`/healthz`, `/jsz`, `/connz?auth=true`) and return its JSON."""
        url = f"http://{self.node.host}:{self.node.http_port}{path}"
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - loopback only
            return json.loads(response.read())

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@dataclass
class NatsCluster:
    """A running private cluster; devices and the server log in with the credentials it was written with."""

    nodes: list[NodeProcess]
    binary: str
    prefix: str = DEFAULT_PREFIX
    server_user: str = SERVER_USER
    server_password: str = ""
    credentials: dict[str, str] = field(default_factory=dict)  # device id -> password

    def node(self, name: str) -> NodeProcess:
        return next(n for n in self.nodes if n.name == name)

    @property
    def alive(self) -> list[NodeProcess]:
        return [n for n in self.nodes if n.running]

    @property
    def device_url(self) -> str:
        """`loaxa sim --broker`: every node's MQTT listener, comma-separated."""
        return ",".join(f"mqtt://{n.node.host}:{n.node.mqtt_port}" for n in self.nodes)

    def server_url(self, first: str | None = None) -> str:
        """LOAXA_MQTT_URL of the server account listing every node, `first` (a node name) first."""
        order = sorted(self.nodes, key=lambda n: n.name != first) if first else self.nodes
        urls = [f"mqtt://{n.node.host}:{n.node.mqtt_port}" for n in order]
        head = urls[0].replace("mqtt://", f"mqtt://{self.server_user}:{self.server_password}@", 1)
        return ",".join([head, *urls[1:]])

    # ---- processes -------------------------------------------------------

    def start(self) -> None:
        for node in self.nodes:
            self._spawn(node)
        self.wait_ready()

    def _spawn(self, node: NodeProcess) -> None:
        if node.running:
            return
        log = open(node.log_path, "ab")
        try:
            node.proc = subprocess.Popen([self.binary, "-c", str(node.conf_path)], stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=subprocess.STDOUT, preexec_fn=raise_nofile_limit)
        finally:
            log.close()

    def kill(self, name: str) -> None:
        """kill -9 one node: no clean shutdown, its JetStream replicas elsewhere take over."""
        self._stop(self.node(name), signal.SIGKILL)

    def stop(self) -> None:
        for node in self.nodes:
            self._stop(node, signal.SIGKILL)

    @staticmethod
    def _stop(node: NodeProcess, sig: int) -> None:
        proc, node.proc = node.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(sig)
        proc.wait(timeout=10)

    # ---- readiness -------------------------------------------------------

    def wait_ready(self, timeout: float = READY_TIMEOUT_S) -> None:
        """Until every running node is healthy with JetStream current and the meta group has all peers current, then
        until the server account can open an MQTT session on each (which creates the MQTT streams)."""
        deadline = time.monotonic() + timeout
        waiting = "nothing yet"
        while time.monotonic() < deadline:
            for node in self.nodes:
                if node.proc is not None and node.proc.poll() is not None:
                    raise RuntimeError(f"nats-server {node.name} exited with {node.proc.returncode}:\n"
                                       f"{node.log_tail()}")
            waiting = self._not_ready()
            if not waiting:
                break
            time.sleep(0.1)
        else:
            raise RuntimeError(f"NATS cluster not ready after {timeout}s ({waiting})\n"
                               + "\n".join(f"--- {n.name}\n{n.log_tail(10)}" for n in self.nodes))
        for node in self.alive:
            self._mqtt_session(node, deadline)

    def _not_ready(self) -> str:
        alive = self.alive
        for node in alive:
            try:
                if node.monitor("/healthz").get("status") != "ok":
                    return f"{node.name} not healthy"
                meta = node.monitor("/jsz").get("meta_cluster") or {}
            except (OSError, urllib.error.URLError, ValueError):
                return f"{node.name} not answering"
            if not meta.get("leader"):
                return f"{node.name} sees no JetStream meta leader"
            if (meta.get("cluster_size") or 0) < len(self.nodes):
                return f"{node.name} sees a JetStream group of {meta.get('cluster_size')}, not {len(self.nodes)}"
            if meta.get("leader") == node.name and not all(r.get("current") for r in meta.get("replicas") or []):
                return f"{node.name} leads JetStream with peers not current"
        return ""

    def _mqtt_session(self, node: NodeProcess, deadline: float) -> None:
        """Connect, subscribe QoS 1 and disconnect as the server account (a throwaway client id)."""
        import paho.mqtt.client as mqtt

        while True:
            client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"ready-{secrets.token_hex(4)}",
                                 protocol=mqtt.MQTTv311)
            client.username_pw_set(self.server_user, self.server_password)
            try:
                client.connect(*node.mqtt_address, keepalive=10)
                client.loop_start()
                info = client.subscribe(f"{self.prefix}/ready-probe", qos=1)
                ok = info[0] == mqtt.MQTT_ERR_SUCCESS and _wait(client.is_connected, deadline)
                published = client.publish(f"{self.prefix}/ready-probe", b"", qos=1)
                published.wait_for_publish(max(0.1, deadline - time.monotonic()))
                if ok and published.is_published():
                    return
            except (OSError, RuntimeError, ValueError):
                pass  # the node is not ready yet: probe again until the deadline
            finally:
                client.disconnect()
                client.loop_stop()
            if time.monotonic() > deadline:
                raise RuntimeError(f"no MQTT session on {node.name}\n{node.log_tail()}")
            time.sleep(0.2)

    # ---- what the nodes say ----------------------------------------------

    def connections(self) -> dict[str, list[dict[str, Any]]]:
        """`/connz?auth=true` of each running node, by node name."""
        return {n.name: n.monitor("/connz?auth=true&limit=100000").get("connections") or [] for n in self.alive}

    def node_of(self, mqtt_client_id: str) -> str | None:
        """The node an MQTT client id is connected to now, if any."""
        for name, conns in self.connections().items():
            if any(c.get("mqtt_client") == mqtt_client_id for c in conns):
                return name
        return None

    def subscribed(self, minimum: int, timeout: float = 2.0) -> set[str]:
        """MQTT client ids whose connection holds at least `minimum` subscriptions now (SUBACK comes before nats-server
        lists them on every node's view, so a test waits for this before publishing to fresh subscribers)."""
        return {c["mqtt_client"] for n in self.alive
                for c in n.monitor("/connz?subs=1&limit=100000", timeout).get("connections") or []
                if c.get("mqtt_client") and len(c.get("subscriptions_list") or []) >= minimum}

    def client_id_mismatches(self) -> list[tuple[str, str]]:
        """Device connections whose client id is not their username, over every running node."""
        return [m for conns in self.connections().values()
                for m in client_id_mismatches({"connections": conns}, self.server_user)]


def _wait(predicate: Callable[[], bool], deadline: float) -> bool:
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def start_nats_cluster(workdir: Path, *, devices: Sequence[tuple[str, str]] = (), size: int = 3,
                       prefix: str = DEFAULT_PREFIX, host: str = "127.0.0.1") -> NatsCluster:
    """Write the cluster's configuration with the project's own writer and start every node."""
    binary = nats_binary()
    workdir.mkdir(parents=True, exist_ok=True)
    nodes = [NatsNode(f"n{i + 1}", host, free_port(host), free_port(host), free_port(host),
                      workdir / "jetstream" / f"n{i + 1}", http_port=free_port(host)) for i in range(size)]
    server_password = secrets.token_urlsafe(16)
    paths = write_nats_config(workdir / "conf", prefix, SERVER_USER, server_password, nodes, devices=devices,
                              cost=TEST_BCRYPT_COST)
    members = [NodeProcess(node, path, workdir / f"{node.name}.log") for node, path in zip(nodes, paths, strict=True)]
    cluster = NatsCluster(members, binary, prefix, SERVER_USER, server_password, dict(devices))
    try:
        cluster.start()
    except BaseException:
        cluster.stop()
        raise
    return cluster


@pytest.fixture
def nats_cluster_factory(tmp_path: Path) -> Iterator[Callable[..., NatsCluster]]:
    """Yield `make(devices=[(id, pw)], size=3, prefix=...) -> NatsCluster`; every node killed at teardown."""
    started: list[NatsCluster] = []

    def make(**kwargs: Any) -> NatsCluster:
        cluster = start_nats_cluster(tmp_path / f"nats{len(started)}", **kwargs)
        started.append(cluster)
        return cluster

    yield make
    for cluster in started:
        cluster.stop()
