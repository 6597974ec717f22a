"""The audio API on the real app, real ffmpeg and both databases: upload, render in the background, serve media."""
from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import func, select

from broadcast.persistence.models import AudioAssetRow
from broadcast.services.audio import resume_pending
from tests.support.app import HANOI, HOAN_KIEM, VUNG_TAU, user
from tests.support.audio_fixtures import generate, independent_meter

pytestmark = pytest.mark.integration


@pytest.fixture
def editor(container, client):
    return user(container, client, "editor", "editor", HOAN_KIEM)


def post_file(client, who, path: Path, name: str | None = None, **form):
    data = {"title": "Luật Hòa giải ở cơ sở - số 3", "area_code": HOAN_KIEM, "topic": "grassroots_mediation", **form}
    with path.open("rb") as fh:
        return client.post("/api/v1/audio", headers=who.headers, data=data,
                           files={"file": (name or path.name, fh, "application/octet-stream")})


def rows(container) -> int:
    with container.engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(AudioAssetRow))


def files_under(directory: Path) -> list[Path]:
    return [p for p in directory.rglob("*") if p.is_file()] if directory.exists() else []


def wait_ready(container, client, who, asset_id: int) -> dict:
    assert container.jobs.drain(timeout=240)
    return client.get(f"/api/v1/audio/{asset_id}", headers=who.headers).json()


def test_upload_renders_in_background_and_serves_media(container, client, editor, tmp_path):
    source = generate(tmp_path / "programme.ogg", kind="speechlike", seconds=12, rate=22050, channels=2, lufs=-30)
    accepted = post_file(client, editor, source)
    assert accepted.status_code == 202, accepted.text
    assert accepted.json()["status"] == "processing"
    asset = wait_ready(container, client, editor, accepted.json()["id"])
    assert asset["status"] == "ready", asset
    assert asset["loudness"]["input_lufs"] == pytest.approx(-30, abs=1.0)
    assert asset["loudness"]["output_lufs"] == pytest.approx(-16, abs=0.5)
    assert asset["loudness"]["output_true_peak_dbtp"] <= -1.5
    assert asset["duration_ms"] == pytest.approx(12000, abs=100)
    assert asset["media_url"] == f"{container.settings.public_url}/media/{asset['sha256']}.mp3"

    media = client.get(f"/media/{asset['sha256']}.mp3")  # no login: devices fetch it
    assert media.status_code == 200 and media.headers["content-type"] == "audio/mpeg"
    assert hashlib.sha256(media.content).hexdigest() == asset["sha256"] == media.headers["etag"].strip('"')
    assert "immutable" in media.headers["cache-control"]
    part = client.get(f"/media/{asset['sha256']}.mp3", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == media.content[100:200]
    cached = client.get(f"/media/{asset['sha256']}.mp3", headers={"If-None-Match": media.headers["etag"]})
    assert cached.status_code == 304
    head = client.head(f"/media/{asset['sha256']}.mp3")  # devices may check size and ETag before fetching
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(media.content)) and head.headers["etag"] == media.headers["etag"]
    rendition = tmp_path / "out.mp3"
    rendition.write_bytes(media.content)
    meter = independent_meter(rendition)
    assert meter.lufs == pytest.approx(-16, abs=0.5)

    again = post_file(client, editor, source, name="ban-sao.ogg")
    second = wait_ready(container, client, editor, again.json()["id"])
    assert second["sha256"] == asset["sha256"] and second["original_sha256"] == asset["original_sha256"]
    assert len(files_under(container.settings.data_dir / "media" / "renditions")) == 1
    assert files_under(container.spool_dir) == []


def test_unknown_media_is_404(client):
    assert client.get(f"/media/{'0' * 64}.mp3").status_code == 404
    assert client.head(f"/media/{'0' * 64}.mp3").status_code == 404
    assert client.get("/media/not-a-sha.mp3").status_code == 404


