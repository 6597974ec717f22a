"""A TCP socket (and a paho client using it) whose many tiny reads and writes become one system call each way.

Reads: paho reads every MQTT packet with three or more recv() calls (the command byte, each remaining-length
byte, then the body). Each is a system call that releases and retakes the GIL; in the server, where the inbox
thread keeps the GIL busy, every retake can wait up to the interpreter's switch interval, so the network
thread fell far behind the broker during a fleet's burst of acks. Here one recv() of up to 64 KiB serves the
packets that arrived together; `pending()` tells paho's loop (as for TLS sockets) that bytes are buffered, so
it reads them without waiting in select().

Writes: paho sends every queued packet with its own send(), so the PUBACKs for a burst of 500 acks were 500
loopback segments (and as many wake-ups of the broker). Here `send()` only collects; the client flushes once
at the end of each write pass, keeping what the kernel did not take for the next one.

PUBACKs: an MQTT 3.1.1 PUBACK is a message id and nothing else; the client completes the publish without
paho's per-packet reason-code and properties objects (13 -> 4.6 µs per PUBACK here).

Inbound packets: paho frames each packet through three or more recv() calls and a growing bytearray, then
decodes a PUBLISH with format strings built per packet; a whole packet already in the buffer is cut out with
one slice, and an MQTT 3.1.1 PUBLISH decoded with fixed structs. Partial packets, MQTT 5 and QoS 2 take
paho's own path.

These classes override and call private methods of paho's client. Build clients with
`mqtt_io.client_factory.make_client`: it returns them only for the paho-mqtt versions the hooks were
written and tested for (the names and signatures are listed there), and paho's plain client otherwise.
"""
from __future__ import annotations

import socket
import struct
import threading
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.exception import MalformedPacket
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

READ_SIZE = 65536
# What an MQTT 3.1.1 PUBACK always means, built once: paho builds both objects for every PUBACK (half its
# ~13 µs per PUBACK here), and a fleet's burst is tens of thousands of them. Callbacks must not alter them.
_PUBACK_SUCCESS = ReasonCode(PacketTypes.PUBACK)
_NO_PROPERTIES = Properties(PacketTypes.PUBACK)
_MID = struct.Struct("!H")
_PUBACK_PACKET = struct.Struct("!BBH")  # fixed header, remaining length 2, packet id


