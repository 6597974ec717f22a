"""Fixtures of the emergency tests: a small registry in two Hà Nội wards and one ward of TP Hồ Chí Minh."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import argon2
import pytest
from sqlalchemy import func, select

from broadcast.adapters.security import Argon2PasswordHasher
from broadcast.domain.audio import AssetStatus, AudioAsset
from broadcast.persistence.models import CommandPublicationRow, CommandRow, EmergencyRow
from broadcast.services.areas import create_zone
from broadcast.services.context import Actor
from broadcast.services.devices import DeviceSpec, register_device
from tests.support.app import CUA_NAM, HOAN_KIEM, VUNG_TAU, make_container, wipe
from tests.support.audio_fixtures import generate
from tests.support.http_servers import http_servers  # noqa: F401 - fixture re-export


class CheapArgon2(Argon2PasswordHasher):
    """Real argon2 at minimal cost: these tests sign in many users and are not about password hashing."""

    def __init__(self) -> None:
        self._argon2 = argon2.PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture
def fetch_allow() -> str:
    """LOAXA_FETCH_ALLOW of the container: the default (public addresses only) unless a test parametrizes it."""
    return ""


@pytest.fixture
def container(tmp_path, database_url, clock, fetch_allow):
    container = make_container(tmp_path, database_url, clock=clock, fetch_allow=fetch_allow)
    yield container
    wipe(container)
    container.close()


@pytest.fixture(autouse=True)
def _cheap_passwords(container):
    container.hasher = CheapArgon2()


@dataclass(frozen=True)
class Registry:
    village: str  # a zone id in Hoàn Kiếm
    hoan_kiem: list[str]  # every device of Hoàn Kiếm
    in_village: list[str]
    test_devices: list[str]  # flagged test_device, in Hoàn Kiếm
    cua_nam: list[str]
    vung_tau: list[str]


@pytest.fixture
def registry(container) -> Registry:
    system = Actor(None)
    zone = create_zone(container.uow(), container.clock, system, commune_code=HOAN_KIEM, name="Tổ dân phố số 5",
                       kind="residential_group")

    def add(device_id: str, area: str, zones=(), test=False) -> str:
        register_device(container.uow(), container.clock, system,
                        DeviceSpec(id=device_id, name=f"Cụm loa {device_id}", area_code=area, zones=tuple(zones),
                                   test_device=test))
        return device_id

    village = [add(f"hk-v{i}", HOAN_KIEM, [zone.id]) for i in range(2)]
    plain = [add(f"hk-{i}", HOAN_KIEM) for i in range(2)]
    tests = [add("hk-test-0", HOAN_KIEM, test=True)]
    return Registry(village=zone.id, hoan_kiem=village + plain + tests, in_village=village, test_devices=tests,
                    cua_nam=[add("cn-0", CUA_NAM)], vung_tau=[add("vt-0", VUNG_TAU)])


def ready_asset(container, *, area: str | None = HOAN_KIEM, status: AssetStatus = AssetStatus.READY,
                recording: Path | None = None, seconds: float = 2.0) -> int:
    """A library row as a finished upload leaves it; a ready one has its real rendition in the store (an emergency
    plays it after the chime). `recording`: the uploaded file, else `seconds` of speech-like sound."""
    uow = container.uow()
    rendered = None
    if status is AssetStatus.READY:
        source = recording or generate(container.settings.data_dir / "canh-bao.wav", kind="speechlike",
                                       seconds=seconds)
        rendered = container.audio.render(source, source.name, "speech", container.audio.check(source, source.name))
    files = {} if rendered is None else {"original_sha256": rendered.original_sha256, "sha256": rendered.sha256,
                                         "bytes": rendered.bytes, "duration_ms": rendered.duration_ms}
    with uow:
        now = container.clock.now()
        asset = uow.audio.add(AudioAsset(
            id=0, title="Cảnh báo lũ", kind="upload", language="vi", topic="disaster", area_code=area,
            profile="speech", status=status, original_name="canh-bao.wav", created_by="test", created_at=now,
            **files))
        uow.commit()
        return asset.id


def count(container, model) -> int:
    with container.engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(model))


def nothing_written(container) -> bool:
    return count(container, EmergencyRow) == 0 and count(container, CommandRow) == 0


def publications(container, cmd_id: str) -> dict[tuple[str, str], dict]:
    with container.engine.connect() as connection:
        rows = connection.execute(select(CommandPublicationRow).where(CommandPublicationRow.cmd_id == cmd_id))
        return {(r.target_kind, r.target_id): r.document for r in rows}
