"""Icecast 2.4 listens with an accept backlog of 5 (ICECAST_LISTEN_QUEUE): a commune's devices connecting at
once to a live mount overflow it and wait for TCP's SYN retries (1 s, 3 s, 7 s). The adapter widens the backlog
of the running process (broadcast/adapters/icecast_backlog.py). Shown here with Icecast paused (SIGSTOP), so it
accepts nothing: only the kernel's queue decides how many connections complete their handshake.
"""
from __future__ import annotations

import contextlib
import os
import select
import shutil
import signal
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from broadcast.adapters.icecast import IcecastServer
from broadcast.adapters.icecast_backlog import accept_backlog
from tests.support.icecast import start_icecast

pytestmark = pytest.mark.integration
CLIENTS = 60


@contextlib.contextmanager
def icecast_with(backlog: int | None) -> Iterator[IcecastServer]:
    directory = Path(tempfile.mkdtemp(prefix="loaxa-icecast-"))
    server = start_icecast(directory, listen_backlog=backlog)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)


def handshakes_while_paused(server: IcecastServer, clients: int) -> int:
    """How many of `clients` simultaneous connects complete while Icecast accepts nothing."""
    assert server.proc is not None
    pid = server.proc.pid
    socks = []
    os.kill(pid, signal.SIGSTOP)
    try:
        for _ in range(clients):
            sock = socket.socket()
            sock.setblocking(False)
            sock.connect_ex((server.config.host, server.config.port))
            socks.append(sock)
        pending, done = set(socks), set()
        while pending:
            # Completed handshakes become writable at once; the dropped ones wait for a SYN retry (1 s, then 3 s),
            # which finds the queue as full as before: 2.5 s of quiet means nothing more will complete.
            _, writable, _ = select.select([], list(pending), [], 2.5)
            if not writable:
                break
            for sock in writable:
                if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                    done.add(sock)
                pending.discard(sock)
        return len(done)
    finally:
        os.kill(pid, signal.SIGCONT)
        for sock in socks:
            sock.close()


def test_icecast_alone_queues_only_a_handful_of_connections():
    with icecast_with(None) as server:
        assert not server.backlog_widened
        assert accept_backlog(server.config.host, server.config.port) == 5
        assert handshakes_while_paused(server, CLIENTS) <= 10


def test_the_adapter_widens_the_backlog_so_a_commune_connects_at_once():
    with icecast_with(4096) as server:
        assert server.backlog_widened
        somaxconn = int(Path("/proc/sys/net/core/somaxconn").read_text())
        assert accept_backlog(server.config.host, server.config.port) == min(4096, somaxconn)
        assert handshakes_while_paused(server, CLIENTS) == CLIENTS


def test_an_icecast_started_elsewhere_is_widened_by_the_command(capsys):
    """`python -m broadcast.adapters.icecast_backlog PID PORT`, e.g. a systemd unit's ExecStartPost."""
    from broadcast.adapters.icecast_backlog import main

    with icecast_with(None) as server:
        assert server.proc is not None
        assert main([str(server.proc.pid), str(server.config.port), "--backlog", "300"]) == 0
        assert accept_backlog(server.config.host, server.config.port) == 300
        assert "300" in capsys.readouterr().out
        assert main([str(server.proc.pid), str(server.config.port + 1)]) == 1  # nothing listens there
