"""The manifest and the tar: names that stay inside the target, every byte checked, no member unaccounted for."""
from __future__ import annotations

import io
import json
import tarfile

import pytest

from broadcast.backup.archive import compression_of, entries_for, verify_archive, write_archive
from broadcast.backup.manifest import MANIFEST_NAME, BackupError, Manifest, check_member_name


def _manifest(files=()):
    return Manifest(created_at="2026-12-01T00:00:00+00:00", database_engine="sqlite", alembic_revision="0020",
                    loaxa_version="0.1.0", files=list(files))


@pytest.mark.parametrize("name", ["../etc/passwd", "/etc/passwd", "data/../../x", "data//x", "./x", ""])
def test_paths_that_would_leave_the_target_are_refused(name):
    with pytest.raises(BackupError):
        check_member_name(name)


def test_manifest_round_trips_and_refuses_other_versions_and_garbage():
    m = _manifest()
    assert Manifest.from_json(m.to_json()) == m
    raw = json.loads(m.to_json())
    raw["version"] = 99
    with pytest.raises(BackupError, match="phiên bản 99"):
        Manifest.from_json(json.dumps(raw).encode())
    with pytest.raises(BackupError, match="hỏng"):
        Manifest.from_json(b"{not json")


@pytest.mark.parametrize("suffix,mode", [(".tar", ""), (".tar.gz", "gz"), (".tgz", "gz"), (".tar.xz", "xz")])
def test_compression_follows_the_file_name(tmp_path, suffix, mode):
    assert compression_of(tmp_path / f"b{suffix}") == mode
    source = tmp_path / "a.bin"
    source.write_bytes(b"x" * 1000)
    members = [("data/a.bin", source)]
    out = tmp_path / f"b{suffix}"
    write_archive(out, _manifest(entries_for(members)), members)
    assert verify_archive(out).files[0].size == 1000
    assert oct(out.stat().st_mode & 0o777) == "0o600"


def _tar_with(path, manifest: Manifest, members: dict[str, bytes]):
    with tarfile.open(path, "w") as tar:
        for name, data in [(MANIFEST_NAME, manifest.to_json()), *members.items()]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_extra_missing_and_changed_members_are_refused(tmp_path):
    source = tmp_path / "a.bin"
    source.write_bytes(b"hello")
    entries = entries_for([("data/a.bin", source)])
    cases = {
        "extra": ({"data/a.bin": b"hello", "data/evil.sh": b"x"}, "không ghi trong tệp kê khai"),
        "missing": ({}, "thiếu 1 tệp"),
        "changed": ({"data/a.bin": b"hellO"}, "bị hỏng"),
    }
    for name, (members, message) in cases.items():
        bad = tmp_path / f"{name}.tar"
        _tar_with(bad, _manifest(entries), members)
        with pytest.raises(BackupError, match=message):
            verify_archive(bad)


def test_an_archive_without_a_manifest_first_is_not_a_backup(tmp_path):
    bad = tmp_path / "other.tar"
    with tarfile.open(bad, "w") as tar:
        info = tarfile.TarInfo("readme.txt")
        tar.addfile(info, io.BytesIO(b""))
    with pytest.raises(BackupError, match="manifest"):
        verify_archive(bad)
    (tmp_path / "junk.tar").write_bytes(b"\0garbage" * 10)
    with pytest.raises(BackupError):
        verify_archive(tmp_path / "junk.tar")
