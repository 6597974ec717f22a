"""A TCP socket (and a paho client using it) whose many tiny reads come out of one large recv().

paho reads every MQTT packet with three or more recv() calls (the command byte, each remaining-length byte,
then the body). Each is a system call that releases and retakes the GIL; in the server, where the inbox
thread keeps the GIL busy, every retake can wait up to the interpreter's switch interval, so the network
thread fell far behind the broker during a fleet's burst of acks. Here one recv() of up to 64 KiB serves the
packets that arrived together; `pending()` tells paho's loop (as for TLS sockets) that bytes are buffered, so
it reads them without waiting in select().
"""
from __future__ import annotations

import socket
from typing import Any

import paho.mqtt.client as mqtt

READ_SIZE = 65536


class BufferedSocket:
    __slots__ = ("_sock", "_buf", "_pos")

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buf = b""
        self._pos = 0

    def recv(self, bufsize: int) -> bytes:
        if self._pos < len(self._buf):
            start, end = self._pos, min(self._pos + bufsize, len(self._buf))
            self._pos = end
            if end == len(self._buf):
                chunk = self._buf[start:end]
                self._buf, self._pos = b"", 0
                return chunk
            return self._buf[start:end]
        data = self._sock.recv(max(bufsize, READ_SIZE))  # BlockingIOError and EOF (b"") pass through
        if len(data) <= bufsize:
            return data
        self._buf, self._pos = data, bufsize
        return data[:bufsize]

    def pending(self) -> int:
        """Bytes received from the kernel and not yet handed to paho."""
        return len(self._buf) - self._pos

    def __getattr__(self, name: str) -> Any:  # send, close, fileno, setblocking, setsockopt, shutdown...
        return getattr(self._sock, name)


def set_no_delay(sock: Any) -> None:
    """paho writes every packet with its own send() and never sets TCP_NODELAY: with Nagle plus delayed ACKs
    the second small packet of a burst (a PUBACK, an ack after a status) waits ~40 ms. Before this the server's
    inbox was capped at a few thousand messages a second with both cores idle."""
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except (OSError, AttributeError):
        pass  # not a TCP socket (e.g. a test double): nothing to tune


def buffered(sock: Any) -> Any:
    """Wrap a plain TCP socket; anything else (TLS buffers on its own, a test double) is returned as it is."""
    return BufferedSocket(sock) if type(sock) is socket.socket else sock


class BufferedClient(mqtt.Client):
    """paho's client on a BufferedSocket, handling every packet that arrived together in one loop pass."""

    def _create_socket(self) -> Any:  # a private hook of paho-mqtt 2.2 (pinned); without it reads are unbuffered
        return buffered(super()._create_socket())

    def loop_read(self, max_packets: int = 1) -> mqtt.MQTTErrorCode:
        # paho reads one packet per select() unless messages are in flight; a fleet's burst of acks would
        # cost a select() and a pass of paho's loop each.
        rc = super().loop_read(max_packets)
        while rc == mqtt.MQTT_ERR_SUCCESS and getattr(self._sock, "pending", lambda: 0)() > 0:
            rc = super().loop_read(max_packets)
        return rc
