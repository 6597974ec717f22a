"""`loaxa backup` / `loaxa restore` on SQLite and PostgreSQL: a round trip into an empty machine, refusals that
change nothing, and a simulated device that accepts the restored server's signed schedule."""
from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from pathlib import Path

import pytest
from sqlalchemy import inspect, select

from broadcast import protocol as p
from broadcast.backup import BackupError
from broadcast.backup.service import backup, restore
from broadcast.bootstrap import build_container
from broadcast.persistence.database import make_engine
from broadcast.persistence.migrate import head_revision
from broadcast.persistence.models import UserRow
from broadcast.settings import load_settings
from device_sim import DeviceSpec, Fleet
from tests.support.app import add_user, wipe
from tests.support.postgres import fresh_database

pytestmark = pytest.mark.integration

MEDIA = b"ID3" + bytes(range(256)) * 64  # stands for a rendition: the bytes must come back exactly


def _settings(data_dir: Path, url: str):
    return load_settings(data_dir=data_dir, database_url=url, password_hash_memory_kib=8192)


@pytest.fixture
def source(tmp_path, database_url):
    """A running system's state: accounts in the database, a rendition, the signing key and token secret."""
    container = build_container(_settings(tmp_path / "source", database_url))
    add_user(container, "quantri", "admin", "01")
    add_user(container, "bientap", "editor", "01")
    media = container.settings.data_dir / "media" / "renditions" / f"{hashlib.sha256(MEDIA).hexdigest()}.mp3"
    media.parent.mkdir(parents=True)
    media.write_bytes(MEDIA)
    _ = container.signer  # creates the key file
    yield container
    wipe(container)
    container.close()


@pytest.fixture
def empty_url(request, tmp_path, database_url):
    """An empty database of the same engine: the new machine."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'new' / 'loaxa.db'}"
        return
    with fresh_database(request.getfixturevalue("postgres_url")) as url:
        yield url


def _usernames(container) -> list[str]:
    with container.uow() as uow:
        return sorted(uow.session.scalars(select(UserRow.username)))


def _tree(root: Path) -> dict[str, bytes]:
    return {str(f.relative_to(root)): f.read_bytes() for f in sorted(root.rglob("*")) if f.is_file()
            and not f.name.startswith("loaxa.db")}


def test_round_trip_into_an_empty_machine(tmp_path, source, empty_url):
    archive = tmp_path / "loaxa.tar.gz"
    made = backup(source.settings, archive)
    assert archive.stat().st_mode & 0o077 == 0  # it holds the signing key
    names = {f.path for f in made.manifest.files}
    assert {"data/signing_key.pem", "data/token_secret"} <= names
    assert made.manifest.database_engine == ("sqlite" if empty_url.startswith("sqlite") else "postgresql")
    assert made.manifest.alembic_revision == head_revision()

    target = _settings(tmp_path / "new", empty_url)
    restore(target, archive)
    restored = build_container(target)
    try:
        assert _usernames(restored) == _usernames(source) == ["bientap", "quantri"]
        with restored.uow() as uow:
            assert uow.areas.get("01") is not None  # the seeded catalogue came along
        assert _tree(target.data_dir) == _tree(source.settings.data_dir)
        assert restored.signer.public_key_b64 == source.signer.public_key_b64
    finally:
        restored.close()


def _corrupt_tar(good: Path, bad: Path, member: str) -> None:
    """Same archive, one byte of one member changed (sizes and the manifest untouched)."""
    with tarfile.open(good) as src, tarfile.open(bad, "w") as dst:
        for info in src:
            data = src.extractfile(info).read() if info.isfile() else None
            if info.name == member:
                data = bytes([data[0] ^ 0xFF]) + data[1:]
            dst.addfile(info, io.BytesIO(data) if data is not None else None)


def test_a_corrupted_archive_is_refused_and_changes_nothing(tmp_path, source, empty_url):
    good = tmp_path / "good.tar"
    manifest = backup(source.settings, good).manifest
    media_member = next(f.path for f in manifest.files if f.path.endswith(".mp3"))
    target = _settings(tmp_path / "new", empty_url)
    for name, damage in [("flipped.tar", lambda out: _corrupt_tar(good, out, media_member)),
                         ("dump.tar", lambda out: _corrupt_tar(good, out, manifest.files[0].path)),
                         ("truncated.tar.gz", lambda out: out.write_bytes(gzip.compress(good.read_bytes())[:-4000]))]:
        bad = tmp_path / name
        damage(bad)
        with pytest.raises(BackupError) as refused:
            restore(target, bad)
        assert "hỏng" in str(refused.value)
        assert not target.data_dir.exists() or not any(target.data_dir.iterdir())
        if not empty_url.startswith("sqlite"):
            engine = make_engine(empty_url)
            try:
                assert inspect(engine).get_table_names() == []
            finally:
                engine.dispose()


def test_a_machine_in_use_is_refused_without_force(tmp_path, source, empty_url):
    archive = tmp_path / "b.tar.xz"
    backup(source.settings, archive)
    target = _settings(tmp_path / "new", empty_url)
    restore(target, archive)
    key_before = target.effective_signing_key_file.read_bytes()
    with pytest.raises(BackupError, match="chưa trống"):
        restore(target, archive)
    assert target.effective_signing_key_file.read_bytes() == key_before
    restore(target, archive, force=True)  # over a machine in use, on purpose
    restored = build_container(target)
    try:
        assert _usernames(restored) == ["bientap", "quantri"]
    finally:
        restored.close()
    with pytest.raises(BackupError, match="đã có"):
        backup(source.settings, archive)  # an old backup is never overwritten


def test_a_device_accepts_a_schedule_signed_by_the_restored_server(tmp_path, source, empty_url, server_factory,
                                                                   helpers):
    archive = tmp_path / "b.tar"
    backup(source.settings, archive)
    target = _settings(tmp_path / "new", empty_url)
    restore(target, archive)
    restored = build_container(target)
    dev = "dev-restore-01"
    side = server_factory([dev])
    original_key = p.load_private_key_pem(source.settings.effective_signing_key_file.read_bytes())

    def schedule(version: int, now: float) -> dict:
        window = helpers.window(now, 30, 5)
        item = p.build_item(f"occ-{version}", window[0], window[1], priority="normal", volume=60,
                            stream_url="http://127.0.0.1:9/live", title="Phổ biến pháp luật")
        return p.build_schedule(dev, version, issued_at=p.epoch_to_rfc3339(now),
                                horizon_end=p.epoch_to_rfc3339(now + 86400), zones=["37"], items=[item],
                                status_interval_s=60)

    async def scenario():
        # The device was provisioned with the ORIGINAL server's public key.
        async with Fleet(side.broker.url, [DeviceSpec(dev, f"pw-{dev}")], p.public_key_b64(original_key),
                         prefix=side.broker.prefix, speed=1.0) as fleet:
            await fleet.wait_connected()
            # Control: a server with another key is refused, so acceptance below means something.
            side.publish_schedule(schedule(1, fleet.clock.now()), key=p.generate_private_key())
            await fleet.wait_until(lambda: "rejected" in side.stages(dev, {"schedule": 1}), 15)
            signed = restored.signer.sign(schedule(2, fleet.clock.now()))
            side.publish_schedule(signed, raw=p.encode(signed))
            await fleet.wait_until(lambda: "received" in side.stages(dev, {"schedule": 2}), 15)
            return fleet.device(dev).version

    try:
        assert helpers.run(scenario()) == 2
    finally:
        restored.close()
    assert "rejected" not in side.stages(dev, {"schedule": 2})


