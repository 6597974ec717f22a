"""TLS for the simulated devices: the handshake runs on the fleet's event loop.

paho's own handshake blocks, and one slow broker would stall every device of the fleet. The connected
SSLSocket is then handed to paho like a plain socket (paho maps SSLWantRead/Write to "try again").
"""
from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any


def client_context(ca_file: str | Path | None) -> ssl.SSLContext:
    """Verify the broker's certificate and name against `ca_file` (default: the system's CAs)."""
    return ssl.create_default_context(cafile=str(ca_file) if ca_file is not None else None)


async def handshake(loop: asyncio.AbstractEventLoop, sock: socket.socket, context: ssl.SSLContext,
                    host: str) -> ssl.SSLSocket:
    """TLS over a connected non-blocking socket; raises ssl.SSLError (an OSError) when verification fails."""
    tls = context.wrap_socket(sock, server_hostname=host, do_handshake_on_connect=False)  # takes over the fd
    try:
        while True:
            try:
                tls.do_handshake()
                return tls
            except ssl.SSLWantReadError:
                await _ready(loop, loop.add_reader, loop.remove_reader, tls)
            except ssl.SSLWantWriteError:
                await _ready(loop, loop.add_writer, loop.remove_writer, tls)
    except BaseException:  # refused, timed out or cancelled: the socket is ours to close
        tls.close()
        raise


async def _ready(loop: asyncio.AbstractEventLoop, add: Callable[..., Any], remove: Callable[[Any], Any],
                 sock: ssl.SSLSocket) -> None:
    done: asyncio.Future[None] = loop.create_future()

    def wake() -> None:
        if not done.done():
            done.set_result(None)

    add(sock, wake)
    try:
        await done
    finally:
        remove(sock)
