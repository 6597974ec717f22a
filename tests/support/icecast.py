"""A private icecast2 per test: real binary, free loopback port, config written by broadcast.adapters.icecast.

The directory is a fresh one under the system temp dir rather than pytest's tmp_path: as root, Icecast runs as
`nobody`, which cannot enter pytest's private 0700 directories.

Use from a conftest:  ``from tests.support.icecast import icecast  # noqa: F401``
"""
from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from broadcast.adapters.icecast import IcecastConfig, IcecastServer, icecast_binary, load_or_create_secrets
from broadcast.adapters.icecast_backlog import DEFAULT_BACKLOG
from tests.support import required
from tests.support.broker import free_port

missing = partial(required.missing, "icecast2")


def start_icecast(directory: Path, *, max_listeners: int = 100,
                  listen_backlog: int | None = DEFAULT_BACKLOG) -> IcecastServer:
    if icecast_binary() is None:
        missing("no `icecast2` binary (Debian package icecast2)")
    host = "127.0.0.1"
    config = IcecastConfig(directory=directory, host=host, port=free_port(host),
                           secrets=load_or_create_secrets(directory), max_listeners_per_mount=max_listeners,
                           listen_backlog=listen_backlog)
    server = IcecastServer(config)
    server.start()
    return server


@pytest.fixture
def icecast() -> Iterator[IcecastServer]:
    directory = Path(tempfile.mkdtemp(prefix="loaxa-icecast-"))
    server = start_icecast(directory)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)
