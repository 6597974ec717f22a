"""The pronunciation dictionary through the API on SQLite and PostgreSQL: anyone signed in reads it, administrators
add, change and remove entries (audited), and the next synthesis reads with it."""
from __future__ import annotations

import wave

import pytest
from sqlalchemy import select

from broadcast.persistence.models import AuditRow
from tests.support.app import HOAN_KIEM, user
from tests.support.audio_fixtures import require_binary

pytestmark = pytest.mark.integration
URL = "/api/v1/pronunciations"


@pytest.fixture
def admin(container, client):
    return user(container, client, "quan-tri", "admin", HOAN_KIEM)


def entries(client, who) -> dict[str, dict]:
    response = client.get(URL, headers=who.headers)
    assert response.status_code == 200, response.text
    return {e["term"]: e for e in response.json()}


def test_anyone_signed_in_reads_the_defaults(client, container):
    viewer = user(container, client, "xem", "viewer", HOAN_KIEM)
    listed = entries(client, viewer)
    assert listed["UBND"] == {"term": "UBND", "spoken": "Ủy ban nhân dân", "default": "Ủy ban nhân dân",
                              "custom": False, "updated_at": None, "updated_by": None}
    assert listed["PCCC"]["spoken"] == "phòng cháy chữa cháy" and listed["NĐ-CP"]["spoken"] == "Nghị định Chính phủ"
    assert list(listed) == sorted(listed)
    assert client.get(URL).status_code == 401


def test_administrators_change_add_and_remove_entries(client, container, admin):
    editor = user(container, client, "bien-tap", "editor", HOAN_KIEM)
    assert client.put(f"{URL}/UBND", headers=editor.headers, json={"spoken": "u bê"}).status_code == 403

    changed = client.put(f"{URL}/UBND", headers=admin.headers, json={"spoken": "  Ủy ban  nhân dân  phường "})
    assert changed.status_code == 200, changed.text
    assert changed.json()["spoken"] == "Ủy ban nhân dân phường" and changed.json()["custom"] is True
    added = client.put(f"{URL}/BQL", headers=admin.headers, json={"spoken": "ban quản lý"})
    assert added.status_code == 200 and added.json()["default"] is None
    listed = entries(client, editor)
    assert listed["UBND"]["spoken"] == "Ủy ban nhân dân phường" and listed["UBND"]["default"] == "Ủy ban nhân dân"
    assert listed["UBND"]["updated_by"] == "quan-tri" and listed["BQL"]["spoken"] == "ban quản lý"

    assert client.delete(f"{URL}/BQL", headers=editor.headers).status_code == 403
    assert client.delete(f"{URL}/BQL", headers=admin.headers).status_code == 204
    restored = client.delete(f"{URL}/UBND", headers=admin.headers)
    assert restored.status_code == 200 and restored.json()["spoken"] == "Ủy ban nhân dân"
    assert restored.json()["custom"] is False
    missing = client.delete(f"{URL}/UBND", headers=admin.headers)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "pronunciation_not_found"
    assert "BQL" not in entries(client, editor)

    with container.engine.connect() as connection:
        audited = connection.execute(select(AuditRow.action, AuditRow.object_id, AuditRow.actor, AuditRow.details)
                                     .where(AuditRow.object_type == "pronunciation").order_by(AuditRow.id)).all()
    assert [(a, o, who) for a, o, who, _ in audited] == [
        ("pronunciation.set", "UBND", "quan-tri"), ("pronunciation.set", "BQL", "quan-tri"),
        ("pronunciation.delete", "BQL", "quan-tri"), ("pronunciation.delete", "UBND", "quan-tri")]
    assert audited[0].details == {"spoken": "Ủy ban nhân dân phường", "previous": "Ủy ban nhân dân"}


@pytest.mark.parametrize("term,spoken,code", [
    ("U B", "ủy ban", "invalid_term"),
    ("123", "một hai ba", "invalid_term"),
    ("X" * 41, "ích", "invalid_term"),
    ("UBND", "   ", "invalid_spoken"),
    ("UBND", "a" * 201, "invalid_spoken"),
    ("UBND", "Ủy\u202eban", "invalid_characters"),
])
def test_bad_entries_are_refused(client, admin, term, spoken, code):
    response = client.put(f"{URL}/{term}", headers=admin.headers, json={"spoken": spoken})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == code


def seconds_of_wav(path) -> float:
    with wave.open(str(path)) as audio:
        return audio.getnframes() / audio.getframerate()


def test_the_next_synthesis_reads_with_the_administrators_entry(client, container, admin, tmp_path):
    require_binary("espeak-ng")
    container.audio.synthesize("BQL", "vi", tmp_path / "before.wav")
    response = client.put(f"{URL}/BQL", headers=admin.headers,
                          json={"spoken": "ban quản lý dự án đầu tư xây dựng công trình dân dụng"})
    assert response.status_code == 200, response.text
    container.audio.synthesize("BQL", "vi", tmp_path / "after.wav")
    # Three letters before; eleven words after, from the same three letters of text.
    assert seconds_of_wav(tmp_path / "after.wav") > 2 * seconds_of_wav(tmp_path / "before.wav")
