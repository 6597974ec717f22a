"""The long-running side of the server: MQTT gateway, device inbox and timer jobs.

`loaxa scheduler` runs it alone; `loaxa serve` embeds it for single-node use. Exactly one process runs it per
database (APScheduler 3.x keeps no shared job store): the holder of the leader lease (broadcast/leader_runtime.py).
`loaxa serve --no-scheduler` nodes run only an InboxNode: their share of device messages (shared subscription).
"""
from __future__ import annotations

import logging
import os
import re
import socket
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from broadcast.adapters.smtp_sender import SmtpSender
from broadcast.adapters.webhook_sender import HttpWebhookSender
from broadcast.bootstrap import Container
from broadcast.devices.gateway import MqttGateway
from broadcast.devices.publisher import GatewayPublisher
from broadcast.persistence.maintenance import refresh_planner_statistics
from broadcast.scheduler.timer import Timer
from broadcast.services import alerts, notifications
from broadcast.services.audio import resume_pending
from broadcast.services.delivery import DeliveryInbox, flush_outbox, retained
from broadcast.services.delivery.commands import flush_commands
from broadcast.services.delivery.outbox import republish_unreceived
from broadcast.services.dispatch import Compiled, DispatchSettings, dispatch
from broadcast.services.fleet_health import purge_health_history
from broadcast.services.playlog import purge_expired, record_play
from broadcast.services.reports import aggregates
from broadcast.services.sessions import purge_revoked_tokens
from mqtt_io.gc_tuning import settle_heap

if TYPE_CHECKING:
    from broadcast.bridge.jobs import BridgeJobs

SERVER_GC_THRESHOLD = 20_000  # net allocations between young-generation collections (default 700)
log = logging.getLogger(__name__)

FLUSH_JOB = "delivery.flush"
PURGE_JOB = "retention.purge"
MAINTAIN_JOB = "database.statistics"
AGGREGATE_JOB = "reports.aggregate"
COMPILE_JOB = "schedule.compile"
ALERTS_JOB = "alerts.evaluate"
NOTIFY_JOB = "notifications.deliver"
DIGEST_JOB = "notifications.digest"
BRIDGE_PULL_JOB = "bridge.pull"
BRIDGE_SEND_JOB = "bridge.send"
BRIDGE_REPORT_JOB = "bridge.report"
BRIDGE_DAILY_JOB = "bridge.daily"
RELAY_PROBE_JOB = "relay.probe"
AUDIO_RESUME_JOB = "audio.resume"
AUDIO_RESUME_EVERY_S = 60  # with the claim's two minutes: a dead renderer's asset is taken up within three
FULL_COMPILE_EVERY_S = 600  # the horizon rolls on even when nothing changes


def device_inbox(container: Container) -> DeliveryInbox:
    """What every node does with device messages: one transaction per batch, proof of play in it."""
    return DeliveryInbox(container.uow, on_acks=record_play,
                         health_bucket=timedelta(minutes=container.settings.health_bucket_minutes))


def node_gateway_name(host: str | None = None, pid: int | None = None) -> str:
    """`inbox-<host>-<pid>`: unique per process (its MQTT client id is loaxa-server-<name>), at most 40 characters."""
    host = re.sub(r"[^a-z0-9-]+", "-", (host or socket.gethostname()).lower()).strip("-")[:20] or "node"
    return f"inbox-{host}-{pid or os.getpid()}"


