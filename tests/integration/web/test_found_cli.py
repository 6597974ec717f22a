"""`loaxa` commands, run as an operator would, against SQLite and PostgreSQL."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from broadcast.persistence.models import AreaRow, UserRow

pytestmark = pytest.mark.integration
LOAXA = [sys.executable, "-m", "broadcast"]


@pytest.fixture(params=["sqlite", "postgres"])
def fresh_db(request, tmp_path):
    """An empty database (no schema): the CLI must build it."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'cli.db'}"
    from tests.support.postgres import fresh_database

    admin = request.getfixturevalue("postgres_url")
    manager = fresh_database(admin)
    url = manager.__enter__()
    request.addfinalizer(lambda: manager.__exit__(None, None, None))
    return url


def run(args, env, stdin=""):
    return subprocess.run(LOAXA + args, input=stdin, capture_output=True, text=True, env=env, timeout=120)


@pytest.fixture
def env(tmp_path, fresh_db, monkeypatch):
    import os

    return {**os.environ, "LOAXA_DATA_DIR": str(tmp_path / "data"), "LOAXA_DATABASE_URL": fresh_db}


def test_upgrade_seed_and_create_user(env, fresh_db):
    assert run(["db", "upgrade"], env).returncode == 0
    first = run(["areas", "seed"], env)
    assert first.returncode == 0, first.stderr
    assert "34 tỉnh" in first.stdout and "3321 xã" in first.stdout
    again = run(["areas", "seed"], env)
    assert again.returncode == 0 and "Đã thêm 0 đơn vị" in again.stdout
    engine = create_engine(fresh_db)
    with engine.connect() as connection:
        levels = dict(connection.execute(select(AreaRow.level, func.count()).group_by(AreaRow.level)).all())
    assert levels == {"province": 34, "commune": 3321}

    created = run(["users", "create", "admin", "--role", "admin", "--area", "01"], env, stdin="Loa-Xa-2026!test\n")
    assert created.returncode == 0, created.stderr
    duplicate = run(["users", "create", "admin", "--role", "admin", "--area", "01"], env, stdin="Loa-Xa-2026!test\n")
    assert duplicate.returncode == 1 and "đã tồn tại" in duplicate.stderr
    weak = run(["users", "create", "bob", "--role", "viewer", "--area", "01"], env, stdin="\n")
    assert weak.returncode == 1 and "Mật khẩu" in weak.stderr
    unknown_area = run(["users", "create", "bob", "--role", "viewer", "--area", "00000"], env,
                       stdin="Loa-Xa-2026!test\n")
    assert unknown_area.returncode == 1
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(UserRow)) == 1
    engine.dispose()


def test_seed_one_province(env, fresh_db):
    run(["db", "upgrade"], env)
    result = run(["areas", "seed", "--province", "37"], env)
    assert result.returncode == 0 and "1 tỉnh" in result.stdout
    assert run(["areas", "seed", "--province", "99"], env).returncode == 1


def test_invalid_setting_stops_startup(env):
    result = run(["db", "upgrade"], {**env, "LOAXA_TIMEZONE": "Nowhere/City"})
    assert result.returncode == 2 and "LOAXA_TIMEZONE" in result.stderr


def test_import_contracts_hold():
    """The architecture's rules of direction, checked by import-linter."""
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint)], capture_output=True, text=True, cwd=Path(__file__).parents[3], timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: " in result.stdout and " broken" in result.stdout