def make_bad(kind: str, tmp_path: Path) -> tuple[Path, str]:
    if kind == "zero":
        (p := tmp_path / "zero.mp3").write_bytes(b"")
    elif kind == "random":
        (p := tmp_path / "random.mp3").write_bytes(bytes(range(256)) * 400)
    elif kind == "png":
        (p := tmp_path / "anh.mp3").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 2000)
    elif kind == "pdf":
        (p := tmp_path / "van-ban.mp3").write_bytes(b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n" * 50)
    elif kind == "truncated":
        full = generate(tmp_path / "full.mp3", seconds=20, rate=22050)
        (p := tmp_path / "cut.mp3").write_bytes(full.read_bytes()[: full.stat().st_size // 3])
    elif kind == "video-no-audio":
        p = tmp_path / "silent.mp4"
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
                        "testsrc=size=160x120:rate=10:duration=3", "-c:v", "libx264", "-preset", "ultrafast",
                        "-pix_fmt", "yuv420p", str(p)], check=True)
    elif kind == "too-short":
        p = generate(tmp_path / "blip.wav", seconds=0.4, rate=16000)
    else:
        raise ValueError(kind)
    return p, p.name


@pytest.mark.parametrize("kind", ["zero", "random", "png", "pdf", "truncated", "video-no-audio", "too-short"])
def test_bad_files_are_refused_and_leave_nothing(container, client, editor, tmp_path, kind):
    path, name = make_bad(kind, tmp_path)
    response = post_file(client, editor, path, name=name)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] and error["message"]
    assert rows(container) == 0
    data = container.settings.data_dir
    assert files_under(data / "media" / "renditions") == [] and files_under(data / "media" / "originals") == []
    assert files_under(data / "uploads") == [] and files_under(container.spool_dir) == []


def test_path_traversal_name_is_refused(container, client, editor, tmp_path):
    source = generate(tmp_path / "ok.wav", seconds=2, rate=16000)
    response = post_file(client, editor, source, name="../../etc/passwd.mp3")
    assert response.status_code == 422 and response.json()["error"]["code"] == "unsafe_file_name"
    assert rows(container) == 0


def test_file_over_the_size_limit(tmp_path, database_url, clock):
    from fastapi.testclient import TestClient

    from broadcast.web.app import create_app
    from tests.support.app import make_container, wipe

    small = make_container(tmp_path, database_url, clock=clock, audio_max_bytes=50_000)
    try:
        with TestClient(create_app(small)) as client:
            editor = user(small, client, "editor", "editor", HOAN_KIEM)
            big = generate(tmp_path / "big.wav", seconds=5, rate=44100)
            response = post_file(client, editor, big)
            assert response.status_code == 413
            assert response.json()["error"]["code"] in ("too_large", "payload_too_large")
            assert rows(small) == 0 and files_under(tmp_path / "data" / "uploads") == []
    finally:
        wipe(small)
        small.close()


def test_metadata_is_checked_before_work(container, client, editor, tmp_path):
    source = generate(tmp_path / "ok.wav", seconds=2, rate=16000)
    for form, code in [({"language": "klingon"}, "invalid_language"), ({"topic": "gossip"}, "invalid_topic"),
                       ({"profile": "loud"}, "invalid_profile"), ({"title": " "}, "invalid_title"),
                       ({"area_code": "99999"}, "area_not_found")]:
        response = post_file(client, editor, source, **form)
        assert response.json()["error"]["code"] == code, (form, response.text)
    outside = post_file(client, editor, source, area_code=VUNG_TAU)
    assert outside.status_code == 403
    assert rows(container) == 0


