"""The bridge against the stand-in central server, served by uvicorn on a free loopback port (real HTTP)."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import argon2
import pytest
import uvicorn
from sqlalchemy import func, select

from broadcast.adapters.security import Argon2PasswordHasher
from broadcast.bridge.jobs import BridgeJobs
from broadcast.services.areas import create_zone
from broadcast.services.context import Actor
from broadcast.services.devices import DeviceSpec, register_device
from device_sim.central.app import CentralState, create_central_app
from tests.support.app import CUA_NAM, HOAN_KIEM, VUNG_TAU, make_container, wipe
from tests.support.audio_fixtures import generate, require_binary
from tests.support.broker import free_port
from tests.support.http_servers import http_servers  # noqa: F401 - fixture re-export

SECRET = "chia-se-bi-mat-voi-trung-uong-0123456789"


class CheapArgon2(Argon2PasswordHasher):
    """Real argon2 at minimal cost: these tests sign in users and are not about password hashing."""

    def __init__(self) -> None:
        self._argon2 = argon2.PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@dataclass
class Central:
    state: CentralState
    base: str  # http://127.0.0.1:port

    @property
    def api(self) -> str:
        return f"{self.base}/api/v1"

    def media_url(self, name: str) -> str:
        return f"{self.base}/media/{name}"

    def keys(self, kind: str | None = None) -> list[str]:
        return [r["key"] for r in self.state.received if kind is None or r["kind"] == kind]


@pytest.fixture(scope="session")
def central_server():
    state = CentralState()
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_central_app(state), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, name="central-sim", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the stand-in central server did not start"
        time.sleep(0.02)
    yield Central(state, f"http://127.0.0.1:{port}")
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def central(central_server) -> Central:
    central_server.state.reset()
    yield central_server
    central_server.state.reset()


@pytest.fixture
def container(tmp_path, database_url, clock, central):
    """The root fixture's container, configured for the bridge (overrides it for this folder)."""
    container = make_container(tmp_path, database_url, clock=clock, bridge_base_url=central.api,
                               bridge_hmac_secret=SECRET, bridge_timeout_s=1.0, bridge_retry_base_s=30,
                               bridge_retry_max_s=600, fetch_allow="127.0.0.1")  # the stand-in's media
    container.hasher = CheapArgon2()
    yield container
    wipe(container)
    container.close()


@pytest.fixture
def jobs(container) -> BridgeJobs:
    require_binary("ffmpeg")
    require_binary("espeak-ng")
    jobs = BridgeJobs(container)
    yield jobs
    jobs.client.close()


@pytest.fixture(scope="session")
def bulletin_mp3(tmp_path_factory) -> bytes:
    require_binary("ffmpeg")
    path = generate(tmp_path_factory.mktemp("bridge-audio") / "tin.mp3", kind="speechlike", seconds=4.0)
    return path.read_bytes()


@pytest.fixture
def registry(container) -> dict[str, list[str]]:
    """Two devices in each of two Hà Nội wards and one in a ward of TP Hồ Chí Minh."""
    system = Actor(None)
    zone = create_zone(container.uow(), container.clock, system, commune_code=HOAN_KIEM, name="Tổ dân phố 1",
                       kind="residential_group")
    out: dict[str, list[str]] = {}
    for prefix, area, zones in (("hk", HOAN_KIEM, (zone.id,)), ("cn", CUA_NAM, ()), ("vt", VUNG_TAU, ())):
        for n in range(1 if area == VUNG_TAU else 2):
            device_id = f"{prefix}-{n}"
            register_device(container.uow(), container.clock, system, DeviceSpec(
                id=device_id, name=f"Cụm loa {device_id}", area_code=area, zones=zones, vendor="Acme",
                connection="cellular"))
            out.setdefault(area, []).append(device_id)
    return out


def bulletin(bulletin_id: str, clock, *, priority: str = "normal", areas=(HOAN_KIEM,), audio_url: str | None = None,
             content: str | None = "Thông báo lịch tiếp công dân tháng mười hai.", valid_hours: float | None = 48,
             **extra) -> dict:
    """A bulletin as the central system sends it (docs/bridge.md)."""
    now: datetime = clock.now()
    body = {"id": bulletin_id, "title": f"Bản tin {bulletin_id}", "content": content, "audio_url": audio_url,
            "duration_s": 4, "topic": "land", "language": "vi", "issuer": "Bộ Văn hóa, Thể thao và Du lịch",
            "priority": priority, "areas": list(areas), "issued_at": now.isoformat(),
            "valid_from": now.isoformat(),
            "valid_to": (now + timedelta(hours=valid_hours)).isoformat() if valid_hours is not None else None}
    body.update(extra)
    return {k: v for k, v in body.items() if v is not None}


def count(container, model, *where) -> int:
    with container.engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(model).where(*where))


def rows(container, model, *where, order=None) -> list:
    with container.session_factory() as session:
        stmt = select(model).where(*where)
        if order is not None:
            stmt = stmt.order_by(order)
        return list(session.scalars(stmt))


def work_files(container) -> list[Path]:
    directory = container.settings.data_dir / "bridge-work"
    return sorted(directory.iterdir()) if directory.exists() else []
