"""A tiny MP3 served over local HTTP: the media every fan-out benchmark's devices fetch.

Standard library and ffmpeg only, so a benchmark that runs an older checkout's simulator (bench_sim.py --root)
can use it without importing this tree's packages.
"""
from __future__ import annotations

import hashlib
import http.server
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any


def make_mp3(path: Path, seconds: int = 30) -> None:
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise SystemExit("ffmpeg is needed to make the test MP3")
    subprocess.run([ffmpeg, "-v", "error", "-y", "-f", "lavfi", "-i", f"sine=frequency=880:duration={seconds}",
                    "-ac", "1", "-ar", "22050", "-b:a", "16k", str(path)], check=True)


def serve_file(path: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    """A server in a daemon thread, and the file's URL under /media/<sha256>.mp3 (any path gets the file)."""
    data = path.read_bytes()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server API names it
            self.send_response(200)
            self.send_header("Content-Type", "audio/mpeg")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            """Silent: thousands of devices fetch the file in a run, and a line each would drown the figures."""

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/media/{hashlib.sha256(data).hexdigest()}.mp3"