class BufferedSocket:
    __slots__ = ("_sock", "_buf", "_pos", "_out")

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buf = b""
        self._pos = 0
        self._out = bytearray()

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

    def take_packet(self) -> tuple[int, bytes] | None:
        """The next MQTT packet if all of it is buffered: (its first byte, its body after the remaining length).
        None when it is not all here yet or its remaining length is malformed (paho's reader reports that)."""
        buf, pos = self._buf, self._pos
        end = len(buf)
        length, shift, i = 0, 0, pos + 1
        while True:
            if i >= end or shift > 21:  # the length goes on past the buffer, or past its 4-byte maximum
                return None
            byte = buf[i]
            i += 1
            length |= (byte & 127) << shift
            if byte < 128:
                break
            shift += 7
        if i + length > end:
            return None
        if i + length == end:
            self._buf, self._pos = b"", 0
        else:
            self._pos = i + length
        return buf[pos], buf[i:i + length]

    def send(self, data: bytes | bytearray | memoryview) -> int:
        """Take all of `data` for the next `flush()`."""
        self._out += data
        return len(data)

    def unsent(self) -> int:
        """Bytes taken by `send()` that the kernel has not accepted yet."""
        return len(self._out)

    def flush(self) -> bool:
        """Hand the collected bytes to the kernel; False when its buffer is full (the rest stays here).
        Errors other than a full buffer (reset, broken pipe) pass through."""
        out = self._out
        while out:
            try:
                sent = self._sock.send(out)
            except BlockingIOError:
                return False
            del out[:sent]
        return True

    def close(self) -> None:
        # paho closes right after queuing DISCONNECT: send what is collected if the kernel takes it now.
        try:
            self.flush()
        except OSError:
            pass  # the connection is going away anyway; nothing else can be done with these bytes
        self._sock.close()

    def __getattr__(self, name: str) -> Any:  # fileno, setblocking, setsockopt, shutdown...
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
    """paho's client on a BufferedSocket: every packet that arrived together handled in one loop pass, every
    packet queued since the last write pass sent with one send()."""

    def _create_socket(self) -> Any:  # a private hook of paho-mqtt 2.2 (pinned); without it reads are unbuffered
        return buffered(super()._create_socket())

    def loop_read(self, max_packets: int = 1) -> mqtt.MQTTErrorCode:
        # paho reads one packet per select() unless messages are in flight; a fleet's burst of acks would
        # cost a select() and a pass of paho's loop each.
        rc = super().loop_read(max_packets)
        while rc == mqtt.MQTT_ERR_SUCCESS and getattr(self._sock, "pending", lambda: 0)() > 0:
            rc = super().loop_read(max_packets)
        return rc

    def want_write(self) -> bool:
        sock = self._sock
        return len(self._out_packet) > 0 or (isinstance(sock, BufferedSocket) and sock.unsent() > 0)

    def _packet_write(self) -> mqtt.MQTTErrorCode:  # private hook of paho-mqtt 2.2 (pinned), like _create_socket
        rc = super()._packet_write()  # every queued packet into the socket's collected bytes
        sock = self._sock
        if not isinstance(sock, BufferedSocket):
            return rc  # TLS or a test double: paho's own writes went straight out
        try:
            if not sock.flush():
                return mqtt.MQTTErrorCode.MQTT_ERR_AGAIN  # loop_write then asks for a writable socket
        except OSError as err:
            self._easy_log(mqtt.MQTT_LOG_ERR, "failed to send on socket: %s", err)
            return mqtt.MQTTErrorCode.MQTT_ERR_CONN_LOST
        return rc

    def _packet_queue(self, command: int, packet: bytes | bytearray, mid: int, qos: int,
                      info: mqtt.MQTTMessageInfo | None = None) -> mqtt.MQTTErrorCode:
        # A packet queued by the network thread itself (a PUBACK, a reply from a callback) needs no wake-up
        # byte through paho's socket pair: the loop sees want_write() before it next waits in select(). paho
        # writes that byte for every packet, one more system call per received message.
        thread = self._thread
        if thread is not None and thread.ident == threading.get_ident():
            self._out_packet.append({"command": command, "mid": mid, "qos": qos, "pos": 0,
                                     "to_process": len(packet), "packet": packet, "info": info})
            return mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS
        return super()._packet_queue(command, packet, mid, qos, info)

    def _packet_read(self) -> mqtt.MQTTErrorCode:  # private hook of paho-mqtt 2.2 (pinned)
        sock = self._sock
        whole = sock.take_packet() if isinstance(sock, BufferedSocket) and self._in_packet["command"] == 0 else None
        if whole is None:
            return super()._packet_read()  # nothing or part of a packet buffered, a packet begun, TLS: paho reads
        command, body = whole
        # The state paho's reader leaves for its handlers, then its reset: as if paho had read this packet.
        self._in_packet = {"command": command, "have_remaining": 1, "remaining_count": [], "remaining_mult": 1,
                           "remaining_length": len(body), "packet": bytearray(body), "to_process": 0, "pos": 0}
        try:
            rc = self._packet_handle()
        except MalformedPacket as exc:
            self._easy_log(mqtt.MQTT_LOG_DEBUG, "Received malformed packet: %s", exc)
            rc = mqtt.MQTTErrorCode.MQTT_ERR_PROTOCOL
        self._in_packet = {"command": 0, "have_remaining": 0, "remaining_count": [], "remaining_mult": 1,
                           "remaining_length": 0, "packet": bytearray(b""), "to_process": 0, "pos": 0}
        with self._msgtime_mutex:
            self._last_bytes_received = mqtt.time_func()
        return rc

    def _handle_publish(self) -> mqtt.MQTTErrorCode:  # private hook of paho-mqtt 2.2 (pinned)
        command, packet = self._in_packet["command"], self._in_packet["packet"]
        qos = (command & 0x06) >> 1
        if self._protocol == mqtt.MQTTv5 or qos > 1 or self.on_log is not None or self._logger is not None:
            return super()._handle_publish()  # properties, QoS 2's handshake, paho's debug line: paho's path
        size = len(packet)
        if size < 2:
            return super()._handle_publish()  # malformed: paho raises what it raises
        (topic_len,) = _MID.unpack_from(packet, 0)
        start = 2 + topic_len + (2 if qos else 0)
        if topic_len == 0 or start > size:
            return super()._handle_publish()
        message = mqtt.MQTTMessage(_MID.unpack_from(packet, 2 + topic_len)[0] if qos else 0,
                                   bytes(packet[2:2 + topic_len]))
        message.dup = bool(command & 0x08)
        message.qos = qos
        message.retain = bool(command & 0x01)
        message.payload = bytes(packet[start:])
        message.timestamp = mqtt.time_func()
        self._handle_on_message(message)
        if qos == 1 and not self._manual_ack:
            return self._send_puback(message.mid)
        return mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS

    def ack_many(self, mids: list[int]) -> None:
        """PUBACK these QoS 1 messages (`manual_ack`) from any thread, in this order: every packet queued, then one
        wake-up byte for all of them (paho's `ack()` from another thread writes one per packet)."""
        if not mids or not self._manual_ack:
            return
        for mid in mids[:-1]:
            self._out_packet.append({"command": mqtt.PUBACK, "mid": mid, "qos": 0, "pos": 0, "to_process": 4,
                                     "packet": _PUBACK_PACKET.pack(mqtt.PUBACK, 2, mid), "info": None})
        self.ack(mids[-1], 1)  # paho's own path for the last: it wakes the network loop

    def _handle_pubackcomp(self, cmd: Any) -> mqtt.MQTTErrorCode:  # private hook of paho-mqtt 2.2 (pinned)
        packet = self._in_packet["packet"]
        if cmd != "PUBACK" or self._protocol == mqtt.MQTTv5 or len(packet) != 2:
            return super()._handle_pubackcomp(cmd)  # MQTT 5 reason codes and properties, malformed packets
        (mid,) = _MID.unpack(packet)
        with self._out_message_mutex:
            if mid in self._out_messages:
                return self._do_on_publish(mid, _PUBACK_SUCCESS, _NO_PROPERTIES)
        return mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS


class PresockClient(BufferedClient):
    """A BufferedClient that takes a TCP (or TLS) socket its caller connected, e.g. on an asyncio loop: set
    `presock` before `reconnect()`. paho's own connect blocks (about 3 ms per socket on this kind of
    machine, which alone would cap a 10k fleet at a few hundred connects a second). Without a socket it
    connects as paho does."""

    presock: socket.socket | None = None

    def _create_socket_connection(self) -> socket.socket:  # private hook of paho-mqtt 2.2 (pinned)
        sock, self.presock = self.presock, None
        return sock if sock is not None else super()._create_socket_connection()
