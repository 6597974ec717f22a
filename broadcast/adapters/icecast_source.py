"""An Icecast source connection of our own: the mount exists from the moment the officer's link opens.

ffmpeg's icecast:// output connects only once its encoder has a first frame, about a second after the first audio
(decoding, the leveller's look-ahead, the MP3 encoder's delay). Until then every device polling the session's URL
gets 404 and tries again a second later, so the mount's late birth plus half a retry period on average came on top
of the encoder's own delay. Holding the source connection ourselves (HTTP PUT, Icecast 2.4.0 and later), opened
before the encoder starts, gives devices a 200 and an open connection at once: the first audio reaches them as
soon as it is encoded. Icecast drops a source that sends nothing for `<source-timeout>` (10 s); a session silent
for LOAXA_LIVE_IDLE_TIMEOUT_S (5 s) is dropped before that.
"""
from __future__ import annotations

import base64
import socket
from urllib.parse import unquote, urlsplit

ANSWER_LIMIT = 4096


class SourceRefused(Exception):
    """Icecast could not be reached or refused the mount (wrong password, mount in use, too many sources)."""


class IcecastSource:
    """One mount fed over one connection: `open`, `write` MP3 bytes as they come, `close` (the mount goes)."""

    def __init__(self, source_url: str, *, content_type: str = "audio/mpeg", name: str = "LoaXa",
                 timeout: float = 10.0):
        parts = urlsplit(source_url)  # icecast://source:PASSWORD@host:port/mount, as ffmpeg takes it
        if parts.scheme not in ("icecast", "http") or not parts.hostname or not parts.port:
            raise ValueError(f"not an Icecast source URL: {parts.scheme}://{parts.hostname}:{parts.port}")
        self.host, self.port, self.mount = parts.hostname, parts.port, parts.path or "/"
        self._user, self._password = unquote(parts.username or "source"), unquote(parts.password or "")
        self.content_type, self.name, self.timeout = content_type, name, timeout
        self._sock: socket.socket | None = None

    def open(self) -> None:
        credentials = base64.b64encode(f"{self._user}:{self._password}".encode()).decode()
        try:
            sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        except OSError as exc:
            raise SourceRefused(f"không kết nối được Icecast {self.host}:{self.port}: {exc}") from None
        try:
            sock.sendall((f"PUT {self.mount} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                          f"Authorization: Basic {credentials}\r\nUser-Agent: LoaXa\r\n"
                          f"Content-Type: {self.content_type}\r\nIce-Name: {self.name}\r\nIce-Public: 0\r\n"
                          "Expect: 100-continue\r\n\r\n").encode("latin-1"))
            status = self._final_status(sock)
        except OSError as exc:
            sock.close()
            raise SourceRefused(f"Icecast ngắt kết nối nguồn: {exc}") from None
        if status != 200:
            sock.close()
            raise SourceRefused(f"Icecast từ chối điểm phát {self.mount} (HTTP {status}).")
        sock.settimeout(self.timeout)  # a write blocked this long means Icecast stopped reading
        self._sock = sock

    @staticmethod
    def _final_status(sock: socket.socket) -> int:
        """The status after any `100 Continue` (Icecast sends both at once to a PUT that expects it)."""
        answer = b""
        while len(answer) < ANSWER_LIMIT:
            chunk = sock.recv(ANSWER_LIMIT)
            if not chunk:
                break
            answer += chunk
            heads = [h for h in answer.split(b"\r\n\r\n") if h.startswith(b"HTTP/")]
            final = [h for h in heads if b" 100 " not in h.split(b"\r\n", 1)[0]]
            if final:
                line = final[0].split(b"\r\n", 1)[0].split()
                return int(line[1]) if len(line) > 1 and line[1].isdigit() else 0
        return 0

    def write(self, data: bytes) -> None:
        """Raises OSError when Icecast has dropped the source."""
        if self._sock is None:
            raise OSError("the Icecast source is not open")
        self._sock.sendall(data)

    def close(self) -> None:
        if self._sock is not None:
            try:
                self._sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed by the other side: nothing left to shut down
            self._sock.close()
            self._sock = None
