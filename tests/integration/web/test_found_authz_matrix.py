"""Every role x every action x inside/outside its area, against the real app and database."""
from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from broadcast.domain.auth import Role
from tests.support.app import CUA_NAM, HANOI, HOAN_KIEM, PASSWORD, VUNG_TAU, user

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class Case:
    name: str
    allowed: frozenset[Role]
    call: Callable  # (client, headers, commune_code, unique) -> response
    ok: int


def _zone(client, headers, commune, unique):
    return client.post("/api/v1/zones", headers=headers,
                       json={"commune_code": commune, "name": f"Thôn {unique}", "kind": "village"})


def _new_user(client, headers, commune, unique):
    return client.post("/api/v1/users", headers=headers,
                       json={"username": f"u{unique}", "password": PASSWORD, "role": "viewer", "area_code": commune})


def _read_zones(client, headers, commune, _unique):
    return client.get("/api/v1/zones", params={"commune": commune}, headers=headers)


def _device(client, headers, commune, unique):
    return client.post("/api/v1/devices", headers=headers,
                       json={"id": f"dev-{unique:04d}", "name": f"Cụm loa {unique}", "area_code": commune})


def _read_devices(client, headers, commune, _unique):
    return client.get("/api/v1/devices", params={"area": commune}, headers=headers)


def _emergency(client, headers, commune, unique):
    return client.post("/api/v1/emergencies", headers=headers,
                       json={"targets": {"areas": [commune]}, "reason": f"Diễn tập {unique}",
                             "stream_url": "http://radio.example.vn/vov1", "expires_in_minutes": 10})


ALL = frozenset(Role)
CASES = [
    Case("read zones", ALL, _read_zones, 200),
    Case("create zone", frozenset({Role.ADMIN, Role.EDITOR}), _zone, 201),
    Case("create user", frozenset({Role.ADMIN}), _new_user, 201),
    Case("register device", frozenset({Role.ADMIN}), _device, 201),
    Case("read devices", ALL, _read_devices, 200),
    Case("send emergency", frozenset({Role.ADMIN, Role.EMERGENCY_OPERATOR}), _emergency, 201),
]
# Actions not tied to one area: allowed roles only, whatever their area.
GLOBAL_CASES = [
    ("list users", frozenset({Role.ADMIN}), lambda c, h: c.get("/api/v1/users", headers=h)),
    ("read audit", frozenset({Role.ADMIN}), lambda c, h: c.get("/api/v1/audit", headers=h)),
    ("read areas", ALL, lambda c, h: c.get("/api/v1/areas", params={"parent": HANOI}, headers=h)),
    ("read one area", ALL, lambda c, h: c.get(f"/api/v1/areas/{VUNG_TAU}", headers=h)),
]


@pytest.fixture
def signed_in(container, client):
    """One user per role bound to the ward Hoàn Kiếm, plus per-role province-level users of Hà Nội."""
    return {
        (role, scope): user(container, client, f"{role.value.replace('_', '-')}-{scope}", role.value, area)
        for role in Role for scope, area in (("commune", HOAN_KIEM), ("province", HANOI))
    }


def test_area_actions_by_role_and_area(client, signed_in):
    counter = itertools.count()
    outcomes = []
    for case, role, (scope, target) in itertools.product(
        CASES, Role, [("commune", HOAN_KIEM), ("sibling", CUA_NAM), ("other-province", VUNG_TAU)]
    ):
        for binding in ("commune", "province"):
            if binding == "province" and scope == "commune":
                continue  # covered by the sibling case (same province)
            headers = signed_in[(role, binding)].headers
            response = case.call(client, headers, target, next(counter))
            inside = scope == "commune" or (binding == "province" and scope == "sibling")
            expected = case.ok if (role in case.allowed and inside) else 403
            outcomes.append((case.name, role.value, binding, scope, response.status_code, expected))
            if response.status_code >= 400:
                assert set(response.json()) == {"error"}
    wrong = [o for o in outcomes if o[4] != o[5]]
    assert not wrong, wrong
    assert len(outcomes) == len(CASES) * len(Role) * 5


def test_global_actions_by_role(client, signed_in):
    for (name, allowed, call), role in itertools.product(GLOBAL_CASES, Role):
        response = call(client, signed_in[(role, "commune")].headers)
        assert response.status_code == (200 if role in allowed else 403), (name, role, response.text)


@pytest.mark.parametrize("method,path", [
    ("get", "/api/v1/areas"), ("get", f"/api/v1/areas/{HANOI}"), ("get", "/api/v1/zones"),
    ("post", "/api/v1/zones"), ("get", "/api/v1/users"), ("post", "/api/v1/users"), ("get", "/api/v1/audit"),
    ("get", "/api/v1/auth/me"), ("get", "/api/v1/devices"), ("post", "/api/v1/devices"),
    ("get", "/api/v1/devices/signing-key"), ("get", "/api/v1/devices/dev-0001"),
    ("post", "/api/v1/devices/dev-0001/rotate-secret"), ("post", "/api/v1/devices/dev-0001/disable"),
    ("get", "/api/v1/emergencies"), ("post", "/api/v1/emergencies"), ("get", "/api/v1/emergencies/1"),
    ("post", "/api/v1/emergencies/1/stop"), ("post", "/api/v1/emergencies/cap"),
])
def test_no_token_is_401(client, method, path):
    response = getattr(client, method)(path)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


def test_open_endpoints_need_no_token(client):
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").json()["database"] == "ok"
    assert "loaxa_http_requests_total" in client.get("/metrics").text
    assert client.get("/api/v1/openapi.json").status_code == 200


def test_viewer_reads_only_inside_its_area(container, client):
    admin = user(container, client, "admin-hn", "admin", HANOI)
    for commune in (HOAN_KIEM, VUNG_TAU):
        assert _zone(client, admin.headers, commune, commune).status_code == (201 if commune == HOAN_KIEM else 403)
    viewer = user(container, client, "viewer-hk", "viewer", HOAN_KIEM)
    listed = client.get("/api/v1/zones", headers=viewer.headers).json()
    assert [z["commune_code"] for z in listed] == [HOAN_KIEM]
