"""Keep the broker's device accounts equal to the registry, with no operator in between.

After a committed registration, disable, enable or new secret, the devices' password file in the directory
`loaxa mqtt config` wrote is rewritten and mosquitto reloads it; mosquitto 2.0 then checks the clients already
connected again, so a disabled device or an old secret loses its live connection too. The reload is a SIGHUP to
the pid in LOAXA_MQTT_PID_FILE, or, without one, the job of a watcher of the file (deploy/: a systemd path
unit, the compose broker's run.sh) when the broker runs as another user.
"""
from __future__ import annotations

import fcntl
import logging
import os
import signal
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from broadcast.protocol.broker_config import BROKER_GROUP, write_device_passwd

log = logging.getLogger(__name__)


class BrokerSyncError(Exception):
    """The broker could not be brought in line with the registry (message in Vietnamese)."""


class BrokerSync:
    def __init__(self, config_dir: Path, pid_file: Path | None = None, *, group: str | None = BROKER_GROUP):
        self.config_dir = config_dir
        self.pid_file = pid_file
        self.group = group

    def apply(self, accounts: Callable[[], Sequence[tuple[str, str]]]) -> None:
        """Rewrite the devices' password file from `accounts()` and reload the broker.

        `accounts` is read under an exclusive lock on the directory, so when two processes (API, CLI,
        scheduler) change devices at once, the file ends with the newer reading, never the older."""
        try:
            with self._locked():
                write_device_passwd(self.config_dir, accounts(), group=self.group)
                self._reload()
        except OSError as exc:
            raise BrokerSyncError(f"Không cập nhật được tài khoản thiết bị của máy chủ MQTT trong "
                                  f"{self.config_dir}: {exc.strerror or exc}.") from exc

    @contextmanager
    def _locked(self) -> Iterator[None]:
        # Read-only is enough for flock, so whoever created it (root's CLI, the service's user) all can take it.
        fd = os.open(self.config_dir / ".loaxa-sync.lock", os.O_RDONLY | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # also releases the lock

    def _reload(self) -> None:
        if self.pid_file is None:
            return  # a watcher of the password file reloads the broker
        try:
            pid = int(self.pid_file.read_text().strip())
            os.kill(pid, signal.SIGHUP)
        except PermissionError:
            raise BrokerSyncError(f"Không được phép nạp lại mosquitto (pid trong {self.pid_file}): nó chạy dưới tài "
                                  "khoản khác; bỏ LOAXA_MQTT_PID_FILE và dùng trình theo dõi tệp mật khẩu "
                                  "(deploy/systemd/loaxa-broker-reload.path).") from None
        except (FileNotFoundError, ProcessLookupError, ValueError):
            # No broker running: it reads the new file when it starts.
            log.warning("Máy chủ MQTT không chạy (tệp pid %s): tệp mật khẩu đã ghi, sẽ được đọc khi khởi động",
                        self.pid_file)
