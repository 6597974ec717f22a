"""The audio path of live sessions held by this process: one encoder per connected session, the idle watchdog,
and a clean end whatever way the link goes.

A session's audio link (a WebSocket) lands on one process; that process runs the session's encoder (an ffmpeg
feeding the Icecast mount, adapters/live_encoder.py) and ends the session when the link ends: the officer's stop
(ended), the socket closing or staying silent for `idle_timeout_s` (dropped), the encoder dying (failed). Ending
always does the same: encoder closed (the mount goes away with it), `stop` staged for the devices, the recording
handed to the library. A session stopped through the API on another process is noticed by polling its row.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from broadcast.domain.errors import Conflict, PermissionDenied
from broadcast.domain.live import LiveSession, LiveStatus
from broadcast.services import live as service
from broadcast.services.context import Actor
from broadcast.services.ports import LiveUnitOfWork

log = logging.getLogger(__name__)


class LiveEncoder(Protocol):
    @property
    def alive(self) -> bool: ...
    def start(self) -> None: ...
    def feed(self, data: bytes) -> None: ...
    def finish(self, timeout: float = 10.0) -> int | None: ...
    def kill(self) -> None: ...
    def error_tail(self) -> str: ...


EncoderFactory = Callable[[LiveSession, Path], LiveEncoder]  # (session, recording path) -> not yet started


@dataclass(frozen=True)
class Ending:
    status: LiveStatus
    reason: str


STOPPED = Ending(LiveStatus.ENDED, "stopped")
TIME_UP = Ending(LiveStatus.ENDED, "time_up")
SOCKET_CLOSED = Ending(LiveStatus.DROPPED, "socket_closed")
IDLE = Ending(LiveStatus.DROPPED, "idle")
NEVER_CONNECTED = Ending(LiveStatus.DROPPED, "never_connected")
ENCODER_FAILED = Ending(LiveStatus.FAILED, "encoder_failed")


class LiveLink:
    """One connected session: feed it audio; `close` it exactly once."""

    def __init__(self, relay: LiveRelay, session: LiveSession, encoder: LiveEncoder, recording: Path):
        self.relay = relay
        self.session = session
        self.encoder = encoder
        self.recording = recording
        self.bytes_received = 0
        self.last_audio = time.monotonic()
        self._marked = False
        self._closed = False
        self._lock = threading.Lock()

    def feed(self, data: bytes) -> None:
        """Raises EncoderGone when ffmpeg has stopped."""
        self.encoder.feed(data)
        self.bytes_received += len(data)
        self.last_audio = time.monotonic()
        if not self._marked:
            self._marked = True
            service.mark_live(self.relay.uow_factory(), self.relay.tools.clock, self.session.id)

    def idle_for(self) -> float:
        return time.monotonic() - self.last_audio

    def still_open(self) -> bool:
        return service.is_open(self.relay.uow_factory(), self.session.id)

    def close(self, ending: Ending) -> LiveSession | None:
        with self._lock:
            if self._closed:
                return None
            self._closed = True
        self.encoder.finish(self.relay.finish_timeout_s)
        self.relay.forget(self.session.id)
        ended = None
        try:
            ended = service.end_live(self.relay.uow_factory(), self.relay.tools, Actor(None), self.session.id,
                                     status=ending.status, reason=ending.reason, bytes_received=self.bytes_received)
        finally:
            self.relay.after_end(self.session.id, self.recording)
        return ended


class LiveRelay:
    def __init__(self, uow_factory: Callable[[], LiveUnitOfWork], tools: service.LiveTools,
                 encoder_factory: EncoderFactory, recordings_dir: Path, *, idle_timeout_s: float = 5.0,
                 connect_timeout_s: float = 20.0, finish_timeout_s: float = 10.0,
                 on_commands: Callable[[], None] = lambda: None,
                 on_recording: Callable[[int, Path], None] | None = None):
        self.uow_factory = uow_factory
        self.tools = tools
        self.encoder_factory = encoder_factory
        self.recordings_dir = recordings_dir
        self.idle_timeout_s = idle_timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.finish_timeout_s = finish_timeout_s
        self.on_commands = on_commands  # wakes the command outbox after a stop was staged
        self.on_recording = on_recording  # (session id, file) -> the library keeps it
        self._links: dict[int, LiveLink] = {}
        self._watchdogs: dict[int, threading.Timer] = {}  # sessions started here whose audio has not come yet
        self._lock = threading.Lock()

    def connect(self, session_id: int, actor: Actor) -> LiveLink:
        """The audio link of a session opens here: only the users who may send it, only while it is open, once."""
        uow = self.uow_factory()
        with uow:
            live = uow.live.get(session_id)
        if live is None or (actor.principal is not None and not service.may_send(actor.principal, live)):
            raise PermissionDenied("Không có quyền gửi âm thanh cho phiên phát trực tiếp này.")
        if not live.status.open:
            raise Conflict(f"Phiên phát trực tiếp số {session_id} đã kết thúc.", code="already_ended")
        recording = self.recordings_dir / f"live-{session_id}.flac"
        with self._lock:
            if session_id in self._links:
                raise Conflict("Phiên này đang nhận âm thanh từ một kết nối khác.", code="already_connected")
            encoder = self.encoder_factory(live, recording)
            link = LiveLink(self, live, encoder, recording)
            self._links[session_id] = link
            watchdog = self._watchdogs.pop(session_id, None)
        if watchdog is not None:
            watchdog.cancel()  # the link came; from now on the idle timeout guards it
        try:
            encoder.start()
        except Exception:
            self.forget(session_id)
            raise
        return link

    def link(self, session_id: int) -> LiveLink | None:
        with self._lock:
            return self._links.get(session_id)

    def forget(self, session_id: int) -> None:
        with self._lock:
            self._links.pop(session_id, None)

    def active(self) -> list[int]:
        with self._lock:
            return sorted(self._links)

    def after_end(self, session_id: int, recording: Path) -> None:
        self.on_commands()
        if self.on_recording is not None:
            self.on_recording(session_id, recording)

    def watch_connection(self, session_id: int) -> threading.Timer:
        """A session whose audio never arrives is dropped after `connect_timeout_s`: devices told to stop."""
        timer = threading.Timer(self.connect_timeout_s, self._drop_if_never_connected, args=(session_id,))
        timer.daemon = True
        with self._lock:
            self._watchdogs[session_id] = timer
        timer.start()
        return timer

    def _drop_if_never_connected(self, session_id: int) -> None:
        with self._lock:
            self._watchdogs.pop(session_id, None)
        try:
            uow = self.uow_factory()
            with uow:
                live = uow.live.get(session_id)
            if live is not None and live.status is LiveStatus.WAITING and self.link(session_id) is None:
                if service.end_live(self.uow_factory(), self.tools, Actor(None), session_id,
                                    status=NEVER_CONNECTED.status, reason=NEVER_CONNECTED.reason):
                    self.on_commands()
        except Exception:
            log.exception("dropping live session %s that never connected failed", session_id)

    def close_all(self) -> None:
        """Shutdown: every session this process holds ends as dropped and its devices are told to stop, those still
        waiting for their link (started here, watchdog pending) included, so nothing is left listening to a mount
        that will never come."""
        with self._lock:
            waiting, self._watchdogs = dict(self._watchdogs), {}
        for session_id, timer in waiting.items():
            timer.cancel()
            self._drop_if_never_connected(session_id)
        for session_id in self.active():
            link = self.link(session_id)
            if link is not None:
                link.close(SOCKET_CLOSED)
