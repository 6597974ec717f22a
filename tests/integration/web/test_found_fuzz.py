"""Schemathesis over the published OpenAPI description, against the real app on SQLite.

Every operation gets generated valid and invalid requests (and Schemathesis' boundary and wrong-method cases), as
a signed-in admin and without a token. Each answer must be no server error, a status the description documents
and a body matching the documented schema; without a token, every protected operation answers 401.
Derandomized: the same few thousand requests on every run, in about a minute.
"""
from __future__ import annotations

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from broadcast.persistence.database import make_engine
from broadcast.persistence.migrate import upgrade
from broadcast.services.area_catalog import official_areas
from broadcast.services.areas import create_zone, seed_areas
from broadcast.services.context import Actor
from broadcast.services.devices import DeviceSpec, register_device
from broadcast.web.app import create_app
from tests.support.app import HANOI, HOAN_KIEM, add_user, login, make_container

pytestmark = pytest.mark.integration
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
FUZZ = settings(derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory):
    """One SQLite database with areas, an admin of Hà Nội, a zone and a device, so small ids and codes hit rows."""
    tmp = tmp_path_factory.mktemp("fuzz")
    url = f"sqlite:///{tmp / 'loaxa.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    container = make_container(tmp, url)
    system = Actor(None)
    seed_areas(container.uow(), container.clock, official_areas(), system)
    add_user(container, "admin", "admin", HANOI)
    create_zone(container.uow(), container.clock, system, commune_code=HOAN_KIEM, name="Thôn 1", kind="village")
    register_device(container.uow(), container.clock, system, DeviceSpec(id="loa-1", name="Cụm loa 1",
                                                                          area_code=HOAN_KIEM))
    app = create_app(container)
    with TestClient(app) as client:
        app.state.admin_headers = login(client, "admin").headers
    yield app
    container.close()


@pytest.fixture(scope="module")
def fuzz_schema(fuzz_app):
    return schemathesis.openapi.from_asgi("/api/v1/openapi.json", fuzz_app)


schema = schemathesis.pytest.from_fixture("fuzz_schema")


@schema.parametrize()
@settings(FUZZ, max_examples=8)
def test_api_as_admin(case, fuzz_app):
    case.call_and_validate(headers=fuzz_app.state.admin_headers, checks=CHECKS)


@schema.parametrize()
@settings(FUZZ, max_examples=2)
def test_api_without_login(case):
    case.headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
    response = case.call_and_validate(checks=CHECKS)
    if case.operation.definition.raw.get("security"):
        assert response.status_code == 401, response.text
