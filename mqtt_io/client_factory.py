"""Which paho client to build: the buffered one when the installed paho-mqtt is a version its private hooks
were written and tested for, paho's plain client otherwise.

BufferedClient and PresockClient override and call private methods of paho's `Client`, which a paho
release may rename, re-sign or give another meaning without notice. So they are used only when the
installed paho-mqtt is in TESTED_PAHO_VERSIONS and every hooked method and attribute is there with the
signature it was written against. Otherwise the server and the simulator get paho's own client, and the
log says why once: slower under a fleet's bursts (one system call per packet each way), never wrong.

tests/unit/mqtt_io/test_paho_hooks.py compares these lists with the installed paho and with the classes,
so upgrading paho-mqtt fails it loudly until someone has re-read the hooks against the new version and
added the version here.
"""
from __future__ import annotations

import functools
import inspect
import logging
from typing import Any, TypeGuard

import paho.mqtt
import paho.mqtt.client as mqtt

from mqtt_io.buffered_socket import BufferedClient, PresockClient

log = logging.getLogger(__name__)

# paho-mqtt versions the hooks were written and tested for (pyproject pins the first).
TESTED_PAHO_VERSIONS: tuple[str, ...] = ("2.2.0",)

# Every method of paho's Client that BufferedClient or PresockClient overrides or calls beyond paho's public
# API, with its signature (`str(inspect.signature(...))`) in the tested versions.
HOOKED_METHODS: dict[str, str] = {
    "_create_socket": "(self) -> 'SocketLike'",
    "_create_socket_connection": "(self) -> '_socket.socket'",
    "_packet_write": "(self) -> 'MQTTErrorCode'",
    "_packet_queue": "(self, command: 'int', packet: 'bytes | bytearray', mid: 'int', qos: 'int', "
                     "info: 'MQTTMessageInfo | None' = None) -> 'MQTTErrorCode'",
    "_handle_pubackcomp": "(self, cmd: \"Literal['PUBACK', 'PUBCOMP']\") -> 'MQTTErrorCode'",
    "_do_on_publish": "(self, mid: 'int', reason_code: 'ReasonCode', properties: 'Properties') -> 'MQTTErrorCode'",
    "_easy_log": "(self, level: 'LogLevel', fmt: 'str', *args: 'Any') -> 'None'",
    "loop_read": "(self, max_packets: 'int' = 1) -> 'MQTTErrorCode'",
    "_packet_read": "(self) -> 'MQTTErrorCode'",
    "_packet_handle": "(self) -> 'MQTTErrorCode'",
    "_handle_publish": "(self) -> 'MQTTErrorCode'",
    "_handle_on_message": "(self, message: 'MQTTMessage') -> 'None'",
    "_send_puback": "(self, mid: 'int') -> 'MQTTErrorCode'",
    "want_write": "(self) -> 'bool'",
}

# Instance attributes of paho's Client the hooks read or change (set by its constructor).
HOOKED_ATTRIBUTES: tuple[str, ...] = (
    "_sock", "_thread", "_out_packet", "_in_packet", "_protocol", "_out_message_mutex", "_out_messages",
    "_host", "_port",  # mqtt_io.failover points a reconnect at the next broker
    "_manual_ack",  # BufferedClient.ack_many acknowledges only what paho did not
    "_msgtime_mutex", "_last_bytes_received", "_logger",  # the packet reader's bookkeeping, paho's debug log
)


def installed_paho_version() -> str:
    return str(getattr(paho.mqtt, "__version__", "unknown"))


def hook_mismatches() -> list[str]:
    """How the installed paho differs from what the hooks were written against; empty when it does not."""
    problems = []
    for name, expected in HOOKED_METHODS.items():
        method = getattr(mqtt.Client, name, None)
        if not callable(method):
            problems.append(f"{name}: missing")
            continue
        try:
            actual = str(inspect.signature(method))
        except (TypeError, ValueError) as err:
            problems.append(f"{name}: no signature ({err})")
            continue
        if actual != expected:
            problems.append(f"{name}{actual}, expected {name}{expected}")
    try:
        from paho.mqtt.enums import CallbackAPIVersion

        probe = mqtt.Client(CallbackAPIVersion.VERSION2)  # opens no socket
    except Exception as err:  # noqa: BLE001 - any failure means "not the client the hooks know"
        return [*problems, f"Client(CallbackAPIVersion.VERSION2) failed: {err!r}"]
    problems += [f"{name}: no such attribute" for name in HOOKED_ATTRIBUTES if not hasattr(probe, name)]
    return problems


@functools.cache
def buffered_client_usable() -> bool:
    """True when the installed paho-mqtt is a tested version and its hooked API is as expected. Decided
    once per process; the first False is logged."""
    version = installed_paho_version()
    problems = hook_mismatches()
    if version in TESTED_PAHO_VERSIONS and not problems:
        return True
    log.warning("Không dùng máy khách MQTT có bộ đệm với paho-mqtt %s (đã kiểm thử: %s)%s; dùng máy khách paho "
                "thông thường: chậm hơn khi hàng nghìn thiết bị gửi cùng lúc, nhưng vẫn đúng",
                version, ", ".join(TESTED_PAHO_VERSIONS),
                f"; khác biệt: {'; '.join(problems)}" if problems else "")
    return False


def client_class(*, presock: bool = False) -> type[mqtt.Client]:
    """BufferedClient (PresockClient with `presock`) when usable, else paho's `Client`."""
    if not buffered_client_usable():
        return mqtt.Client
    return PresockClient if presock else BufferedClient


def make_client(*args: Any, presock: bool = False, **kwargs: Any) -> mqtt.Client:
    """A paho client built with paho's own constructor arguments. With `presock`, a client that takes a socket
    its caller connected when it can: check `takes_presock(client)`, else let paho connect by itself."""
    return client_class(presock=presock)(*args, **kwargs)


def takes_presock(client: mqtt.Client) -> TypeGuard[PresockClient]:
    """Whether `client.presock` is used by the next connect (False for paho's plain client)."""
    return isinstance(client, PresockClient)
