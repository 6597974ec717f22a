"""The real app served by uvicorn on a free loopback port in a thread; its lifespan starts and stops the runtime
(gateway and timers), so end-to-end and browser tests talk HTTP to the same process their container belongs to.
`serve_process` runs a real `loaxa serve --no-scheduler` process instead (browser tests, several API nodes)."""
from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import uvicorn

from tests.support.fleet import wait_for


class ServedApi:
    def __init__(self, app, port: int):
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                                    lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, name="api", daemon=True)
        self.base = f"http://127.0.0.1:{port}"

    def __enter__(self) -> ServedApi:
        self.thread.start()
        wait_for(lambda: self.server.started, 60, what="uvicorn started")  # a loaded 2-core CI machine
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)


@contextmanager
def serve_process(env: dict[str, str], port: int, log: Path) -> Iterator[str]:
    """`loaxa serve --no-scheduler` on 127.0.0.1:`port` with `env`, its output in `log`; yields its base URL once
    /healthz answers, terminates it afterwards."""
    loaxa = Path(sys.executable).with_name("loaxa")
    command = [str(loaxa)] if loaxa.exists() else [sys.executable, "-m", "broadcast"]
    with log.open("wb") as out:
        server = subprocess.Popen([*command, "serve", "--no-scheduler", "--host", "127.0.0.1", "--port", str(port)],
                                  env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, f"loaxa serve stopped:\n{log.read_text()}"
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass  # not listening yet: poll again
            assert time.monotonic() < deadline, f"loaxa serve did not start:\n{log.read_text()}"
            time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
