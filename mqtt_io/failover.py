"""Several broker addresses (the nodes of a cluster): after a lost or failed connection, the next one.

paho keeps one host and port and reconnects to them with its own backoff; `rotate_on_reconnect` makes each
reconnect after the first connect go to the next address, keeping that backoff. With one address nothing
changes. paho's `host`/`port` setters refuse while a reconnect is under way (the state is already
"connecting" in on_pre_connect), so the private fields are set; mqtt_io.client_factory lists them among
the hooked attributes its test checks against the installed paho.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

import paho.mqtt.client as mqtt

log = logging.getLogger(__name__)


class BrokerRotation:
    """Addresses tried in turn, starting at `start` (so a fleet can spread over the nodes)."""

    def __init__(self, addresses: Sequence[tuple[str, int]], start: int = 0) -> None:
        if not addresses:
            raise ValueError("at least one broker address is needed")
        self.addresses = tuple(addresses)
        self._index = start % len(self.addresses)
        self._lock = threading.Lock()

    @property
    def current(self) -> tuple[str, int]:
        return self.addresses[self._index]

    def advance(self) -> tuple[str, int]:
        """Move to the next address and return it."""
        with self._lock:
            self._index = (self._index + 1) % len(self.addresses)
            return self.addresses[self._index]


def rotate_on_reconnect(client: mqtt.Client, rotation: BrokerRotation) -> None:
    """Before every connection attempt but the first, point `client` at the next address."""
    if len(rotation.addresses) == 1:
        return
    first = [True]

    def on_pre_connect(c: mqtt.Client, _userdata: Any) -> None:
        if first[0]:
            first[0] = False
            return
        host, port = rotation.advance()
        c._host, c._port = host, port  # noqa: SLF001 - see the module docstring
        log.info("Thử máy chủ MQTT tiếp theo: %s:%s", host, port)

    client.on_pre_connect = on_pre_connect
