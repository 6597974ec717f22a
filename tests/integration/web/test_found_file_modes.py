"""A fresh server on SQLite keeps its data to itself, whatever umask it was started under: the data dir and every
directory it creates are 0700, the database (with its -wal and -shm), the token secret, the signing key and the
stored media are 0600. Media are served by the server itself over HTTP, so nothing on disk needs to be readable by
anyone else."""
from __future__ import annotations

import os
import stat

import pytest
from fastapi.testclient import TestClient

from broadcast.bootstrap import build_container
from broadcast.persistence.migrate import upgrade
from broadcast.services.area_catalog import official_areas
from broadcast.services.areas import seed_areas
from broadcast.services.context import Actor
from broadcast.settings import load_settings
from broadcast.web.app import create_app
from tests.support.app import HOAN_KIEM, user
from tests.support.audio_fixtures import generate, require_binary

pytestmark = pytest.mark.integration


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def umask(request):
    previous = os.umask(request.param)
    yield request.param
    os.umask(previous)


@pytest.mark.parametrize("umask", [0o022, 0o000], indirect=True, ids=["umask022", "umask000"])
def test_a_fresh_sqlite_server_keeps_its_files_private(tmp_path, umask):
    require_binary("ffmpeg")
    source = generate(tmp_path / "tone.wav", seconds=2)
    data = tmp_path / "data"
    settings = load_settings(data_dir=data, password_hash_memory_kib=8192)  # default: SQLite and a secret in data
    container = build_container(settings)
    try:
        upgrade(container.engine)
        assert container.signer.public_key_b64  # the key is created on first use
        seed_areas(container.uow(), container.clock, official_areas(), Actor(None))
        with TestClient(create_app(container)) as client:
            editor = user(container, client, "bien-tap", "editor", HOAN_KIEM)
            with source.open("rb") as fh:
                accepted = client.post("/api/v1/audio", headers=editor.headers, files={"file": ("tone.wav", fh)},
                                       data={"title": "Thử quyền tệp", "area_code": HOAN_KIEM,
                                             "topic": "grassroots_mediation"})
            assert accepted.status_code == 202, accepted.text
            assert container.jobs.drain(timeout=120)
            asset = client.get(f"/api/v1/audio/{accepted.json()['id']}", headers=editor.headers).json()
            assert asset["status"] == "ready", asset
        with container.engine.connect():  # WAL files exist while a connection is open
            assert {p.name for p in data.iterdir()} >= {"loaxa.db", "loaxa.db-wal", "loaxa.db-shm", "token_secret",
                                                        "signing_key.pem", "media", "spool"}
            modes = {str(p.relative_to(data)): mode(p) for p in data.rglob("*")}
    finally:
        container.close()

    assert mode(data) == 0o700
    assert any(name.startswith("media/renditions/") for name in modes)
    wrong = {name: oct(m) for name, m in modes.items() if m != (0o700 if (data / name).is_dir() else 0o600)}
    assert wrong == {}