def test_list_delete_and_roles(container, client, editor, tmp_path):
    source = generate(tmp_path / "ok.flac", seconds=3, rate=16000)
    asset_id = post_file(client, editor, source).json()["id"]
    wait_ready(container, client, editor, asset_id)
    viewer = user(container, client, "viewer", "viewer", HANOI)
    listed = client.get("/api/v1/audio", params={"status": "ready"}, headers=viewer.headers).json()
    assert [a["id"] for a in listed] == [asset_id]
    assert client.delete(f"/api/v1/audio/{asset_id}", headers=viewer.headers).status_code == 403
    assert client.post("/api/v1/audio/tts", headers=viewer.headers,
                       json={"text": "Xin chào", "title": "t", "area_code": HOAN_KIEM}).status_code == 403
    assert client.delete(f"/api/v1/audio/{asset_id}", headers=editor.headers).status_code == 204
    assert client.get(f"/api/v1/audio/{asset_id}", headers=editor.headers).status_code == 404
    other = user(container, client, "viewer-hcm", "viewer", "79")
    assert client.get("/api/v1/audio", headers=other.headers).json() == []


def test_processing_assets_resume_after_restart(container, client, editor, tmp_path):
    """A crash after accepting an upload: the spooled file is rendered on the next start."""
    from broadcast.adapters.jobs import ThreadJobQueue

    source = generate(tmp_path / "ok.wav", seconds=3, rate=16000)

    class Lost:  # the process dies before the job runs
        def submit(self, job):
            pass

    container.jobs, real_jobs = Lost(), container.jobs
    asset_id = post_file(client, editor, source).json()["id"]
    container.jobs = real_jobs
    assert client.get(f"/api/v1/audio/{asset_id}", headers=editor.headers).json()["status"] == "processing"
    restarted = ThreadJobQueue()
    assert resume_pending(container.uow, container.clock, container.audio, restarted, container.spool_dir) == 1
    assert restarted.drain(timeout=120)
    assert client.get(f"/api/v1/audio/{asset_id}", headers=editor.headers).json()["status"] == "ready"


@pytest.fixture
def sqlite_app(tmp_path, clock):
    """Its own SQLite app: the long test is about the job queue, not the database, so it runs once."""
    from fastapi.testclient import TestClient

    from broadcast.persistence.migrate import upgrade
    from broadcast.services.area_catalog import official_areas
    from broadcast.services.areas import seed_areas
    from broadcast.services.context import Actor
    from broadcast.web.app import create_app
    from tests.support.app import make_container

    container = make_container(tmp_path, f"sqlite:///{tmp_path / 'long.db'}", clock=clock)
    upgrade(container.engine)
    seed_areas(container.uow(), clock, official_areas("01"), Actor(None))
    with TestClient(create_app(container)) as client:
        yield container, client
    container.close()


@pytest.mark.timeout(1200)
def test_long_upload_does_not_hold_other_requests(sqlite_app, tmp_path):
    """A 60-minute programme: accepted after validation, rendered in the background while the API answers,
    and the rendition meets the target by an independent meter (the 60-minute end of the accuracy range)."""
    container, client = sqlite_app
    editor = user(container, client, "editor", "editor", HOAN_KIEM)
    source = generate(tmp_path / "long.mp3", kind="pink", seconds=3600, rate=8000, lufs=None)
    accepted = post_file(client, editor, source)
    assert accepted.status_code == 202, accepted.text
    asset_id = accepted.json()["id"]
    assert accepted.json()["duration_ms"] == pytest.approx(3_600_000, abs=1000)
    during = client.get(f"/api/v1/audio/{asset_id}", headers=editor.headers).json()
    assert during["status"] == "processing"
    assert client.get("/healthz").status_code == 200
    assert container.jobs.drain(timeout=1100)
    final = client.get(f"/api/v1/audio/{asset_id}", headers=editor.headers).json()
    assert final["status"] == "ready" and final["loudness"]["output_lufs"] == pytest.approx(-16, abs=0.5)
    rendition = container.settings.data_dir / "media" / "renditions" / f"{final['sha256']}.mp3"
    meter = independent_meter(rendition)
    assert meter.lufs == pytest.approx(-16, abs=0.5) and meter.true_peak_dbtp <= -1.5
