"""Vietnamese text-to-speech through the API (espeak-ng), then the same normalization."""
from __future__ import annotations

import pytest

from tests.support.app import HOAN_KIEM, user
from tests.support.audio_fixtures import require_binary

pytestmark = pytest.mark.integration
TEXT = ("Luật Hòa giải ở cơ sở quy định nguyên tắc, chính sách của Nhà nước về hòa giải ở cơ sở; "
        "hòa giải viên, tổ hòa giải; hoạt động hòa giải ở cơ sở.")


@pytest.fixture
def editor(container, client):
    require_binary("espeak-ng")
    return user(container, client, "editor", "editor", HOAN_KIEM)


@pytest.mark.parametrize("voice", ["vi", "vi-vn-x-south"])
def test_tts_becomes_a_ready_asset(container, client, editor, voice):
    response = client.post("/api/v1/audio/tts", headers=editor.headers,
                           json={"text": TEXT, "voice": voice, "title": "Hòa giải ở cơ sở", "area_code": HOAN_KIEM,
                                 "topic": "grassroots_mediation"})
    assert response.status_code == 202, response.text
    assert container.jobs.drain(timeout=120)
    asset = client.get(f"/api/v1/audio/{response.json()['id']}", headers=editor.headers).json()
    assert asset["status"] == "ready", asset
    assert asset["kind"] == "tts" and asset["voice"] == voice and asset["duration_ms"] > 3000
    assert asset["loudness"]["output_lufs"] == pytest.approx(-16, abs=0.5)


@pytest.mark.parametrize("body,code", [
    ({"text": "", "voice": "vi"}, "text_empty"),
    ({"text": "a" * 20_001, "voice": "vi"}, "text_too_long"),
    ({"text": "Xin chào", "voice": "klingon"}, "unknown_voice"),
])
def test_bad_tts_requests(container, client, editor, body, code):
    response = client.post("/api/v1/audio/tts", headers=editor.headers,
                           json={**body, "title": "Thử", "area_code": HOAN_KIEM})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == code
    assert client.get("/api/v1/audio", headers=editor.headers).json() == []
