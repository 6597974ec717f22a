"""APScheduler 3.x as a timer only: it wakes jobs; all state lives in the database.

Every job is an interval job with an id, coalescing missed runs into one (a flush that was late
once is no reason to flush five times), one instance at a time, and a misfire grace chosen per job
rather than APScheduler's default of one second.
"""
from __future__ import annotations

import logging
from collections.abc import Callable

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

log = logging.getLogger(__name__)


class Timer:
    def __init__(self, timezone: str):
        self._scheduler = BackgroundScheduler(
            timezone=timezone,
            executors={"default": ThreadPoolExecutor(max_workers=4)},
            job_defaults={"coalesce": True, "max_instances": 1},
        )

    def every(self, job_id: str, seconds: float, func: Callable[[], object], *, grace_s: int | None = None,
              run_now: bool = True) -> None:
        from datetime import datetime

        self._scheduler.add_job(
            func, "interval", seconds=seconds, id=job_id, name=job_id, replace_existing=True,
            misfire_grace_time=grace_s if grace_s is not None else max(1, int(seconds * 2)),
            next_run_time=datetime.now(self._scheduler.timezone) if run_now else None,
        )

    def daily(self, job_id: str, hour: int, minute: int, func: Callable[[], object], *, grace_s: int = 3600) -> None:
        self._scheduler.add_job(func, "cron", hour=hour, minute=minute, id=job_id, name=job_id,
                                replace_existing=True, misfire_grace_time=grace_s)

    def wake(self, job_id: str) -> None:
        """Run a job as soon as possible (e.g. right after an approval), keeping its interval."""
        from datetime import datetime

        job = self._scheduler.get_job(job_id)
        if job is not None:
            job.modify(next_run_time=datetime.now(self._scheduler.timezone))

    def job_ids(self) -> list[str]:
        return [job.id for job in self._scheduler.get_jobs()]

    def start(self) -> None:
        self._scheduler.start()

    def stop(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=True)
