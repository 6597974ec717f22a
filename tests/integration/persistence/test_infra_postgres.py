"""The PostgreSQL test fixture gives a real, private (or explicitly configured) server."""

import os

import psycopg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.support.postgres import ENV_URL, POSTGRES_INSTANCE

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def test_infra_postgres_connects_to_a_fresh_database(postgres_url: str) -> None:
    assert postgres_url.startswith("postgresql+psycopg://")
    engine = create_engine(postgres_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar_one() == 1
            version_num = int(conn.execute(text("SHOW server_version_num")).scalar_one())
            database = conn.execute(text("SELECT current_database()")).scalar_one()
            tables = conn.execute(
                text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
            ).scalar_one()
    finally:
        engine.dispose()
    assert version_num >= 130000, f"PostgreSQL >= 13 required, got {version_num}"
    assert database == make_url(postgres_url).database
    assert database.startswith("loaxa_test_")
    assert tables == 0


def test_infra_postgres_is_not_the_system_server(postgres_url: str, request: pytest.FixtureRequest) -> None:
    instance = request.config.stash[POSTGRES_INSTANCE]
    url = make_url(postgres_url)
    with psycopg.connect(_libpq(postgres_url)) as conn:
        port = conn.execute("SELECT inet_server_port()").fetchone()[0]
        data_directory = conn.execute("SHOW data_directory").fetchone()[0] if instance.private else None
    assert port == url.port
    external = os.environ.get(ENV_URL)
    if external:
        configured = make_url(external)
        assert not instance.private
        assert (url.host, url.port) == (configured.host, configured.port or 5432)
        assert url.database != configured.database
    else:
        assert instance.private
        assert url.host == "127.0.0.1"
        assert port != 5432
        assert data_directory == str(instance.data_dir)
