"""Widen the accept backlog of a running icecast2: 2.4 listens with a backlog of 5 and has no option to change it.

Icecast 2.4 calls `listen(sock, ICECAST_LISTEN_QUEUE)` with `ICECAST_LISTEN_QUEUE 5` (src/global.h); the
`<listen-backlog>` setting only exists from 2.5. When a live session starts, every loudspeaker of a commune
receives `play_now` within a fraction of a second and connects at once: past 6 waiting connections the kernel
drops the SYNs, and each dropped device retries after 1 s, then 3 s, 7 s... (TCP's SYN back-off), long enough
to miss spec 9.3's 10 s. net.core.somaxconn does not help: it caps what the program asks for, and 5 is asked.

On Linux, `listen()` on a socket that already listens only changes its backlog. We take a duplicate of Icecast's
listening socket with pidfd_getfd(2) (Linux 5.6; allowed to the same user or to root, the ptrace rule), call
`listen()` with a wide backlog on it, and close our duplicate: the socket, shared, keeps the new backlog for as
long as Icecast keeps it open. The kernel still caps the value at net.core.somaxconn.
"""
from __future__ import annotations

import ctypes
import os
import socket
from pathlib import Path

SYS_PIDFD_GETFD = 438  # the same number on every Linux architecture (generic syscall table)
TCP_LISTEN = "0A"
DEFAULT_BACKLOG = 4096


class BacklogError(Exception):
    """The backlog could not be widened (no such socket, no permission, no pidfd_getfd); the message says why."""


def _listening_inodes(pid: int, port: int) -> set[str]:
    """Inodes of the TCP sockets in LISTEN on `port` in the network namespace of `pid`."""
    inodes = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == TCP_LISTEN and int(local.rsplit(":", 1)[1], 16) == port:
                inodes.add(inode)
    return inodes


def listening_fds(pid: int, port: int) -> list[int]:
    """The descriptors, in process `pid`, of its sockets listening on TCP `port`."""
    inodes = _listening_inodes(pid, port)
    found = []
    fd_dir = Path(f"/proc/{pid}/fd")
    try:
        entries = list(fd_dir.iterdir())
    except OSError as exc:
        raise BacklogError(f"cannot read {fd_dir}: {exc.strerror}") from None
    for entry in entries:
        try:
            target = os.readlink(entry)
        except OSError:
            continue
        if target.startswith("socket:[") and target[8:-1] in inodes:
            found.append(int(entry.name))
    return sorted(found)


def _getfd(pidfd: int, target_fd: int) -> int:
    libc = ctypes.CDLL(None, use_errno=True)
    fd = libc.syscall(SYS_PIDFD_GETFD, pidfd, target_fd, 0)
    if fd < 0:
        err = ctypes.get_errno()
        raise BacklogError(f"pidfd_getfd: {os.strerror(err)}")
    return int(fd)


def widen_backlog(pid: int, port: int, backlog: int = DEFAULT_BACKLOG) -> int:
    """Give every socket of process `pid` listening on `port` the accept backlog `backlog`; how many it changed."""
    fds = listening_fds(pid, port)
    if not fds:
        raise BacklogError(f"process {pid} has no socket listening on port {port}")
    try:
        pidfd = os.pidfd_open(pid)
    except (AttributeError, OSError) as exc:
        raise BacklogError(f"pidfd_open: {exc}") from None
    try:
        for target in fds:
            sock = socket.socket(fileno=_getfd(pidfd, target))
            try:
                sock.listen(backlog)
            finally:
                sock.close()  # only our duplicate: Icecast's descriptor keeps the socket open
    finally:
        os.close(pidfd)
    return len(fds)


def accept_backlog(host: str, port: int) -> int | None:
    """The backlog the kernel applies to the listening socket at host:port (what `ss -lnt` shows as Send-Q)."""
    import subprocess

    try:
        out = subprocess.run(["ss", "-Hltn", f"sport = :{port}"], capture_output=True, text=True, timeout=10,
                             check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    for line in out.splitlines():
        fields = line.split()  # State Recv-Q Send-Q Local Peer
        if len(fields) >= 4 and fields[3].rsplit(":", 1)[0].strip("[]") in (host, "0.0.0.0", "*", "::"):
            return int(fields[2])
    return None


def main(argv: list[str] | None = None) -> int:
    """For an icecast2 started by systemd or compose (as root, after it listens), e.g. a unit's
    `ExecStartPost=/opt/loaxa/.venv/bin/python -m broadcast.adapters.icecast_backlog $MAINPID 8001`."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m broadcast.adapters.icecast_backlog",
                                     description="Mở rộng hàng đợi kết nối (backlog) của icecast2 đang chạy.")
    parser.add_argument("pid", type=int, help="PID của icecast2")
    parser.add_argument("port", type=int, help="cổng nghe của icecast2")
    parser.add_argument("--backlog", type=int, default=DEFAULT_BACKLOG)
    args = parser.parse_args(argv)
    try:
        changed = widen_backlog(args.pid, args.port, args.backlog)
    except BacklogError as exc:
        print(f"Không mở rộng được hàng đợi kết nối của icecast2: {exc}")
        return 1
    print(f"Đã đặt hàng đợi kết nối {args.backlog} cho {changed} cổng nghe {args.port} của icecast2 (PID {args.pid}).")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
