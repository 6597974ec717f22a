"""The runtime under the leader lease: start it when this process takes the lease, stop it when the lease is lost.

`loaxa scheduler` and `loaxa serve` (embedded runtime) both run it, so any number of them may share one database:
one leads, the others wait and take over within a lease period (LOAXA_LEASE_TTL_S) after the leader dies. The
runtime's publish steps check the lease's fencing token in their transactions (services.leadership)."""
from __future__ import annotations

import logging
import threading

from broadcast.bootstrap import Container
from broadcast.runtime import Runtime
from broadcast.services.leadership import Leadership

log = logging.getLogger(__name__)


class LeaderRuntime:
    """Same start/stop/wake interface as Runtime, for create_app and the scheduler command."""

    def __init__(self, container: Container, *, leadership: Leadership | None = None, **runtime_options: object):
        s = container.settings
        self.container = container
        self.leadership = leadership or Leadership(container.uow, container.clock, ttl_s=s.lease_ttl_s,
                                                   renew_every_s=s.lease_renew_s)
        self.runtime_options = runtime_options
        self.runtime: Runtime | None = None  # while leading
        self.terms = 0  # how many times this process has led (tests, logs)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="leader-lease", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        lease = self.leadership
        while lease.wait_elected(self._stop):
            try:
                self.runtime = Runtime(self.container, fence=lease.fence, **self.runtime_options)  # type: ignore[arg-type]
                self.runtime.start()
                self.terms += 1
                log.info("leading as %s (fencing token %s)", lease.holder, lease.token)
                lost = lease.keep(self._stop)
            except Exception:  # e.g. the broker refused the start: let another process try first
                log.exception("the runtime failed while leading; giving the lease up")
                lost = False
                self._stop.wait(lease.renew_every_s)
            self._stop_runtime()
            if not lost:
                self._release()
            if self._stop.is_set():
                return
            log.warning("stepped down: following again")

    def _stop_runtime(self) -> None:
        runtime, self.runtime = self.runtime, None
        if runtime is not None:
            try:
                runtime.stop()
            except Exception:
                log.exception("stopping the runtime failed")

    def _release(self) -> None:
        try:
            self.leadership.release()
        except Exception:  # it expires by itself
            log.exception("releasing the lease failed")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)

    def wake_compile(self) -> None:
        if self.runtime is not None:
            self.runtime.wake_compile()

    def wake_delivery(self) -> None:
        if self.runtime is not None:
            self.runtime.wake_delivery()
