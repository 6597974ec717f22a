"""The server as separate OS processes for the chaos suite: `loaxa serve --no-scheduler` (the API) and `loaxa
scheduler` (gateway and timer under the leader lease), each killed with SIGKILL and started again on demand, and
an HTTP client for the API that rides out the API's own restarts."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT_S = 180.0


class LoaxaProcess:
    """One `python -m broadcast <args>` child; every start appends to the same log file."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_dir: Path,
                 ready: Callable[[], bool] | None = None) -> None:
        self.name, self.args, self.env = name, args, env
        self.log_path = log_dir / f"{name}.log"
        self.ready = ready
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.failures: list[Exception] = []

    def start(self) -> None:
        """Start it and, with a readiness check, wait for it. A start competes for the CPU with everything the
        chaos keeps busy: importing the server took 30-60 s of wall time here under load (3 s alone)."""
        with open(self.log_path, "ab") as log:
            log.write(f"\n===== start {self.starts + 1} at {time.strftime('%H:%M:%S')} =====\n".encode())
            log.flush()
            self.proc = subprocess.Popen([sys.executable, "-m", "broadcast", *self.args], cwd=ROOT, env=self.env,
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        self.starts += 1
        if self.ready is not None:
            began = time.monotonic()
            while not self.ready():
                if self.proc.poll() is not None or time.monotonic() > began + READY_TIMEOUT_S:
                    raise RuntimeError(f"{self.name} did not become ready:\n{self.log_tail()}")
                time.sleep(0.1)
            with open(self.log_path, "ab") as log:
                log.write(f"===== ready after {time.monotonic() - began:.1f} s =====\n".encode())

    def restart_later(self, delay_s: float) -> threading.Thread:
        """Start again after `delay_s` on a thread of its own (an approval may be waiting for this very API); a
        failed start is kept in `failures` for the test to report."""
        def run() -> None:
            time.sleep(delay_s)
            try:
                self.start()
            except Exception as exc:  # noqa: BLE001 - reported by the test
                self.failures.append(exc)

        thread = threading.Thread(target=run, name=f"restart-{self.name}", daemon=True)
        thread.start()
        return thread

    def kill(self) -> None:
        """kill -9: no clean shutdown, no lease released, nothing flushed."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


def server_env(*, data_dir: Path, database_url: str, mqtt_url: str, prefix: str, secret_key: str, public_url: str,
               **extra: str) -> dict[str, str]:
    """LOAXA_* settings shared by the API and the scheduler processes (one data dir: one signing key)."""
    env = {**os.environ, "LOAXA_DATA_DIR": str(data_dir), "LOAXA_DATABASE_URL": database_url,
           "LOAXA_MQTT_URL": mqtt_url, "LOAXA_TOPIC_PREFIX": prefix, "LOAXA_SECRET_KEY": secret_key,
           "LOAXA_PUBLIC_URL": public_url, "PYTHONUNBUFFERED": "1"}
    env.update({f"LOAXA_{k.upper()}": v for k, v in extra.items()})
    return env


def http_ready(base: str) -> Callable[[], bool]:
    def ready() -> bool:
        try:
            return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    return ready


class PatientApi:
    """HTTP calls to an API that may be down for a while (killed, restarting): retried until it answers."""

    def __init__(self, base: str, *, patience_s: float = 200.0) -> None:
        self.http = httpx.Client(base_url=base, timeout=30)
        self.patience_s = patience_s
        self.retries = 0

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        deadline = time.monotonic() + self.patience_s
        while True:
            try:
                response = self.http.request(method, path, **kwargs)
                if response.status_code < 500:
                    return response
            except httpx.TransportError:
                pass  # the API is down (killed on purpose): ask again
            if time.monotonic() > deadline:
                raise TimeoutError(f"{method} {path}: the API did not answer within {self.patience_s} s")
            self.retries += 1
            time.sleep(0.3)

    def close(self) -> None:
        self.http.close()
