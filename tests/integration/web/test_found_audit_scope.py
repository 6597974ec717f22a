"""Who reads audit entries that concern no area (#11 finding 13).

There is no national grant in LoaXa: every grant is bound to a province or a commune. So an entry tied to no area
(a failed login of an unknown name, area seeding, a refused bulletin) is shown to no province's admin; one that
concerns an account carries that account's area and reaches the admins of that area.
"""
from __future__ import annotations

import pytest

from broadcast.domain.audit import AuditEntry
from tests.support.app import HANOI, HCMC, HOAN_KIEM, VUNG_TAU, add_user, user

pytestmark = pytest.mark.integration


def seen(client, admin, action: str) -> list[tuple[str, str | None]]:
    entries = client.get("/api/v1/audit", params={"action": action}, headers=admin.headers).json()
    return sorted((e["object_id"], e["area_code"]) for e in entries)


def test_entries_without_area_reach_no_province_admin(container, client, clock):
    hanoi = user(container, client, "admin-hn", "admin", HANOI)
    hcmc = user(container, client, "admin-hcm", "admin", HCMC)
    with container.uow() as uow:
        uow.audit.append(AuditEntry(actor="system", action="area.seed", object_type="area", object_id="*",
                                    at=clock.now()))
        uow.commit()
    assert seen(client, hanoi, "area.seed") == [] and seen(client, hcmc, "area.seed") == []


def test_failed_logins_reach_the_admins_of_the_account_area_only(container, client):
    hanoi = user(container, client, "admin-hn", "admin", HANOI)
    hcmc = user(container, client, "admin-hcm", "admin", HCMC)
    add_user(container, "officer-hk", "editor", HOAN_KIEM)
    add_user(container, "officer-vt", "editor", VUNG_TAU)
    for name in ("officer-hk", "officer-vt", "nobody-at-all"):
        answer = client.post("/api/v1/auth/token", data={"username": name, "password": "Sai-mat-khau-1"})
        assert answer.status_code == 401
    assert seen(client, hanoi, "auth.login_failed") == [("officer-hk", HOAN_KIEM)]
    assert seen(client, hcmc, "auth.login_failed") == [("officer-vt", VUNG_TAU)]
