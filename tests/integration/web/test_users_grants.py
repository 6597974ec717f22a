"""An account with more than one role or area, created and changed through the API (SQLite and PostgreSQL): the
admin may grant only within the areas they manage, never changes their own roles, and a change applies at once."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from broadcast.persistence.models import AuditRow
from tests.support.app import CUA_NAM, HANOI, HCMC, HOAN_KIEM, PASSWORD, login, user

pytestmark = pytest.mark.integration


def grants_of(body: dict) -> list[tuple[str, str]]:
    return [(g["role"], g["area_code"]) for g in body["grants"]]


def test_an_account_is_created_with_two_grants(container, client):
    admin = user(container, client, "quan-tri", "admin", HANOI)
    created = client.post("/api/v1/users", headers=admin.headers, json={
        "username": "can-bo-hk", "password": PASSWORD, "full_name": "Nguyễn Văn An",
        "grants": [{"role": "editor", "area_code": HOAN_KIEM}, {"role": "viewer", "area_code": HANOI}]})
    assert created.status_code == 201, created.text
    assert grants_of(created.json()) == [("editor", HOAN_KIEM), ("viewer", HANOI)]
    officer = login(client, "can-bo-hk")
    # The province viewer grant reads a neighbour's play log; the commune editor grant alone would not.
    assert client.get("/api/v1/playlog", params={"area": CUA_NAM}, headers=officer.headers).status_code == 200
    single = client.post("/api/v1/users", headers=admin.headers, json={
        "username": "xem-cn", "password": PASSWORD, "role": "viewer", "area_code": CUA_NAM})
    assert single.status_code == 201 and grants_of(single.json()) == [("viewer", CUA_NAM)]
    with container.engine.connect() as connection:
        details = connection.scalar(select(AuditRow.details).where(AuditRow.action == "user.create",
                                                                   AuditRow.object_id == "can-bo-hk"))
    assert details["grants"] == [f"editor@{HOAN_KIEM}", f"viewer@{HANOI}"]


def test_grants_stay_within_the_admins_areas_and_must_be_complete(container, client):
    ward_admin = user(container, client, "quan-tri-hk", "admin", HOAN_KIEM)
    body = {"username": "moi", "password": PASSWORD}
    beyond = client.post("/api/v1/users", headers=ward_admin.headers, json={**body, "grants": [
        {"role": "viewer", "area_code": HOAN_KIEM}, {"role": "viewer", "area_code": HANOI}]})
    assert beyond.status_code == 403  # the province is above a ward admin
    for grants in ([], [{"role": "viewer", "area_code": ""}], [{"role": "chief", "area_code": HOAN_KIEM}]):
        refused = client.post("/api/v1/users", headers=ward_admin.headers, json={**body, "grants": grants})
        assert refused.status_code == 422, grants
    assert client.post("/api/v1/users", headers=ward_admin.headers, json={**body, "grants": [
        {"role": "viewer", "area_code": "99999"}]}).status_code == 404


def test_grants_are_replaced_at_once_but_never_ones_own(container, client):
    admin = user(container, client, "quan-tri", "admin", HANOI)
    viewer = user(container, client, "xem", "viewer", HOAN_KIEM)
    assert client.get("/api/v1/playlog", params={"area": CUA_NAM}, headers=viewer.headers).status_code == 403
    changed = client.put("/api/v1/users/xem/grants", headers=admin.headers, json={"grants": [
        {"role": "viewer", "area_code": HOAN_KIEM}, {"role": "approver", "area_code": CUA_NAM}]})
    assert changed.status_code == 200, changed.text
    assert grants_of(changed.json()) == [("viewer", HOAN_KIEM), ("approver", CUA_NAM)]
    assert client.get("/api/v1/playlog", params={"area": CUA_NAM}, headers=viewer.headers).status_code == 200
    again = client.put("/api/v1/users/xem/grants", headers=admin.headers, json={"grants": [
        {"role": "approver", "area_code": CUA_NAM}, {"role": "approver", "area_code": CUA_NAM}]})
    assert grants_of(again.json()) == [("approver", CUA_NAM)]  # a kept grant and a repeat: one row
    own = client.put("/api/v1/users/quan-tri/grants", headers=admin.headers,
                     json={"grants": [{"role": "viewer", "area_code": HANOI}]})
    assert own.status_code == 422 and own.json()["error"]["code"] == "cannot_change_own_grants"
    outsider = user(container, client, "quan-tri-hcm", "admin", HCMC)
    assert client.put("/api/v1/users/xem/grants", headers=outsider.headers,
                      json={"grants": [{"role": "viewer", "area_code": HCMC}]}).status_code == 403
    assert client.put("/api/v1/users/xem/grants", headers=viewer.headers,
                      json={"grants": [{"role": "admin", "area_code": HANOI}]}).status_code == 403
