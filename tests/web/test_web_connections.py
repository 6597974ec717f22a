"""No page keeps a database connection after answering: a page that used a repository outside its unit of work
held one each time, and a few dozen officers exhausted the pool (found by benchmarks/bench_pages.py)."""
from __future__ import annotations

import pytest

from broadcast.services.context import Actor
from broadcast.services.devices import DeviceSpec, register_device
from broadcast.web.pages import page_paths
from tests.support.app import HANOI, HOAN_KIEM, add_user
from tests.support.web import sign_in

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("username, role, area", [("quan-tri-hn", "admin", HANOI),
                                                  ("can-bo-hk", "editor", HOAN_KIEM)])
def test_every_page_gives_its_connection_back(container, client, username, role, area):
    register_device(container.uow(), container.clock, Actor(None), DeviceSpec("loa-hk-1", "Cụm loa 1", HOAN_KIEM))
    add_user(container, username, role, area)
    assert sign_in(client, username).status_code == 303
    pool = container.engine.pool
    paths = page_paths({"device_id": "loa-hk-1"})
    assert len(paths) >= 20
    for path in paths:
        client.get(path)
        assert pool.checkedout() == 0, path
