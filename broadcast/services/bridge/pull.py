"""Pull bulletins page by page from the cursor kept in the database; the cursor moves only after a page is stored.

A crash in the middle of a page repeats that page on the next run, which is harmless: imports are idempotent
by bulletin id. An unreachable or confused central side ends the run quietly; local work goes on.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from broadcast.services.bridge.bulletins import BridgeTools, Receipt, import_bulletin
from broadcast.services.bridge.ports import CentralClient, CentralUnavailable
from broadcast.services.ports import UnitOfWork

log = logging.getLogger(__name__)
CURSOR_KEY = "bulletin_cursor"
MAX_PAGES = 20


@dataclass
class PullReport:
    pages: int = 0
    receipts: list[Receipt] = field(default_factory=list)
    error: str = ""

    def count(self, status: str) -> int:
        return sum(1 for r in self.receipts if r.status == status)


def read_cursor(uow: UnitOfWork) -> str | None:
    with uow:
        return uow.bridge.get_state(CURSOR_KEY)


def pull_once(uow_factory: Callable[[], UnitOfWork], tools: BridgeTools, client: CentralClient, *,
              max_pages: int = MAX_PAGES) -> PullReport:
    report = PullReport()
    cursor = read_cursor(uow_factory())
    for _ in range(max_pages):
        try:
            items, next_cursor = client.fetch_bulletins(cursor)
        except CentralUnavailable as exc:
            report.error = str(exc)
            log.warning("bulletin pull stopped: %s", exc)
            break
        for item in items:
            receipt = import_bulletin(uow_factory(), tools, item, via="pull")
            if receipt.bulletin_id is None:
                log.warning("pulled bulletin without id refused: %s", receipt.message)
            report.receipts.append(receipt)
        report.pages += 1
        if next_cursor is not None and next_cursor != cursor:
            uow = uow_factory()
            with uow:
                uow.bridge.set_state(CURSOR_KEY, next_cursor, at=tools.emergency.clock.now())
                uow.commit()
        if not items or next_cursor is None or next_cursor == cursor:
            break
        cursor = next_cursor
    return report
