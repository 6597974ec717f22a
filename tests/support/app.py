"""Build the real app against a test database, and sign in users the way a client would."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import delete

from broadcast.bootstrap import Container, build_container
from broadcast.persistence.models import Base
from broadcast.services.context import Actor
from broadcast.services.users import create_user
from broadcast.settings import load_settings

PASSWORD = "Loa-Xa-2026!test"
# Real codes from the official 2025 list.
HANOI = "01"
HOAN_KIEM = "00070"  # a ward of Hà Nội
CUA_NAM = "00073"  # another ward of Hà Nội
HCMC = "79"
VUNG_TAU = "26506"  # a ward of TP Hồ Chí Minh
KEPT_TABLES = {"areas"}


def device_row(device_id: str, created_at: datetime, commune_code: str = HOAN_KIEM, **columns: Any) -> dict[str, Any]:
    """A `devices` row for persistence tests that need rows, not a registration (its password hash is a dummy)."""
    return {"id": device_id, "name": device_id, "commune_code": commune_code, "connection": "cellular",
            "mqtt_password_hash": "$7$x", "created_at": created_at, **columns}


def make_container(tmp_path, database_url: str, clock=None, **overrides) -> Container:
    overrides.setdefault("password_hash_memory_kib", 8192)  # the minimum: tests hash hundreds of passwords
    settings = load_settings(data_dir=tmp_path / "data", database_url=database_url,
                             secret_key="test-secret-key-0123456789-abcdefghijklmnop", **overrides)
    return build_container(settings, clock=clock)


def wipe(container: Container) -> None:
    """Empty every table a test may have written, keeping the seeded reference data."""
    with container.engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name not in KEPT_TABLES:
                connection.execute(delete(table))


@dataclass
class ApiUser:
    username: str
    headers: dict[str, str]


def add_user(container: Container, username: str, role: str, area: str) -> None:
    create_user(container.uow(), container.clock, container.hasher, Actor(None), username=username,
                password=PASSWORD, role=role, area_code=area)


def login(client: TestClient, username: str, password: str = PASSWORD) -> ApiUser:
    response = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return ApiUser(username, {"Authorization": f"Bearer {response.json()['access_token']}"})


def user(container: Container, client: TestClient, username: str, role: str, area: str) -> ApiUser:
    add_user(container, username, role, area)
    return login(client, username)
