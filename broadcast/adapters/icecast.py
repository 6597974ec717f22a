"""Icecast 2.4 (Debian `icecast2`): its config written by the project, and a private process for demo and tests.

The source and admin passwords are generated once and kept in the data dir (`icecast/secrets.json`, 0600). Any
mount may be fed with the source password; the default mount sets the listener limit for every mount. Bursts are
off: a listener gets audio as it is spoken, not a buffered past (latency matters more than a quick start here).
Icecast refuses to run as root without `changeowner`; we keep the config simple (no chroot, no changeowner) and,
when the caller is root, start it as `nobody` through setpriv with its directory handed over to that user. A data
dir that `nobody` cannot enter (0700 parents) then gets its run files (config, logs) in a private temporary
directory instead, removed at stop; production runs unprivileged and keeps them in the data dir.
"""
from __future__ import annotations

import json
import logging
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import quote
from xml.sax.saxutils import escape

from broadcast.adapters.icecast_backlog import DEFAULT_BACKLOG, BacklogError, widen_backlog

log = logging.getLogger(__name__)

DEFAULT_WEBROOT = Path("/usr/share/icecast2/web")
DEFAULT_ADMINROOT = Path("/usr/share/icecast2/admin")
SECRETS_FILE = "secrets.json"
UNPRIVILEGED_USER = "nobody"


class IcecastError(Exception):
    """Icecast could not be configured, started or reached; the message says which."""


@dataclass(frozen=True)
class IcecastSecrets:
    source_password: str
    admin_password: str


def load_or_create_secrets(directory: Path) -> IcecastSecrets:
    """The passwords kept in `directory`, generated on first use."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = directory / SECRETS_FILE
    if path.exists():
        data = json.loads(path.read_text())
        return IcecastSecrets(data["source_password"], data["admin_password"])
    made = IcecastSecrets(secrets.token_urlsafe(18), secrets.token_urlsafe(18))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump({"source_password": made.source_password, "admin_password": made.admin_password}, out)
    return made


@dataclass(frozen=True)
class IcecastConfig:
    directory: Path  # config, logs and pid file
    host: str
    port: int
    secrets: IcecastSecrets
    max_listeners_per_mount: int = 5000
    max_sources: int = 50
    # Set on the running process (icecast_backlog.py): 2.4 listens with 5; None leaves Icecast's own.
    listen_backlog: int | None = DEFAULT_BACKLOG
    webroot: Path = DEFAULT_WEBROOT
    adminroot: Path = DEFAULT_ADMINROOT

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def source_url(self, mount: str) -> str:
        """What ffmpeg's icecast:// output takes: user `source`, the source password, the mount path."""
        password = quote(self.secrets.source_password, safe="")
        return f"icecast://source:{password}@{self.host}:{self.port}/{mount.lstrip('/')}"

    def render(self) -> str:
        e = escape
        clients = self.max_listeners_per_mount * 2 + self.max_sources + 10
        return f"""<icecast>
  <location>LoaXa</location>
  <admin>loaxa@localhost</admin>
  <hostname>{e(self.host)}</hostname>
  <limits>
    <clients>{clients}</clients>
    <sources>{self.max_sources}</sources>
    <queue-size>524288</queue-size>
    <client-timeout>30</client-timeout>
    <header-timeout>15</header-timeout>
    <source-timeout>10</source-timeout>
    <burst-on-connect>0</burst-on-connect>
    <burst-size>0</burst-size>
  </limits>
  <authentication>
    <source-password>{e(self.secrets.source_password)}</source-password>
    <relay-password>{e(self.secrets.admin_password)}</relay-password>
    <admin-user>admin</admin-user>
    <admin-password>{e(self.secrets.admin_password)}</admin-password>
  </authentication>
  <listen-socket>
    <port>{self.port}</port>
    <bind-address>{e(self.host)}</bind-address>
  </listen-socket>
  <mount type="default">
    <max-listeners>{self.max_listeners_per_mount}</max-listeners>
    <public>0</public>
  </mount>
  <fileserve>0</fileserve>
  <paths>
    <basedir>{e(str(self.directory))}</basedir>
    <logdir>{e(str(self.directory))}</logdir>
    <webroot>{e(str(self.webroot))}</webroot>
    <adminroot>{e(str(self.adminroot))}</adminroot>
    <pidfile>{e(str(self.directory / 'icecast.pid'))}</pidfile>
  </paths>
  <logging>
    <accesslog>access.log</accesslog>
    <errorlog>error.log</errorlog>
    <loglevel>3</loglevel>
  </logging>
  <security>
    <chroot>0</chroot>
  </security>
</icecast>
"""

    def write(self) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = self.directory / "icecast.xml"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(self.render())
        return path


