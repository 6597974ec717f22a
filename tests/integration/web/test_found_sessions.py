"""Ending sessions: logout, password changes and disabled accounts revoke tokens; odd token claims are 401 (#11)."""
from __future__ import annotations

import os
import subprocess
import sys

import jwt
import pytest
from sqlalchemy import select

from broadcast.persistence.models import AuditRow, RevokedTokenRow, UserRow
from broadcast.runtime import Runtime
from broadcast.services.context import Actor
from broadcast.services.users import set_password
from tests.integration.web.test_found_api import error_of
from tests.support.app import HANOI, HCMC, HOAN_KIEM, PASSWORD, add_user, login, user

pytestmark = pytest.mark.integration
NEW_PASSWORD = "Mat-Khau-Moi-2027!"


def me(client, headers):
    return client.get("/api/v1/auth/me", headers=headers)


def assert_revoked(client, headers):
    response = me(client, headers)
    assert response.status_code == 401, response.text
    assert error_of(response)["code"] in {"token_revoked", "account_disabled"}


def audit_actions(container, object_id: str) -> list[tuple[str, str | None]]:
    with container.engine.connect() as connection:
        rows = connection.execute(select(AuditRow.action, AuditRow.area_code)
                                  .where(AuditRow.object_id == object_id).order_by(AuditRow.id)).all()
    return [tuple(row) for row in rows]


# -- 9: logout, password change, disabling -----------------------------------------------------------------

def test_logout_revokes_only_the_calling_token(container, client):
    add_user(container, "officer", "editor", HOAN_KIEM)
    first, second = login(client, "officer"), login(client, "officer")
    assert first.headers != second.headers  # same second, same user: the jti tells them apart
    response = client.post("/api/v1/auth/logout", headers=first.headers)
    assert response.status_code == 204, response.text
    assert_revoked(client, first.headers)
    assert error_of(me(client, first.headers))["code"] == "token_revoked"
    assert me(client, second.headers).status_code == 200
    assert ("auth.logout", HOAN_KIEM) in audit_actions(container, "officer")
    with container.engine.connect() as connection:
        assert len(connection.scalars(select(RevokedTokenRow.jti)).all()) == 1


def test_revoked_tokens_are_purged_by_the_nightly_job_once_expired(container, client, clock):
    add_user(container, "officer", "editor", HOAN_KIEM)
    old = login(client, "officer")
    client.post("/api/v1/auth/logout", headers=old.headers)
    clock.advance(minutes=30)
    recent = login(client, "officer")
    client.post("/api/v1/auth/logout", headers=recent.headers)
    clock.advance(minutes=container.settings.token_ttl_minutes - 29)  # `old` has expired, `recent` has not
    Runtime(container).purge()
    with container.engine.connect() as connection:
        assert len(connection.scalars(select(RevokedTokenRow.jti)).all()) == 1
    assert_revoked(client, recent.headers)


def test_admin_password_reset_revokes_every_token(container, client):
    officer = user(container, client, "officer", "editor", HOAN_KIEM)
    set_password(container.uow(), container.clock, container.hasher, Actor(None), username="officer",
                 password=NEW_PASSWORD)
    assert_revoked(client, officer.headers)
    assert client.post("/api/v1/auth/token", data={"username": "officer", "password": PASSWORD}).status_code == 401
    assert me(client, login(client, "officer", NEW_PASSWORD).headers).status_code == 200


