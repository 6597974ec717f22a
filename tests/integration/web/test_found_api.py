"""The foundation API on the real app and database (SQLite and PostgreSQL)."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from broadcast.persistence.models import AuditRow, UserRow, ZoneRow
from tests.support.app import HANOI, HOAN_KIEM, PASSWORD, add_user, login, user

pytestmark = pytest.mark.integration


def count(container, model) -> int:
    with container.engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(model))


def error_of(response) -> dict:
    body = response.json()
    assert set(body) == {"error"} and {"code", "message"} <= set(body["error"]), body
    return body["error"]


# -- sign-in -------------------------------------------------------------------------------------------

def test_login_returns_bearer_token_and_me(container, client):
    add_user(container, "officer", "editor", HOAN_KIEM)
    response = client.post("/api/v1/auth/token", data={"username": "officer", "password": PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer" and body["access_token"]
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"}).json()
    assert me["username"] == "officer" and me["grants"] == [{"role": "editor", "area_code": HOAN_KIEM}]


def test_wrong_password_is_401_in_vietnamese(container, client):
    add_user(container, "officer", "editor", HOAN_KIEM)
    response = client.post("/api/v1/auth/token", data={"username": "officer", "password": "wrong-password"})
    assert response.status_code == 401
    assert error_of(response)["message"] == "Tên đăng nhập hoặc mật khẩu không đúng."


def test_tokens_expire(container, client, clock):
    officer = user(container, client, "officer", "viewer", HOAN_KIEM)
    assert client.get("/api/v1/auth/me", headers=officer.headers).status_code == 200
    clock.advance(minutes=container.settings.token_ttl_minutes + 1)
    response = client.get("/api/v1/auth/me", headers=officer.headers)
    assert response.status_code == 401 and error_of(response)["code"] == "token_expired"


def test_forged_token_is_401(client):
    response = client.get("/api/v1/auth/me", headers={"Authorization": "Bearer not.a.token"})
    assert response.status_code == 401 and error_of(response)["code"] == "invalid_token"


def test_repeated_failed_logins_are_slowed_down(container, client, clock):
    add_user(container, "officer", "editor", HOAN_KIEM)
    for _ in range(container.settings.login_max_failures):
        assert client.post("/api/v1/auth/token", data={"username": "officer", "password": "nope"}).status_code == 401
    blocked = client.post("/api/v1/auth/token", data={"username": "officer", "password": PASSWORD})
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 0
    assert error_of(blocked)["code"] == "too_many_attempts"
    clock.advance(seconds=container.settings.login_block_seconds + 1)
    assert client.post("/api/v1/auth/token", data={"username": "officer", "password": PASSWORD}).status_code == 200


# -- areas -----------------------------------------------------------------------------------------------

def test_areas_list_and_get(container, client):
    viewer = user(container, client, "viewer", "viewer", HOAN_KIEM)
    provinces = client.get("/api/v1/areas", params={"level": "province", "limit": 100}, headers=viewer.headers).json()
    assert len(provinces) == 34
    communes = client.get("/api/v1/areas", params={"parent": HANOI, "limit": 5000}, headers=viewer.headers).json()
    assert len(communes) == 126 and all(a["parent_code"] == HANOI for a in communes)
    ward = client.get(f"/api/v1/areas/{HOAN_KIEM}", headers=viewer.headers).json()
    assert ward["name"] == "Phường Hoàn Kiếm" and ward["level"] == "commune"
    found = client.get("/api/v1/areas", params={"q": "hoàn kiếm"}, headers=viewer.headers).json()
    assert [a["code"] for a in found] == [HOAN_KIEM]


def test_unknown_area_is_404(container, client):
    viewer = user(container, client, "viewer", "viewer", HOAN_KIEM)
    response = client.get("/api/v1/areas/99999", headers=viewer.headers)
    assert response.status_code == 404 and error_of(response)["code"] == "area_not_found"


# -- zones -------------------------------------------------------------------------------------------------

def test_create_zone_and_list(container, client):
    editor = user(container, client, "editor", "editor", HOAN_KIEM)
    response = client.post("/api/v1/zones", headers=editor.headers,
                           json={"commune_code": HOAN_KIEM, "name": "Tổ dân phố số 3", "kind": "residential_group"})
    assert response.status_code == 201, response.text
    assert response.json()["id"] == f"{HANOI}-{HOAN_KIEM}-to-dan-pho-so-3"
    listed = client.get("/api/v1/zones", params={"commune": HOAN_KIEM}, headers=editor.headers).json()
    assert [z["name"] for z in listed] == ["Tổ dân phố số 3"]


@pytest.mark.parametrize("body,status,code", [
    ({"commune_code": "99999", "name": "Thôn 1"}, 404, "area_not_found"),
    ({"commune_code": HANOI, "name": "Thôn 1"}, 422, "zone_needs_commune"),
    ({"commune_code": HOAN_KIEM, "name": ""}, 422, "invalid_input"),
    ({"commune_code": HOAN_KIEM, "name": 42}, 422, "invalid_input"),
    ({"commune_code": HOAN_KIEM, "name": "Thôn 1", "kind": "castle"}, 422, "invalid_zone_kind"),
    ({"commune_code": HOAN_KIEM, "name": "Thôn 1", "slug": "../../etc"}, 422, "invalid_input"),
    ({"commune_code": HOAN_KIEM, "name": "Thôn 1", "unexpected": True}, 422, "invalid_input"),
])
def test_bad_zone_input_changes_nothing(container, client, body, status, code):
    admin = user(container, client, "admin", "admin", HANOI)
    audit_before = count(container, AuditRow)
    response = client.post("/api/v1/zones", headers=admin.headers, json=body)
    assert response.status_code == status, response.text
    assert error_of(response)["code"] == code
    assert count(container, ZoneRow) == 0 and count(container, AuditRow) == audit_before


def test_duplicate_zone_is_409(container, client):
    admin = user(container, client, "admin", "admin", HANOI)
    body = {"commune_code": HOAN_KIEM, "name": "Thôn Đông"}
    assert client.post("/api/v1/zones", headers=admin.headers, json=body).status_code == 201
    again = client.post("/api/v1/zones", headers=admin.headers, json=body)
    assert again.status_code == 409 and error_of(again)["code"] == "zone_exists"
    assert count(container, ZoneRow) == 1


def test_malformed_json_and_oversized_body(container, client):
    admin = user(container, client, "admin", "admin", HANOI)
    headers = {**admin.headers, "Content-Type": "application/json"}
    malformed = client.post("/api/v1/zones", headers=headers, content=b'{"commune_code": ')
    assert malformed.status_code == 400 and error_of(malformed)["code"] == "malformed_json"
    huge = b'{"commune_code": "' + b"x" * (container.settings.max_body_bytes + 10) + b'"}'
    oversized = client.post("/api/v1/zones", headers=headers, content=huge)
    assert oversized.status_code == 413 and error_of(oversized)["code"] == "payload_too_large"
    assert count(container, ZoneRow) == 0


def test_unknown_route_uses_error_shape(container, client):
    anonymous = client.get("/api/v1/nowhere")  # nothing under /api/v1 answers before the token is checked
    assert anonymous.status_code == 401 and error_of(anonymous)["code"] == "unauthenticated"
    viewer = user(container, client, "viewer", "viewer", HOAN_KIEM)
    response = client.get("/api/v1/nowhere", headers=viewer.headers)
    assert response.status_code == 404 and error_of(response)["code"] == "not_found"


# -- users -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("body,code", [
    ({"username": "newbie", "password": "", "role": "viewer", "area_code": HOAN_KIEM}, "weak_password"),
    ({"username": "newbie", "password": "abcdefghij", "role": "viewer", "area_code": HOAN_KIEM}, "weak_password"),
    ({"username": "newbie", "password": PASSWORD, "role": "king", "area_code": HOAN_KIEM}, "invalid_role"),
    ({"username": "newbie", "password": PASSWORD, "role": "viewer", "area_code": "00000"}, "area_not_found"),
    ({"username": "Bad Name", "password": PASSWORD, "role": "viewer", "area_code": HOAN_KIEM}, "invalid_username"),
    ({"username": "admin", "password": PASSWORD, "role": "viewer", "area_code": HOAN_KIEM}, "user_exists"),
])
def test_bad_user_input_changes_nothing(container, client, body, code):
    admin = user(container, client, "admin", "admin", HANOI)
    users_before, audit_before = count(container, UserRow), count(container, AuditRow)
    response = client.post("/api/v1/users", headers=admin.headers, json=body)
    assert response.status_code in (404, 409, 422)
    assert error_of(response)["code"] == code
    assert (count(container, UserRow), count(container, AuditRow)) == (users_before, audit_before)


def test_created_user_can_sign_in(container, client):
    admin = user(container, client, "admin", "admin", HANOI)
    response = client.post("/api/v1/users", headers=admin.headers,
                           json={"username": "can-bo-vh", "password": PASSWORD, "role": "editor",
                                 "area_code": HOAN_KIEM, "full_name": "Nguyễn Thị Hoa"})
    assert response.status_code == 201
    assert login(client, "can-bo-vh").username == "can-bo-vh"
    with container.engine.connect() as connection:
        stored = connection.scalar(select(UserRow.password_hash).where(UserRow.username == "can-bo-vh"))
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


# -- audit -------------------------------------------------------------------------------------------------

def test_changes_are_audited_with_address_and_filterable(container, client):
    admin = user(container, client, "admin", "admin", HANOI)
    client.post("/api/v1/zones", headers=admin.headers, json={"commune_code": HOAN_KIEM, "name": "Thôn Tây"})
    entries = client.get("/api/v1/audit", params={"action": "zone.create"}, headers=admin.headers).json()
    assert len(entries) == 1
    entry = entries[0]
    assert entry["actor"] == "admin" and entry["object_type"] == "zone" and entry["area_code"] == HOAN_KIEM
    assert entry["address"] == "testclient" and entry["details"]["name"] == "Thôn Tây"
    by_actor = client.get("/api/v1/audit", params={"actor": "nobody"}, headers=admin.headers).json()
    assert by_actor == []


def test_admin_sees_only_audit_of_its_areas(container, client):
    hn = user(container, client, "admin-hn", "admin", HANOI)
    hcm = user(container, client, "admin-hcm", "admin", "79")
    client.post("/api/v1/zones", headers=hn.headers, json={"commune_code": HOAN_KIEM, "name": "Thôn Bắc"})
    seen_by_hcm = client.get("/api/v1/audit", params={"action": "zone.create"}, headers=hcm.headers).json()
    assert seen_by_hcm == []


def test_audit_log_cannot_be_edited(container, client):
    admin = user(container, client, "admin", "admin", HANOI)
    client.post("/api/v1/zones", headers=admin.headers, json={"commune_code": HOAN_KIEM, "name": "Thôn Nam"})
    for method in ("put", "patch", "delete"):
        assert getattr(client, method)("/api/v1/audit", headers=admin.headers).status_code == 405
    with pytest.raises(DBAPIError), container.engine.begin() as connection:
        connection.execute(text("UPDATE audit_log SET actor = 'someone-else'"))
