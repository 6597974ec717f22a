"""The real app served by uvicorn on a free loopback port in a thread; its lifespan starts and stops the runtime
(gateway and timers), so end-to-end and browser tests talk HTTP to the same process their container belongs to."""
from __future__ import annotations

import threading

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
