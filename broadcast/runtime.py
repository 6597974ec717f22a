"""The long-running side of the server: MQTT gateway, device inbox and timer jobs.

`loaxa scheduler` runs it alone; `loaxa serve` embeds it for single-node use. Exactly one process
should run it per database (APScheduler 3.x keeps no shared job store).
"""
from __future__ import annotations

import logging

from broadcast.bootstrap import Container
from broadcast.devices.gateway import MqttGateway
from broadcast.devices.publisher import GatewayPublisher
from broadcast.scheduler.timer import Timer
from broadcast.services.audio import resume_pending
from broadcast.services.commands import flush_commands
from broadcast.services.delivery import DeviceInbox, flush_outbox
from broadcast.services.playlog import purge_expired, record_play

log = logging.getLogger(__name__)

FLUSH_JOB = "delivery.flush"
PURGE_JOB = "retention.purge"


class Runtime:
    def __init__(self, container: Container, *, flush_every_s: float = 2.0):
        self.container = container
        self.inbox = DeviceInbox(container.uow, on_acks=record_play)  # proof of play in the ack transaction
        self.gateway = MqttGateway.from_settings(container.settings, inbox=self.inbox, metrics=container.metrics,
                                                 name="main")
        self.publisher = GatewayPublisher(self.gateway)
        self.timer = Timer(container.settings.timezone)
        self.flush_every_s = flush_every_s

    def flush(self) -> int:
        """Commands first: an emergency must not wait behind a fleet's schedules."""
        c = self.container
        sent = flush_commands(c.uow, c.clock, self.publisher)
        return sent + flush_outbox(c.uow, c.clock, self.publisher, retry_base_s=c.settings.delivery_timeout_s)

    def purge(self) -> dict[str, int]:
        c = self.container
        return purge_expired(c.uow, c.clock, c.settings.retention_days)

    def start(self) -> None:
        c = self.container
        resume_pending(c.uow, c.clock, c.audio, c.jobs, c.spool_dir)
        self.gateway.start()
        self.timer.every(FLUSH_JOB, self.flush_every_s, self.flush, grace_s=30)
        self.timer.daily(PURGE_JOB, 2, 30, self.purge)  # nightly, local time, when few devices report
        self.timer.start()
        log.info("runtime started: gateway %s:%s", c.settings.mqtt.host, c.settings.mqtt.port)

    def wake_delivery(self) -> None:
        self.timer.wake(FLUSH_JOB)

    def stop(self) -> None:
        self.timer.stop()
        self.gateway.stop()
