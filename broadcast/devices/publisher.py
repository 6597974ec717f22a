"""The gateway behind the DevicePublisher port: publish a batch, then wait for the broker's PUBACKs."""
from __future__ import annotations

import time
from collections.abc import Sequence

from broadcast.devices.gateway import MqttGateway, PublishResult
from broadcast.domain.delivery import CommandPublication


class GatewayPublisher:
    def __init__(self, gateway: MqttGateway):
        self.gateway = gateway

    def publish_schedules(self, batch: Sequence[tuple[str, bytes]], *, timeout: float) -> list[bool]:
        if not self.gateway.connected:
            return [False] * len(batch)  # stay due in the outbox; the next flush tries again
        return _accepted([self.gateway.publish_schedule_payload(device_id, payload) for device_id, payload in batch],
                         timeout)

    def publish_commands(self, batch: Sequence[CommandPublication], *, timeout: float) -> list[bool]:
        if not self.gateway.connected:
            return [False] * len(batch)
        return _accepted([self.gateway.publish_zone_command(p.target_id, p.document) if p.target_kind == "zone"
                          else self.gateway.publish_device_command(p.target_id, p.document) for p in batch], timeout)


def _accepted(handles: Sequence[PublishResult], timeout: float) -> list[bool]:
    """Whether the broker acknowledged each publish, all within one shared deadline."""
    deadline = time.monotonic() + timeout
    return [handle.wait(max(0.0, deadline - time.monotonic())) for handle in handles]
