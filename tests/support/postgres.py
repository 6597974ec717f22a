"""PostgreSQL for tests: a private server per session, or the one named by an env var.

If LOAXA_TEST_POSTGRES_URL is set (an admin SQLAlchemy URL, e.g.
``postgresql+psycopg://user:pw@db:5432/postgres``) a fresh database is created in
it for the session. Otherwise a PRIVATE server is started: initdb into a temp dir,
``postgres`` on a free loopback port with its unix socket in that dir, and removed
at teardown. Never the machine's own server on 5432.

Use from a conftest:  ``from tests.support.postgres import postgres_url  # noqa: F401``
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

from tests.support import required

ENV_URL = "LOAXA_TEST_POSTGRES_URL"
SYSTEM_USER = "postgres"
READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class PostgresInstance:
    """What the session's `postgres_url` points at (kept in config.stash)."""

    url: str  # SQLAlchemy URL of the session's database
    private: bool  # True: started by us; False: from LOAXA_TEST_POSTGRES_URL
    data_dir: Path | None  # private server's data directory


POSTGRES_INSTANCE = pytest.StashKey[PostgresInstance]()
# A test of PostgreSQL's own behaviour (row locks, the planner, array parameters) takes only the PostgreSQL variant
# of the `database_url` fixture (tests/conftest.py): no SQLite variant to skip.
POSTGRES_ONLY = pytest.mark.parametrize("database_url", ["postgres"], indirect=True)


missing = partial(required.missing, "PostgreSQL")


def find_bindir() -> Path | None:
    """The directory holding initdb and postgres (Debian keeps them off PATH)."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        if out.returncode == 0 and out.stdout.strip():
            candidates.append(Path(out.stdout.strip()))
    versioned = Path("/usr/lib/postgresql").glob("*/bin")
    candidates += sorted(versioned, key=lambda p: _version_key(p.parent.name), reverse=True)
    if shutil.which("initdb"):
        candidates.append(Path(shutil.which("initdb")).parent)  # type: ignore[arg-type]
    for bindir in candidates:
        if (bindir / "initdb").is_file() and (bindir / "postgres").is_file():
            return bindir
    return None


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(p) for p in name.split(".") if p.isdigit())


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivatePostgres:
    """One throw-away PostgreSQL server owned by this test process."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.password = secrets.token_hex(16)
        self.port = 0
        self._proc: subprocess.Popen[bytes] | None = None
        # postgres refuses to run as root: drop to the system user the Debian package made.
        self._as_user = SYSTEM_USER if os.geteuid() == 0 else None
        self.root = Path(tempfile.mkdtemp(prefix="loaxa-pg-", dir=self._tmp_base()))
        self.data_dir = self.root / "data"
        self.socket_dir = self.root / "sock"
        self.log_path = self.root / "postgres.log"

    def _tmp_base(self) -> str:
        base = tempfile.gettempdir()
        # The dropped-privilege user must be able to traverse to its temp dir.
        if self._as_user and not os.stat(base).st_mode & stat.S_IXOTH:
            return "/tmp"
        return base

    def _popen_user(self) -> dict[str, object]:
        if self._as_user is None:
            return {}
        return {"user": self._as_user, "group": pwd.getpwnam(self._as_user).pw_gid, "extra_groups": []}

    def _run(self, args: list[str]) -> None:
        out = subprocess.run(
            args, cwd=self.root, capture_output=True, text=True, check=False, **self._popen_user()
        )
        if out.returncode != 0:
            raise RuntimeError(f"{args[0]} failed ({out.returncode}): {out.stderr or out.stdout}")

    def start(self) -> None:
        self.socket_dir.mkdir()
        pwfile = self.root / "pwfile"
        pwfile.write_text(self.password + "\n")
        if self._as_user:
            entry = pwd.getpwnam(self._as_user)
            for path in (self.root, self.socket_dir, pwfile):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        self._run([
            str(self.bindir / "initdb"), "-D", str(self.data_dir), "-U", SYSTEM_USER,
            "--pwfile", str(pwfile), "--auth-local=trust", "--auth-host=scram-sha-256",
            "--encoding=UTF8", "--locale=C", "--no-sync",
        ])  # fmt: skip
        pwfile.unlink()
        # A free port can be taken between probing and binding: retry on a new one.
        for _ in range(3):
            self.port = free_port()
            self._launch()
            if self._wait_ready():
                return
        raise RuntimeError(f"private PostgreSQL did not start:\n{self._log_tail()}")

    def _launch(self) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child owns it until stop()
        try:
            self._proc = subprocess.Popen(
                [
                    str(self.bindir / "postgres"), "-D", str(self.data_dir), "-p", str(self.port),
                    "-k", str(self.socket_dir), "-c", "listen_addresses=127.0.0.1",
                    # Throw-away data: durability costs time and buys nothing here.
                    "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                    "-c", "max_connections=200",
                ],
                cwd=self.root, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True, **self._popen_user(),
            )  # fmt: skip
        finally:
            log.close()

    def _wait_ready(self) -> bool:
        """Poll a real connection until the server accepts it; False if it died."""
        assert self._proc is not None
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                return False
            try:
                with psycopg.connect(self.conninfo("postgres"), connect_timeout=2):
                    return True
            except psycopg.OperationalError:
                time.sleep(0.05)
        self.stop_server()
        raise RuntimeError(f"private PostgreSQL not ready in {READY_TIMEOUT_S}s:\n{self._log_tail()}")

    def conninfo(self, dbname: str) -> str:
        return (
            f"host=127.0.0.1 port={self.port} user={SYSTEM_USER} "
            f"password={self.password} dbname={dbname}"
        )

    def admin_url(self) -> URL:
        return URL.create(
            "postgresql+psycopg", username=SYSTEM_USER, password=self.password,
            host="127.0.0.1", port=self.port, database="postgres",
        )  # fmt: skip

    def _log_tail(self) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-20:])
        except OSError:
            return "(no log)"

    def stop_server(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGINT)  # "fast" shutdown: disconnect clients, exit cleanly
        try:
            proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def restart(self) -> None:
        """Stop the server ("fast": clients are cut off) and start it again on the same port and data (the
        chaos suite's "PostgreSQL restarts")."""
        self.stop_server()
        self._launch()
        if not self._wait_ready():
            raise RuntimeError(f"private PostgreSQL did not come back on port {self.port}:\n{self._log_tail()}")

    def close(self) -> None:
        try:
            self.stop_server()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


