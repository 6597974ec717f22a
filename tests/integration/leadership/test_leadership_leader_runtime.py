"""The runtime under the lease, as `loaxa serve` embeds it: two in one database, one runs, the other takes over
when the first stops, and a clean stop releases the lease at once."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import delete

from broadcast.bootstrap import build_container
from broadcast.leader_runtime import LeaderRuntime
from broadcast.persistence.models_lease import SchedulerLeaseRow
from broadcast.services.leadership import Leadership
from broadcast.settings import load_settings

pytestmark = pytest.mark.integration


def _wait(predicate, timeout: float = 10.0) -> float:
    start = time.monotonic()
    while not predicate():
        assert time.monotonic() - start < timeout, "not within the time allowed"
        time.sleep(0.05)
    return time.monotonic() - start


def test_one_runtime_leads_and_the_other_takes_over(tmp_path, database_url, anon_broker):
    settings = load_settings(data_dir=tmp_path / "data", database_url=database_url, mqtt_url=anon_broker.url)
    container = build_container(settings)
    nodes = [LeaderRuntime(container, compile_every_s=None,
                           leadership=Leadership(container.uow, container.clock, ttl_s=10, renew_every_s=0.5,
                                                 holder=f"node-{i}")) for i in range(2)]
    try:
        for node in nodes:
            node.start()
        _wait(lambda: any(n.runtime is not None for n in nodes))
        time.sleep(1.5)  # several renewal periods: the other must still be waiting
        leading = [n for n in nodes if n.runtime is not None]
        assert len(leading) == 1
        first = leading[0]
        other = nodes[1 - nodes.index(first)]
        with container.uow() as uow:
            assert uow.lease.current("scheduler").holder == first.leadership.holder
        first.stop()  # clean stop: released, so the other leads within its next polls, not after a whole lease
        took = _wait(lambda: other.runtime is not None, 9)
        assert took < 5.0  # an unreleased lease would take at least 9.5 s (ttl 10 s): room for a loaded machine
        _wait(lambda: other.terms == 1)  # a term is counted once its runtime has started, a moment after it is set
        assert first.runtime is None
    finally:
        for node in nodes:
            node.stop()
        with container.engine.begin() as connection:
            connection.execute(delete(SchedulerLeaseRow))
        container.close()
