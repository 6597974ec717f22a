"""The commands as an operator runs them: Vietnamese messages, exit codes, and a clear error without pg_dump."""
from __future__ import annotations

import shutil

import pytest
from typer.testing import CliRunner

from broadcast.backup import BackupError, database_dump
from broadcast.cli import app
from broadcast.persistence.database import make_engine
from broadcast.persistence.migrate import head_revision, upgrade

pytestmark = pytest.mark.integration


def test_backup_then_restore_through_the_command_line(tmp_path, monkeypatch):
    runner = CliRunner()
    source = tmp_path / "source"
    engine = make_engine(f"sqlite:///{source / 'loaxa.db'}")
    upgrade(engine)
    engine.dispose()
    (source / "media").mkdir()
    (source / "media" / "a.mp3").write_bytes(b"audio")
    monkeypatch.setenv("LOAXA_DATA_DIR", str(source))
    done = runner.invoke(app, ["backup", str(tmp_path / "b.tgz")])
    assert done.exit_code == 0, done.output
    assert "Đã sao lưu 2 tệp" in done.output

    monkeypatch.setenv("LOAXA_DATA_DIR", str(tmp_path / "new"))
    done = runner.invoke(app, ["restore", str(tmp_path / "b.tgz")])
    assert done.exit_code == 0, done.output
    assert "Đã khôi phục 2 tệp" in done.output and head_revision() in done.output
    assert (tmp_path / "new" / "media" / "a.mp3").read_bytes() == b"audio"
    done = runner.invoke(app, ["restore", str(tmp_path / "b.tgz")])
    assert done.exit_code == 1 and "--force" in done.output
    done = runner.invoke(app, ["restore", str(tmp_path / "missing.tar")])
    assert done.exit_code == 1 and "Không có tệp" in done.output


def test_pg_tools_missing_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(database_dump, "PG_VERSIONS_DIR", tmp_path / "none")
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(BackupError, match="Không tìm thấy pg_dump"):
        database_dump.dump("postgresql+psycopg://u:p@127.0.0.1:1/db", tmp_path / "x")
