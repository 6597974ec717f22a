"""Drive paho clients from one asyncio loop (paho's external-loop callbacks), thousands at a time.

Reads: the loop calls `loop_read` when a socket is readable. Writes: paho asks for a writer each time it
queues a packet on an idle socket; arming and disarming an epoll writer per packet (two syscalls and a loop
pass) cost a 10,000-device fleet more CPU than its protocol work. Instead every client that queued something
is written once at the end of the current loop pass, and a real writer is armed only when the kernel's
send buffer is full. A pass can be long (when a zone command reaches thousands of devices at once, epoll
reports them all and each one's reply is computed in the same pass: over a second for 10,000), so the
replies also go out every FLUSH_EVERY replying clients, as a real controller would send them, at once.
"""
from __future__ import annotations

import asyncio
from typing import Any

import paho.mqtt.client as mqtt

from mqtt_io.buffered_socket import BufferedClient, set_no_delay

FLUSH_EVERY = 32  # clients with something to send before a write pass in the middle of a loop pass


def _nothing() -> int:
    return 0


class LoopIO:
    """One per event loop: collects clients with queued packets and writes them in one pass."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._dirty: list[ClientIO] = []
        self._flush_scheduled = False

    def attach(self, client: mqtt.Client) -> ClientIO:
        """Route `client`'s socket events through this loop (replaces its on_socket_* callbacks)."""
        io = ClientIO(self, client)
        client.on_socket_open = io.opened
        client.on_socket_close = io.closed
        client.on_socket_register_write = io.wants_write
        client.on_socket_unregister_write = io.written
        return io

    def _mark(self, io: ClientIO) -> None:
        self._dirty.append(io)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self.loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        self._write_dirty()

    def _write_dirty(self) -> None:
        dirty, self._dirty = self._dirty, []
        for io in dirty:
            io.flush()

    def after_read(self) -> None:
        """Called after each client's read (outside paho's callbacks): write if enough clients are waiting."""
        if len(self._dirty) >= FLUSH_EVERY:
            self._write_dirty()


class ClientIO:
    __slots__ = ("_io", "client", "_sock", "_writer_armed", "_drain")

    def __init__(self, io: LoopIO, client: mqtt.Client) -> None:
        self._io = io
        self.client = client
        self._sock: Any = None
        self._writer_armed = False
        # paho's plain client (an untested paho-mqtt, see mqtt_io.client_factory) reads one packet per call
        # and can leave the next ones decrypted in the TLS object, where epoll does not see them.
        self._drain = isinstance(client, mqtt.Client) and not isinstance(client, BufferedClient)

    def opened(self, _c: Any, _u: Any, sock: Any) -> None:
        set_no_delay(sock)
        self._sock = sock
        # A BufferedClient's loop_read reads until nothing is left in the socket's own buffer (epoll only
        # knows about the kernel's).
        self._io.loop.add_reader(sock, self._read)

    def closed(self, _c: Any = None, _u: Any = None, sock: Any = None) -> None:
        sock = sock if sock is not None else self._sock
        if sock is None:
            return
        self._io.loop.remove_reader(sock)
        if self._writer_armed:
            self._writer_armed = False
            self._io.loop.remove_writer(sock)
        self._sock = None

    def _read(self) -> None:
        client = self.client
        rc = client.loop_read()
        if self._drain:  # what BufferedClient.loop_read does by itself
            while rc == mqtt.MQTT_ERR_SUCCESS and getattr(client.socket(), "pending", _nothing)() > 0:
                rc = client.loop_read()
        self._io.after_read()

    def wants_write(self, _c: Any, _u: Any, _sock: Any) -> None:
        self._io._mark(self)  # noqa: SLF001 - the two classes are one mechanism

    def written(self, _c: Any, _u: Any, sock: Any) -> None:
        if self._writer_armed:
            self._writer_armed = False
            self._io.loop.remove_writer(sock)

    def flush(self) -> None:
        client = self.client
        client.loop_write()
        if client.want_write() and not self._writer_armed and self._sock is not None:
            self._writer_armed = True  # the send buffer is full: wait for the socket to drain
            self._io.loop.add_writer(self._sock, client.loop_write)
