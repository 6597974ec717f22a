"""Bulletin titles and texts from the central system follow the same text rule as an officer's input."""
from __future__ import annotations

import unicodedata

import pytest

from broadcast.persistence.models import (
    AudioAssetRow,
    BulletinRow,
    EmergencyRow,
    ProgrammeRow,
    ScheduleRow,
)
from tests.integration.bridge.conftest import bulletin, count, rows
from tests.integration.bridge.test_bridge_bad_input import push

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("field,value", [("title", "Bản tin \u202eđất đai"), ("content", "Thông báo\u2066 lịch")])
@pytest.mark.parametrize("priority", ["normal", "emergency"])
def test_hidden_characters_refuse_the_bulletin(container, client, clock, registry, field, value, priority):
    response = push(client, clock, bulletin("TW-T-1", clock, priority=priority, **{field: value}))
    assert response.status_code == 422, response.text
    answer = response.json()
    assert answer["status"] == "refused" and answer["code"] == "invalid_characters"
    assert "ký tự điều khiển hoặc ký tự định dạng ẩn" in answer["message"]
    assert all(count(container, model) == 0 for model in (ProgrammeRow, AudioAssetRow, ScheduleRow, EmergencyRow))
    assert [r.status for r in rows(container, BulletinRow)] == ["refused"]


def test_a_decomposed_title_is_stored_composed(container, client, clock, registry):
    title = "Bản tin pháp luật về đất đai"
    accepted = push(client, clock, bulletin("TW-T-2", clock, title=unicodedata.normalize("NFD", title)))
    assert accepted.status_code == 201, accepted.text
    assert [p.title for p in rows(container, ProgrammeRow)] == [title]
    assert [a.title for a in rows(container, AudioAssetRow)] == [title]
