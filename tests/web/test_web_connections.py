"""No page keeps a database connection after answering: a page that used a repository outside its unit of work
held one each time, and a few dozen officers exhausted the pool (found by benchmarks/bench_pages.py)."""
from __future__ import annotations

import pytest

from broadcast.services.context import Actor
from broadcast.services.devices import DeviceSpec, register_device
from broadcast.web.pages import page_modules
from tests.support.app import HANOI, HOAN_KIEM, add_user
from tests.support.web import sign_in

pytestmark = pytest.mark.integration


def page_paths(samples: dict[str, str]) -> list[str]:
    """Every GET page, a page with parameters when `samples` has a value for each."""
    paths = set()
    for module in page_modules():
        for route in module.router.routes:
            if "GET" not in getattr(route, "methods", ()) or route.path == "/dang-xuat":
                continue
            if all(name in samples for name in route.param_convertors):
                path = route.path
                for name in route.param_convertors:
                    path = path.replace("{" + name + "}", samples[name])
                paths.add(path)
    return sorted(paths)


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