def icecast_binary() -> str | None:
    return shutil.which("icecast2") or shutil.which("icecast") or next(
        (p for p in ("/usr/bin/icecast2", "/usr/local/bin/icecast") if os.access(p, os.X_OK)), None)


def mount_is_live(base_url: str, mount: str, timeout: float = 2.0) -> bool:
    """True while a source feeds the mount: Icecast answers 404 for a mount without a source."""
    request = urllib.request.Request(f"{base_url.rstrip('/')}/{mount.lstrip('/')}", method="GET")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _others_may_enter(directory: Path) -> bool:
    """Whether an unprivileged user can reach `directory` (every directory on the way has o+x)."""
    return all(p.stat().st_mode & 0o001 for p in (directory, *directory.parents) if p.exists())


class IcecastServer:
    """A private icecast2 process writing everything under `config.directory`."""

    def __init__(self, config: IcecastConfig, binary: str | None = None):
        self.config = config
        self.binary = binary or icecast_binary()
        self.proc: subprocess.Popen[bytes] | None = None
        self._moved: Path | None = None  # the temporary run dir used instead of an unreachable data dir
        self.backlog_widened = False

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def _command(self, conf: Path) -> list[str]:
        assert self.binary is not None
        if os.geteuid() != 0:
            return [self.binary, "-c", str(conf)]
        user = pwd.getpwnam(UNPRIVILEGED_USER)
        for path in (self.config.directory, *self.config.directory.iterdir()):
            os.chown(path, user.pw_uid, user.pw_gid)
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            raise IcecastError("icecast2 không chạy được với quyền root và không có setpriv để đổi người dùng.")
        return [setpriv, f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups", self.binary, "-c",
                str(conf)]

    def start(self, ready_timeout: float = 15.0) -> None:
        if self.binary is None:
            raise IcecastError("Không tìm thấy icecast2 (gói Debian `icecast2`).")
        if os.geteuid() == 0 and not _others_may_enter(self.config.directory.resolve().parent):
            self._moved = Path(tempfile.mkdtemp(prefix="loaxa-icecast-"))
            self.config = replace(self.config, directory=self._moved)
        conf = self.config.write()
        self.proc = subprocess.Popen(self._command(conf), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, start_new_session=True)
        self.wait_ready(ready_timeout)
        self.widen_backlog()

    def widen_backlog(self) -> None:
        """Icecast 2.4 accepts only 5 waiting connections; a commune's devices all connect at once (see
        icecast_backlog.py). Without the right to do it, Icecast runs as it is, with a warning."""
        assert self.proc is not None
        if self.config.listen_backlog is None:
            return
        try:
            widen_backlog(self.proc.pid, self.config.port, self.config.listen_backlog)
            self.backlog_widened = True
        except BacklogError as exc:
            log.warning("icecast2 keeps its accept backlog of 5 (many devices connecting at once will wait): %s",
                        exc)

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
                raise IcecastError(f"icecast2 dừng ngay khi khởi động: {err.strip()[-500:]} {self.log_tail()}")
            try:
                with socket.create_connection((self.config.host, self.config.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        raise IcecastError(f"icecast2 không sẵn sàng sau {timeout:.0f} giây. {self.log_tail()}")

    def stop(self, timeout: float = 5.0) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)
        if self.proc.stderr:
            self.proc.stderr.close()
        self.proc = None
        if self._moved is not None:
            shutil.rmtree(self._moved, ignore_errors=True)

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = (self.config.directory / "error.log").read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])
