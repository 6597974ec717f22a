"""Shared fixtures: the database tests run once on SQLite and once on PostgreSQL."""
from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from broadcast.bootstrap import SystemClock
from broadcast.persistence.database import make_engine, make_session_factory
from broadcast.persistence.migrate import upgrade
from broadcast.persistence.unit_of_work import SqlUnitOfWork
from broadcast.services.area_catalog import official_areas
from broadcast.services.areas import seed_areas
from broadcast.services.context import Actor
from broadcast.web.app import create_app
from tests.support.app import make_container, wipe
from tests.support.clock import MutableClock
from tests.support.postgres import fresh_database, postgres_url  # noqa: F401 - fixture re-export


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated database with the official areas seeded once per backend and session."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'loaxa.db'}"
    else:  # a database of its own on the session's server, so postgres_url itself stays empty
        database = fresh_database(request.getfixturevalue("postgres_url"))
        url = database.__enter__()
        request.addfinalizer(lambda: database.__exit__(None, None, None))
    engine = make_engine(url)
    upgrade(engine)
    seed_areas(SqlUnitOfWork(make_session_factory(engine)), SystemClock(), official_areas(), Actor(None))
    engine.dispose()
    return url


@pytest.fixture
def clock() -> MutableClock:
    return MutableClock()


@pytest.fixture
def container(tmp_path, database_url, clock):
    container = make_container(tmp_path, database_url, clock=clock)
    yield container
    wipe(container)
    container.close()


@pytest.fixture
def client(container) -> TestClient:
    with TestClient(create_app(container)) as test_client:
        yield test_client
