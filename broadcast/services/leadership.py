"""Which scheduler leads: a lease row in the database, taken when free or expired, renewed every few seconds.

Several `loaxa scheduler` (or `loaxa serve`) processes may run against one PostgreSQL; only the holder of the
lease runs the timer jobs and publishes to devices. Each holding carries a fencing token, larger at every change
of holder: the publish step checks it inside its own transaction (`Leadership.fence`), so a leader that was paused
past its lease (SIGSTOP, a long GC, a frozen VM) finds a larger token on waking, publishes nothing and steps down.
On SQLite (one machine) the same code runs and the single process simply always holds the lease.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from broadcast.services.ports import Clock, LeaseUnitOfWork

log = logging.getLogger(__name__)

SCHEDULER_LEASE = "scheduler"


class LeadershipLost(Exception):
    """The lease is no longer ours: whatever was about to be published must not be."""


def holder_name() -> str:
    """Unique per process and readable in the table: host, pid and a random suffix (pids are reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Leadership:
    """One process's side of the lease. `token` is set while this process believes it leads."""

    def __init__(self, uow_factory: Callable[[], LeaseUnitOfWork], clock: Clock, *, ttl_s: float = 10.0,
                 renew_every_s: float = 3.0, name: str = SCHEDULER_LEASE, holder: str | None = None):
        if not 0 < renew_every_s < ttl_s:
            raise ValueError("the lease must be renewed more often than it expires")
        self.uow_factory = uow_factory
        self.clock = clock
        self.ttl = timedelta(seconds=ttl_s)
        self.renew_every_s = renew_every_s
        self.name = name
        self.holder = holder or holder_name()
        self.token: int | None = None
        self._renewed_at = 0.0  # monotonic time of the last successful renewal
        self._lost = threading.Event()

    @property
    def leading(self) -> bool:
        return self.token is not None and not self._lost.is_set()

    def try_acquire(self) -> bool:
        """One attempt: take the lease if it is free or expired."""
        now = self.clock.now()
        with self.uow_factory() as uow:
            token = uow.lease.acquire(self.name, self.holder, now=now, until=now + self.ttl)
            uow.commit()
        if token is None:
            return False
        self.token, self._renewed_at = token, time.monotonic()
        self._lost.clear()
        log.info("lease %s taken by %s with fencing token %s", self.name, self.holder, token)
        return True

    def renew(self) -> bool:
        """Extend our holding; False (and leadership given up) when another process took it."""
        if self.token is None:
            return False
        with self.uow_factory() as uow:
            ok = uow.lease.renew(self.name, self.token, until=self.clock.now() + self.ttl)
            uow.commit()
        if ok:
            self._renewed_at = time.monotonic()
        else:
            self._give_up("another process holds the lease")
        return ok

    def release(self) -> None:
        """Clean shutdown: hand the lease over at once instead of letting it expire."""
        token, self.token = self.token, None
        if token is None:
            return
        with self.uow_factory() as uow:
            uow.lease.release(self.name, token, now=self.clock.now())
            uow.commit()
        log.info("lease %s released by %s (token %s)", self.name, self.holder, token)

    def fence(self, uow: Any) -> None:
        """Inside the caller's delivery transaction: raise LeadershipLost unless our token is still the stored one
        and unexpired. On PostgreSQL the row stays share-locked until that transaction ends, so nobody can take
        the lease between this check and the caller's commit."""
        token = self.token
        state = uow.lease.current(self.name, lock=True)
        if token is None or state is None or state.token != token or state.expires_at <= self.clock.now():
            if state is not None and token is not None and state.token != token:
                self._give_up(f"fencing token {token} superseded by {state.token}")
            raise LeadershipLost(f"lease {self.name}: token {token} is not current")

    def _give_up(self, why: str) -> None:
        if not self._lost.is_set():
            log.warning("lease %s lost by %s: %s; stepping down", self.name, self.holder, why)
        self._lost.set()
        self.token = None

    def wait_elected(self, stop: threading.Event) -> bool:
        """Follower: try every second (or renewal period, if shorter) until the lease is ours (True) or `stop` is set
        (False). Trying often keeps the handover after a crash close to the lease's length (one cheap upsert)."""
        while not stop.is_set():
            try:
                if self.try_acquire():
                    return True
            except Exception:  # the database may be restarting: keep waiting
                log.exception("taking lease %s failed", self.name)
            stop.wait(min(1.0, self.renew_every_s))
        return False

    def keep(self, stop: threading.Event) -> bool:
        """Leader: renew until `stop` is set (False) or the lease is lost (True). When renewals fail (database
        unreachable) for a whole lease period, another process may hold it: leadership is given up then too."""
        next_renewal = time.monotonic() + self.renew_every_s
        while not stop.is_set():
            if self._lost.is_set():
                return True
            if time.monotonic() >= next_renewal:
                next_renewal = time.monotonic() + self.renew_every_s
                try:
                    if not self.renew():
                        return True
                except Exception:
                    log.exception("renewing lease %s failed", self.name)
                    if time.monotonic() - self._renewed_at >= self.ttl.total_seconds():
                        self._give_up("no renewal within a lease period")
                        return True
            stop.wait(min(0.2, self.renew_every_s))
        return False
