"""CAP alerts are authorized before anything else, and duplicates and references are per sender and area: a
province that sends an alert with another province's identifier learns nothing about the other's alert."""
from __future__ import annotations

import pytest

from broadcast.persistence.models import EmergencyRow
from tests.integration.emergencies.conftest import count
from tests.integration.emergencies.test_emerg_cap import SENDER, cap, post
from tests.support.app import CUA_NAM, HANOI, HCMC, HOAN_KIEM, VUNG_TAU, user
from tests.support.audio_fixtures import require_binary

pytestmark = pytest.mark.integration
IN_HOAN_KIEM = ((("VN-ADMIN", HOAN_KIEM),),)
IN_VUNG_TAU = ((("VN-ADMIN", VUNG_TAU),),)


@pytest.fixture
def provinces(container, client):
    require_binary("espeak-ng")
    require_binary("ffmpeg")
    return (user(container, client, "khan-cap-hn", "emergency_operator", HANOI),
            user(container, client, "khan-cap-hcm", "emergency_operator", HCMC))


def test_a_second_province_with_the_same_identifier_gets_its_own_alert(container, client, clock, registry, provinces):
    a, b = provinces
    first = post(client, a, cap("KTTV-2026-042", clock=clock, areas=IN_HOAN_KIEM))
    assert first.status_code == 201, first.text
    theirs = first.json()["emergency"]

    mine = post(client, b, cap("KTTV-2026-042", clock=clock, areas=IN_VUNG_TAU))
    assert mine.status_code == 201, mine.text
    assert mine.json()["action"] == "started" and mine.json()["emergency"]["id"] != theirs["id"]
    assert mine.json()["emergency"]["targets"]["areas"] == [VUNG_TAU]
    assert mine.json()["emergency"]["created_by"] == b.username and f'"{a.username}"' not in mine.text
    again = post(client, b, cap("KTTV-2026-042", clock=clock, areas=IN_VUNG_TAU))
    assert again.status_code == 200 and again.json()["action"] == "duplicate"
    assert again.json()["emergency"]["id"] == mine.json()["emergency"]["id"]
    assert client.get(f"/api/v1/emergencies/{theirs['id']}", headers=a.headers).json()["status"] == "active"
    assert count(container, EmergencyRow) == 2


def test_rights_are_checked_before_any_duplicate_answer(container, client, clock, registry, provinces):
    a, b = provinces
    assert post(client, a, cap("KTTV-2026-043", clock=clock, areas=IN_HOAN_KIEM)).status_code == 201
    known = post(client, b, cap("KTTV-2026-043", clock=clock, areas=IN_HOAN_KIEM))
    fresh = post(client, b, cap("KTTV-2026-999", clock=clock, areas=IN_HOAN_KIEM))
    assert known.status_code == fresh.status_code == 403, known.text
    assert known.json() == fresh.json()  # the same refusal as for an alert nobody sent
    ward = user(container, client, "khan-cap-cn", "emergency_operator", CUA_NAM)  # may send, but not there
    assert post(client, ward, cap("KTTV-2026-043", clock=clock, areas=IN_HOAN_KIEM)).status_code == 403
    assert count(container, EmergencyRow) == 1


def test_another_provinces_alert_cannot_be_referenced(container, client, clock, registry, provinces):
    a, b = provinces
    theirs = post(client, a, cap("KTTV-2026-044", clock=clock, areas=IN_HOAN_KIEM)).json()["emergency"]

    def cancel(identifier: str):
        return post(client, b, cap("HUY-1", msg_type="Cancel", references=f"{SENDER},{identifier},x", clock=clock,
                                   info=False))

    known, unknown = cancel("KTTV-2026-044"), cancel("KHONG-CO")
    assert known.status_code == unknown.status_code == 404, known.text
    assert known.json() == unknown.json() and known.json()["error"]["code"] == "cap_reference_not_found"

    update = post(client, b, cap("KTTV-2026-045", msg_type="Update", references=f"{SENDER},KTTV-2026-044,x",
                                 clock=clock, areas=IN_VUNG_TAU))
    assert update.status_code == 201, update.text
    assert update.json()["stopped"] == []
    assert client.get(f"/api/v1/emergencies/{theirs['id']}", headers=a.headers).json()["status"] == "active"