class InboxNode:
    """An API node's part in device messaging (`loaxa serve --no-scheduler`): a gateway that only takes device
    messages, in the shared subscription group with every other node and the leader. Its session is clean: when
    the node dies, the broker hands its share to the others at once instead of queueing it for a node that may
    never return (the leader's persistent session keeps messages while no node is connected). Same start/stop/wake
    interface as Runtime; waking does nothing here (the leader's timer picks the work up within seconds)."""

    def __init__(self, container: Container, *, name: str | None = None):
        self.container = container
        self.inbox = device_inbox(container)
        self.gateway = MqttGateway.from_settings(container.settings, inbox=self.inbox, metrics=container.metrics,
                                                 name=name or node_gateway_name(), clean_session=True)

    def start(self) -> None:
        self.gateway.start()
        log.info("device inbox node started: %s in group %r", self.gateway.client_id,
                 self.container.settings.mqtt_shared_group)

    def stop(self) -> None:
        self.gateway.stop()

    def wake_compile(self) -> None:
        """Nothing to wake here: the leading scheduler compiles within its period."""

    def wake_delivery(self) -> None:
        """Nothing to wake here: the leading scheduler flushes within its period."""


class Runtime:
    def __init__(self, container: Container, *, flush_every_s: float = 2.0, compile_every_s: float | None = 15.0,
                 fence: Callable[[Any], None] | None = None):
        """compile_every_s None: schedules are staged by someone else (tests that stage documents themselves)."""
        self.container = container
        self.inbox = device_inbox(container)
        self.gateway = container.gateway(self.inbox)
        self.publisher = GatewayPublisher(self.gateway)
        self.gateway.on_reconnect.append(self._after_reconnect)
        self.timer = Timer(container.settings.timezone)
        self.flush_every_s = flush_every_s
        self.compile_every_s = compile_every_s
        self.fence = fence  # the leader lease's check in every publish transaction (broadcast/leader_runtime.py)
        self._compiled_marker: tuple | None = None
        self._compiled_at = 0.0  # monotonic time of the last full compilation
        self._compiled: Compiled | None = None
        self._retained_refreshes = retained.RetainedRefreshes()  # after a reconnect, taken by the flush
        self.bridge: BridgeJobs | None = None  # when the central system is configured
        s = container.settings
        self._email = SmtpSender(s.smtp_url, s.smtp_from) if s.smtp_url else None
        self._webhooks = HttpWebhookSender(s.fetch_policy)

    def flush(self) -> int:
        """Commands first: an emergency must not wait behind a fleet's schedules. After a reconnect, the retained
        store's refresh last, on this same job: run beside a flush, it could publish a version just after the
        flush published a newer one, and the broker would keep the older."""
        c = self.container
        sent = flush_commands(c.uow, c.clock, self.publisher, fence=self.fence)
        sent += flush_outbox(c.uow, c.clock, self.publisher, retry_base_s=c.settings.delivery_timeout_s,
                             fence=self.fence)
        since = self._retained_refreshes.take_due(time.monotonic())
        if since is not None:
            self._refresh_retained(since)
        return sent

    def _refresh_retained(self, since: datetime) -> None:
        """Until the broker has accepted them all, every flush tries again: the reconnect hook runs at CONNACK,
        before the gateway counts as connected (at SUBACK), so a flush in between publishes nothing."""
        try:
            accepted, found = retained.refresh_retained(self.container.uow, self.publisher, since=since,
                                                        fence=self.fence)
        except Exception:
            log.exception("republishing schedule versions for the retained store failed; the next flush tries again")
            self._retained_refreshes.retry(now=time.monotonic(), since=since)
            return
        if accepted < found:
            self._retained_refreshes.retry(now=time.monotonic(), since=since)
        log.info("after a reconnect: %s of %s schedule versions sent since %s republished for the broker's "
                 "retained store", accepted, found, since.isoformat(timespec="seconds"))

    def compile(self, force: bool = False) -> bool:
        """Recompile and stage new versions when schedules, devices or audio changed, or the horizon must roll."""
        c = self.container
        with c.uow() as uow:
            marker = uow.schedules.change_marker()
        stale = self._compiled is None or time.monotonic() - self._compiled_at > FULL_COMPILE_EVERY_S
        if not force and marker == self._compiled_marker and not stale:
            return False
        settings = DispatchSettings(c.settings.timezone, c.settings.horizon_days, c.settings.public_url)
        report, self._compiled = dispatch(c.uow, c.clock, c.signer, settings,
                                          previous=None if (stale or force) else self._compiled)
        self._compiled_marker = marker
        if not report.incremental:
            self._compiled_at = time.monotonic()
        log.info("compiled %s devices (%s) in %s groups: %s new versions, %s overlaps dropped", report.devices,
                 "changes only" if report.incremental else "full", report.groups, report.staged, report.dropped)
        if report.staged:
            self.wake_delivery()
        return True

    def wake_compile(self) -> None:
        self.timer.wake(COMPILE_JOB)

    def purge(self) -> dict[str, int]:
        c = self.container
        counts = purge_expired(c.uow, c.clock, c.settings.retention_days)
        health = purge_health_history(c.uow, c.clock, c.settings.health_retention_days)
        return {**counts, "health_samples": health, "revoked_tokens": purge_revoked_tokens(c.uow(), c.clock)}

    def maintain(self) -> None:
        """Fresh planner statistics: the play log grows by a fleet's day every day (persistence/maintenance.py)."""
        refresh_planner_statistics(self.container.engine)

    def _maintain_logged(self) -> None:
        try:
            self.maintain()
        except Exception:  # the nightly job tries again; pages are only slower meanwhile
            log.exception("refreshing the database's planner statistics failed")

    def aggregate(self) -> list:
        """Daily figures per commune: yesterday, days still missing, days that got late proof of play."""
        c = self.container
        return aggregates.nightly(c.uow, c.clock, c.settings.tz, retention_days=c.settings.retention_days)

    def evaluate_alerts(self) -> alerts.PassReport:
        c = self.container
        report = alerts.evaluate(c.uow, c.clock, c.settings.tz, notify=c.notifier,
                                 base=alerts.national_thresholds(c.settings.alert_thresholds))
        if report.opened or report.resolved:
            log.info("alerts: %s opened, %s resolved over %s devices in %.2f s", report.opened, report.resolved,
                     report.devices, report.seconds)
            self.timer.wake(NOTIFY_JOB)
        return report

    def deliver_notifications(self) -> int:
        c = self.container
        return notifications.deliver(c.uow, c.clock, self._email, self._webhooks)

    def stage_digest(self) -> int:
        c = self.container
        staged = notifications.stage_daily_digest(c.uow, c.clock, c.settings.tz, c.settings.public_url.rstrip("/"))
        self.timer.wake(NOTIFY_JOB)
        return staged

    def start(self) -> None:
        c = self.container
        # The broker admits what the registry says from the start, even after changes made while it was down.
        c.sync_broker(strict=True)
        self.gateway.start()
        # Routes in this process publish emergencies and compile approvals at once.
        c.wake_delivery.register(self.wake_delivery)
        c.wake_compile.register(self.wake_compile)
        self.timer.every(FLUSH_JOB, self.flush_every_s, self.flush, grace_s=30)
        if self.compile_every_s is not None:
            self.timer.every(COMPILE_JOB, self.compile_every_s, self.compile, grace_s=60)
        self.timer.daily(AGGREGATE_JOB, 2, 15, self.aggregate)  # before the purge: figures outlive the play log
        self.timer.daily(PURGE_JOB, 2, 30, self.purge)  # nightly, local time, when few devices report
        self.timer.daily(MAINTAIN_JOB, 2, 45, self.maintain)
        self.timer.every(ALERTS_JOB, c.settings.alert_evaluate_s, self.evaluate_alerts, grace_s=120)
        self.timer.every(NOTIFY_JOB, c.settings.notify_every_s, self.deliver_notifications, grace_s=120)
        self.timer.daily(DIGEST_JOB, 6, 30, self.stage_digest)  # before the morning broadcasts
        self.timer.every(RELAY_PROBE_JOB, c.settings.relay_probe_interval_s, self.probe_relays, grace_s=600)
        # Audio left processing by a process that died (or never ran its job), now and every minute; renders
        # another process holds a claim on are left to it (services/audio_claims.py).
        self.timer.every(AUDIO_RESUME_JOB, AUDIO_RESUME_EVERY_S, self.resume_audio, grace_s=120)
        # A database restored or bulk-loaded meanwhile gets statistics soon, without holding up start-up (ANALYZE of
        # a year's play log takes seconds, and waits for the write lock behind any job already writing).
        threading.Thread(target=self._maintain_logged, name="db-statistics", daemon=True).start()
        if c.settings.bridge_enabled:
            self._start_bridge()
        self.timer.start()
        # What start-up built (models, routes, metadata, caches) lives as long as the process: keep it out of
        # the cyclic GC's collections, which ran over a thousand times per fleet fan-out (mqtt_io.gc_tuning).
        settle_heap(SERVER_GC_THRESHOLD)
        log.info("runtime started: gateway %s:%s", c.settings.mqtt.host, c.settings.mqtt.port)

    def resume_audio(self) -> int:
        c = self.container
        return resume_pending(c.uow, c.clock, c.audio, c.jobs, c.spool_dir)

    def probe_relays(self) -> int:
        """Look at every relay channel's stream and record what was found; the number probed."""
        from broadcast.adapters.stream_probe import probe_stream
        from broadcast.services.relay_channels import probe_channels

        c = self.container
        timeout = c.settings.relay_probe_timeout_s
        return len(probe_channels(c.uow(), lambda url: probe_stream(url, now=c.clock.now, timeout_s=timeout)))

    def _start_bridge(self) -> None:
        """Only when a central base URL is configured: pull bulletins, queue reports, send the outbox."""
        from broadcast.bridge.jobs import BridgeJobs

        s = self.container.settings
        self.bridge = BridgeJobs(self.container, on_imported=self._bridge_imported)
        self.timer.every(BRIDGE_PULL_JOB, s.bridge_pull_interval_s, self.bridge.pull, grace_s=300)
        self.timer.every(BRIDGE_SEND_JOB, s.bridge_send_interval_s, self.bridge.send, grace_s=300)
        self.timer.every(BRIDGE_REPORT_JOB, 300, self.bridge.enqueue_reports, grace_s=600)
        self.timer.daily(BRIDGE_DAILY_JOB, 4, 15, self.bridge.enqueue_daily)  # after the nightly aggregates

    def _bridge_imported(self) -> None:
        self.wake_compile()
        self.wake_delivery()

    def wake_delivery(self) -> None:
        self.timer.wake(FLUSH_JOB)

    def _after_reconnect(self) -> None:
        """The gateway is back (maybe on another node of a cluster): what the lost connection carried may be lost
        with it, so every version not yet received is republished now, not at its retry time, and the flush
        publishes again the ones published shortly before the loss, for the broker's retained store
        (services/delivery/retained.py; network thread: the database work runs on a thread of its own)."""
        now = time.monotonic()
        lost_for_s = 0.0 if self.gateway.disconnected_at is None else max(0.0, now - self.gateway.disconnected_at)
        since = self.container.clock.now() - timedelta(seconds=lost_for_s + retained.AT_RISK_S)
        self._retained_refreshes.after_reconnect(now=now, since=since)
        threading.Thread(target=self._republish_unreceived, name="republish-after-reconnect", daemon=True).start()

    def _republish_unreceived(self) -> None:
        try:
            moved = republish_unreceived(self.container.uow, self.container.clock)
        except Exception:  # the retry timers still hold; the next reconnect tries again
            log.exception("making unreceived schedule versions due after a reconnect failed")
            return
        log.info("reconnected to the broker: %s schedule versions not yet received are republished now", moved)
        self.wake_delivery()

    def stop(self) -> None:
        self.container.wake_delivery.register(None)
        self.container.wake_compile.register(None)
        self.timer.stop()
        self.gateway.stop()
        self._webhooks.close()
