"""The bridge's timer jobs, built from the container: pull bulletins, queue reports, send the outbox."""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from zoneinfo import ZoneInfo

from broadcast.bridge.http_client import HttpCentralClient
from broadcast.adapters.http_media import BULLETIN_AUDIO, HttpMediaFetcher
from broadcast.services.bridge.bulletins import BridgeTools
from broadcast.services.bridge.outbox import SendReport, send_due
from broadcast.services.bridge.ports import CentralClient
from broadcast.services.bridge.pull import PullReport, pull_once
from broadcast.services.bridge.reports import enqueue_daily, enqueue_master_data, enqueue_playback
from broadcast.services.emergencies import EmergencyTools

log = logging.getLogger(__name__)


def bridge_tools(container) -> BridgeTools:
    settings = container.settings
    work_dir = settings.data_dir / "bridge-work"
    return BridgeTools(
        emergency=EmergencyTools(clock=container.clock, signer=container.signer, processor=container.audio,
                                 public_url=settings.public_url, work_dir=work_dir),
        fetch=HttpMediaFetcher(work_dir, min(settings.bridge_media_max_bytes, settings.audio_max_bytes),
                               BULLETIN_AUDIO, policy=settings.fetch_policy,
                               timeout_s=max(settings.bridge_timeout_s, 30.0), prefix="bulletin-"),
        tz=settings.timezone, system_id=settings.bridge_system_id)


class BridgeJobs:
    def __init__(self, container, client: CentralClient | None = None,
                 on_imported: Callable[[], None] | None = None):
        self.container = container
        self.client = client or HttpCentralClient.from_settings(container.settings)
        self.tools = bridge_tools(container)
        self.on_imported = on_imported

    def pull(self) -> PullReport:
        report = pull_once(self.container.uow, self.tools, self.client)
        if self.on_imported and report.count("accepted"):
            self.on_imported()
        return report

    def send(self) -> SendReport:
        s = self.container.settings
        return send_due(self.container.uow, self.container.clock, self.client, retry_base_s=s.bridge_retry_base_s,
                        retry_max_s=s.bridge_retry_max_s)

    def enqueue_reports(self) -> int:
        """Master data when the registry changed, and new plays of central bulletins."""
        c = self.container
        enqueue_master_data(c.uow(), c.clock, c.settings.bridge_system_id)
        return enqueue_playback(c.uow, c.clock, c.settings.bridge_system_id)

    def enqueue_daily(self) -> int:
        """Yesterday's figures, and the day before's again in case late acks changed them."""
        c = self.container
        today = c.clock.now().astimezone(ZoneInfo(c.settings.timezone)).date()
        return sum(enqueue_daily(c.uow(), c.clock, c.settings.bridge_system_id, today - timedelta(days=n))
                   for n in (1, 2))
