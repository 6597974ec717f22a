"""The bridge's timer jobs, built from the container: pull bulletins, queue reports, send the outbox."""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from zoneinfo import ZoneInfo

from broadcast.bridge.http_client import HttpCentralClient
from broadcast.services.bridge.outbox import SendReport, send_due
from broadcast.services.bridge.ports import CentralClient
from broadcast.services.bridge.pull import PullReport, pull_once
from broadcast.services.bridge.reports import enqueue_daily, enqueue_master_data, enqueue_playback

log = logging.getLogger(__name__)


class BridgeJobs:
    def __init__(self, container, client: CentralClient | None = None,
                 on_imported: Callable[[], None] | None = None):
        self.container = container
        self.client = client or HttpCentralClient.from_settings(container.settings)
        self.tools = container.bridge_tools()
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
