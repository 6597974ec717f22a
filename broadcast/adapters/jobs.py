"""A small background job queue (threads) for work that must not hold up a request: audio rendering."""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait

log = logging.getLogger(__name__)


class ThreadJobQueue:
    def __init__(self, workers: int = 1, name: str = "loaxa-job"):
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
        self._pending: set[Future] = set()
        self._lock = threading.Lock()

    def submit(self, job: Callable[[], None]) -> None:
        future = self._executor.submit(self._run, job)
        with self._lock:
            self._pending.add(future)
        future.add_done_callback(self._forget)

    @staticmethod
    def _run(job: Callable[[], None]) -> None:
        try:
            job()
        except Exception:  # a job records its own failure; this only keeps the worker alive
            log.exception("background job failed")

    def _forget(self, future: Future) -> None:
        with self._lock:
            self._pending.discard(future)

    def drain(self, timeout: float | None = None) -> bool:
        """Wait for everything submitted so far; True when all finished."""
        with self._lock:
            pending = set(self._pending)
        done, not_done = wait(pending, timeout=timeout)
        return not not_done

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=False)