@contextmanager
def fresh_database(admin_url: URL | str) -> Iterator[str]:
    """Create a uniquely named database on the server of `admin_url`; drop it afterwards."""
    admin = make_url(admin_url)
    name = f"loaxa_test_{secrets.token_hex(6)}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}" ENCODING \'UTF8\' TEMPLATE template0')
        try:
            yield admin.set(database=name).render_as_string(hide_password=False)
        finally:
            with engine.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        engine.dispose()


@contextmanager
def postgres_instance() -> Iterator[PostgresInstance]:
    """The session's PostgreSQL database, from the env var or a private server."""
    external = os.environ.get(ENV_URL)
    if external:
        with fresh_database(external) as url:
            yield PostgresInstance(url=url, private=False, data_dir=None)
        return
    bindir = find_bindir()
    if bindir is None:
        missing("initdb/postgres not found (apt-get install postgresql)")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SYSTEM_USER)
        except KeyError:
            missing(f"running as root and no '{SYSTEM_USER}' system user to drop to")
    server = PrivatePostgres(bindir)
    try:
        server.start()
        with fresh_database(server.admin_url()) as url:
            yield PostgresInstance(url=url, private=True, data_dir=server.data_dir)
    finally:
        server.close()


# Conftests in several folders may import the fixture; each import is its own session
# fixture, so they share one server by reference count instead of starting one each.
_shared: dict[str, object] = {"users": 0}


def _acquire() -> PostgresInstance:
    if _shared["users"] == 0:
        stack = ExitStack()
        instance = stack.enter_context(postgres_instance())
        _shared.update(stack=stack, instance=instance)
    _shared["users"] = int(_shared["users"]) + 1  # type: ignore[call-overload]
    return _shared["instance"]  # type: ignore[return-value]


def _release() -> None:
    _shared["users"] = int(_shared["users"]) - 1  # type: ignore[call-overload]
    if _shared["users"] == 0:
        stack = _shared.pop("stack")
        _shared.pop("instance")
        stack.close()  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def postgres_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """SQLAlchemy URL (postgresql+psycopg://...) of a fresh database for this session."""
    instance = _acquire()
    request.config.stash[POSTGRES_INSTANCE] = instance
    try:
        yield instance.url
    finally:
        _release()
