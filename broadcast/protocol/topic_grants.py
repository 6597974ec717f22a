"""Which MQTT topics each protocol v1 principal may use: one model that every broker writer renders.

The mosquitto writer (broker_config.render_acl) turns it into `pattern` lines with %u; the NATS writer
(nats_config) into per-user publish/subscribe permissions. A change of the contract is made here once.

Pure (standard library only).
"""

from __future__ import annotations

from dataclasses import dataclass

# Relative to the topic prefix; "{device}" is the device's own id (its username and client id).
DEVICE_PUBLISH = ("devices/{device}/status", "devices/{device}/ack")
DEVICE_SUBSCRIBE = ("devices/{device}/schedule", "devices/{device}/command", "zones/+/command")


@dataclass(frozen=True)
class Grants:
    """MQTT topic filters a principal may publish to and subscribe to."""

    publish: tuple[str, ...]
    subscribe: tuple[str, ...]


def device_grants(prefix: str, device: str) -> Grants:
    """A device: write its own status and ack; read its own schedule and command and every zone's command
    (which zones it obeys is decided by the signed documents, not by the broker). `device` may be a
    placeholder such as mosquitto's %u."""
    return Grants(
        publish=tuple(f"{prefix}/{t.format(device=device)}" for t in DEVICE_PUBLISH),
        subscribe=tuple(f"{prefix}/{t.format(device=device)}" for t in DEVICE_SUBSCRIBE),
    )


def server_grants(prefix: str) -> Grants:
    """The server account: everything under the prefix, both ways."""
    return Grants(publish=(f"{prefix}/#",), subscribe=(f"{prefix}/#",))