def test_own_password_change_needs_the_current_password_and_revokes_other_tokens(container, client):
    officer = user(container, client, "officer", "editor", HOAN_KIEM)
    elsewhere = login(client, "officer")
    wrong = client.post("/api/v1/auth/password", headers=officer.headers,
                        json={"current_password": "not-my-password", "new_password": NEW_PASSWORD})
    assert wrong.status_code == 422 and error_of(wrong)["code"] == "wrong_password"
    assert error_of(wrong)["message"] == "Mật khẩu hiện tại không đúng."
    weak = client.post("/api/v1/auth/password", headers=officer.headers,
                       json={"current_password": PASSWORD, "new_password": "abcdefghij"})
    assert weak.status_code == 422 and error_of(weak)["code"] == "weak_password"
    assert me(client, elsewhere.headers).status_code == 200  # nothing changed yet

    changed = client.post("/api/v1/auth/password", headers=officer.headers,
                          json={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert changed.status_code == 200, changed.text
    assert_revoked(client, officer.headers)
    assert_revoked(client, elsewhere.headers)
    fresh = {"Authorization": f"Bearer {changed.json()['access_token']}"}
    assert me(client, fresh).json()["username"] == "officer"
    assert client.post("/api/v1/auth/token", data={"username": "officer", "password": PASSWORD}).status_code == 401
    login(client, "officer", NEW_PASSWORD)
    assert ("user.change_password", HOAN_KIEM) in audit_actions(container, "officer")


def test_admin_disables_and_enables_an_account(container, client):
    admin = user(container, client, "admin-hn", "admin", HANOI)
    other = user(container, client, "admin-hcm", "admin", HCMC)
    officer = user(container, client, "officer", "editor", HOAN_KIEM)
    foreign = client.post("/api/v1/users/officer/disable", headers=other.headers)
    assert foreign.status_code == 403
    assert me(client, officer.headers).status_code == 200

    disabled = client.post("/api/v1/users/officer/disable", headers=admin.headers)
    assert disabled.status_code == 200 and disabled.json()["disabled"] is True
    assert_revoked(client, officer.headers)
    refused = client.post("/api/v1/auth/token", data={"username": "officer", "password": PASSWORD})
    assert refused.status_code == 401 and error_of(refused)["code"] == "bad_credentials"

    enabled = client.post("/api/v1/users/officer/enable", headers=admin.headers)
    assert enabled.status_code == 200 and enabled.json()["disabled"] is False
    assert_revoked(client, officer.headers)  # enabling brings no old token back
    assert me(client, login(client, "officer").headers).status_code == 200
    assert [a for a in audit_actions(container, "officer") if a[0].startswith("user.") and a[0] != "user.create"] \
        == [("user.disable", HOAN_KIEM), ("user.enable", HOAN_KIEM)]

    assert client.post("/api/v1/users/nobody/disable", headers=admin.headers).status_code == 404
    itself = client.post("/api/v1/users/admin-hn/disable", headers=admin.headers)
    assert itself.status_code == 422 and error_of(itself)["code"] == "cannot_disable_self"


def test_cli_disables_and_enables_an_account(container, client, database_url, tmp_path):
    officer = user(container, client, "officer", "editor", HOAN_KIEM)
    env = {**os.environ, "LOAXA_DATA_DIR": str(tmp_path / "cli"), "LOAXA_DATABASE_URL": database_url}

    def loaxa(*args):
        return subprocess.run([sys.executable, "-m", "broadcast", "users", *args], capture_output=True, text=True,
                              env=env, timeout=120, check=False)

    disabled = loaxa("disable", "officer")
    assert disabled.returncode == 0, disabled.stderr
    assert "Đã khóa tài khoản officer" in disabled.stdout
    assert_revoked(client, officer.headers)
    with container.engine.connect() as connection:
        assert connection.scalar(select(UserRow.disabled).where(UserRow.username == "officer")) is True
    enabled = loaxa("enable", "officer")
    assert enabled.returncode == 0 and "Đã mở khóa tài khoản officer" in enabled.stdout
    assert me(client, login(client, "officer").headers).status_code == 200
    missing = loaxa("disable", "nobody")
    assert missing.returncode == 1 and "Không tìm thấy tài khoản nobody" in missing.stderr


# -- 18: token claims signed with the right secret but odd --------------------------------------------------

def signed(container, **claims) -> dict[str, str]:
    token = jwt.encode(claims, container.settings.secret_key, algorithm="HS256")
    return {"Authorization": f"Bearer {token}"}


def claims_of(container, clock) -> dict:
    with container.engine.connect() as connection:
        user_id = connection.scalar(select(UserRow.id).where(UserRow.username == "officer"))
    now = int(clock.now().timestamp())
    return {"sub": str(user_id), "name": "officer", "iat": now, "exp": now + 600, "ep": 0,
            "jti": "a1b2c3d4e5f6g7h8i9j0"}


ODD_CLAIMS = [
    ("sub", "abc"), ("sub", ""), ("sub", "-1"), ("sub", " 1"), ("sub", "1e3"), ("sub", str(2**64 + 1)),
    ("sub", str(2**40)), ("sub", 1), ("sub", None), ("sub", ["1"]),
    ("ep", "0"), ("ep", None), ("ep", True), ("ep", 0.5), ("ep", -1), ("ep", 2**70), ("ep", {"n": 0}),
    ("jti", 5), ("jti", ""), ("jti", "x" * 65), ("jti", None), ("jti", ["a"]),
    ("exp", "soon"), ("exp", None), ("exp", 10**30), ("exp", 1e300), ("exp", True), ("exp", [1]),
    ("iat", "now"),
]


def test_well_formed_claims_are_accepted(container, client, clock):
    add_user(container, "officer", "editor", HOAN_KIEM)
    assert me(client, signed(container, **claims_of(container, clock))).status_code == 200


@pytest.mark.parametrize("claim,value", ODD_CLAIMS, ids=[f"{c}={v!r}"[:40] for c, v in ODD_CLAIMS])
def test_odd_claim_values_are_401(container, client, clock, claim, value):
    add_user(container, "officer", "editor", HOAN_KIEM)
    response = me(client, signed(container, **{**claims_of(container, clock), claim: value}))
    assert response.status_code == 401, response.text
    assert error_of(response)["code"] in {"invalid_token", "token_expired"}


@pytest.mark.parametrize("missing", ["sub", "ep", "jti", "exp"])
def test_missing_claims_are_401(container, client, clock, missing):
    add_user(container, "officer", "editor", HOAN_KIEM)
    claims = claims_of(container, clock)
    del claims[missing]
    response = me(client, signed(container, **claims))
    assert response.status_code == 401 and error_of(response)["code"] == "invalid_token"
