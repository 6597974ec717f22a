"""LoopIO: replies leave within a long loop pass, every FLUSH_EVERY replying clients, not only at its end."""
from __future__ import annotations

import asyncio

from device_sim.loop_io import FLUSH_EVERY, LoopIO


class FakeClient:
    """Stands in for a paho client: reading queues one reply, which paho announces through register-write."""

    def __init__(self, log: list[str], name: str) -> None:
        self.log, self.name, self.queued = log, name, 0

    def loop_read(self) -> None:
        self.queued += 1
        self.on_socket_register_write(self, None, None)

    def loop_write(self) -> None:
        self.log.append(f"write {self.name}")
        self.queued = 0

    def want_write(self) -> bool:
        return self.queued > 0


def test_replies_are_written_every_flush_every_clients_within_one_pass() -> None:
    async def main() -> list[str]:
        io = LoopIO(asyncio.get_running_loop())
        log: list[str] = []
        clients = [FakeClient(log, str(i)) for i in range(FLUSH_EVERY * 2 + 3)]
        ios = [io.attach(c) for c in clients]
        for i, client_io in enumerate(ios):  # one long pass: every socket readable at once
            client_io._read()  # noqa: SLF001 - what the loop's reader callback runs
            log.append(f"read {i}")
        log.append("pass ends")
        await asyncio.sleep(0)  # the end-of-pass flush
        return log

    log = asyncio.run(main())
    ends = log.index("pass ends")
    written_in_pass = [e for e in log[:ends] if e.startswith("write")]
    assert len(written_in_pass) == FLUSH_EVERY * 2  # two full groups went out during the pass
    assert log.index(f"write {FLUSH_EVERY - 1}") < log.index(f"read {FLUSH_EVERY}")
    assert sorted(e for e in log[ends:] if e.startswith("write")) == \
        sorted(f"write {i}" for i in range(FLUSH_EVERY * 2, FLUSH_EVERY * 2 + 3))  # the rest at the end
