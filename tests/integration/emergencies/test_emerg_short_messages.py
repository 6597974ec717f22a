"""Emergencies are never refused for being short: a one-word warning by every path (text, library recording, CAP
text, CAP audio) becomes the attention chime then the message said twice, as one rendition devices play. The
library keeps its minimum length for uploads. Administrators replace the chime; LOAXA_EMERGENCY_REPEAT sets how
many times the message is said."""
from __future__ import annotations

import base64
import io
import subprocess
import wave
from pathlib import Path

import numpy
import pytest
from sqlalchemy import select

from audio_library.alert import PAUSE_MS
from audio_library.tts import synthesize_to_file
from broadcast.persistence.models import AuditRow
from broadcast.services.context import Actor
from broadcast.services.emergencies import AudioFile, EmergencyRequest, prepare_emergency
from tests.integration.emergencies.conftest import publications, ready_asset
from tests.support.app import HOAN_KIEM, make_container, user, wipe
from tests.support.audio_fixtures import require_binary

pytestmark = pytest.mark.integration
URL = "/api/v1/emergencies"
WORD = "Cháy!"
TOLERANCE_MS = 300  # MP3 framing and resampling at the joins


@pytest.fixture(autouse=True)
def _tools():
    require_binary("ffmpeg")
    require_binary("espeak-ng")


@pytest.fixture
def operator(container, client, registry):
    return user(container, client, "khan-cap-hk", "emergency_operator", HOAN_KIEM)


def seconds_of(path: Path) -> float:
    done = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0",
                           str(path)], capture_output=True, text=True, check=True)
    return float(done.stdout)


@pytest.fixture
def spoken_word(tmp_path) -> Path:
    """"Cháy!" as the server's text-to-speech says it: about 0.7 s, under the library's 1 s minimum."""
    path = synthesize_to_file(WORD, tmp_path / "chay.wav")
    assert seconds_of(path) < 1.0
    return path


def chime_ms(container) -> float:
    path, _custom = container.audio.chime_file()
    return seconds_of(path) * 1000


def alert_of(client, who, emergency: dict) -> dict:
    """The emergency's rendition, which the play_now names and devices can fetch."""
    asset = client.get(f"/api/v1/audio/{emergency['audio_id']}", headers=who.headers).json()
    (doc,) = publications_of(client, emergency).values()
    assert doc["media"] == [{"sha256": asset["sha256"], "url": doc["media"][0]["url"], "bytes": asset["bytes"],
                             "duration_ms": asset["duration_ms"]}]
    assert client.get(f"/media/{asset['sha256']}.mp3").status_code == 200
    return asset


def opening_pitch_hz(client, asset: dict) -> float:
    """The strongest frequency of the alert's first 0.4 s, as devices download it."""
    mp3 = client.get(f"/media/{asset['sha256']}.mp3").content
    done = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", "pipe:0", "-t", "0.4", "-ac", "1", "-ar",
                           "16000", "-f", "f32le", "pipe:1"], input=mp3, capture_output=True, check=True)
    samples = numpy.frombuffer(done.stdout, dtype=numpy.float32)
    spectrum = numpy.abs(numpy.fft.rfft(samples * numpy.hanning(len(samples))))
    return float(numpy.fft.rfftfreq(len(samples), 1 / 16000)[spectrum.argmax()])


def publications_of(client, emergency: dict) -> dict:
    return publications(client.app.state.container, emergency["cmd_id"])


def assert_chime_then_repeated(duration_ms: int, chime: float, message_s: float, repeat: int = 2) -> None:
    expected = chime + repeat * (PAUSE_MS + message_s * 1000)
    assert duration_ms > chime + repeat * message_s * 1000
    assert abs(duration_ms - expected) < TOLERANCE_MS, (duration_ms, expected)


def test_a_one_word_text_is_spoken_after_the_chime_twice(container, client, operator, spoken_word):
    response = client.post(URL, headers=operator.headers, json={
        "targets": {"areas": [HOAN_KIEM]}, "reason": "Cháy chợ", "text": WORD, "expires_in_minutes": 30})
    assert response.status_code == 201, response.text
    asset = alert_of(client, operator, response.json())
    assert asset["kind"] == "tts" and response.json()["text"] == WORD
    assert_chime_then_repeated(asset["duration_ms"], chime_ms(container), seconds_of(spoken_word))
    assert opening_pitch_hz(client, asset) == pytest.approx(784, abs=10)  # the default chime opens on G5


def test_a_short_library_recording_is_played_after_the_chime_twice(container, client, operator, spoken_word,
                                                                   tmp_path):
    # One word with the room tone around it, as a phone records it: just over the library's minimum.
    recording = tmp_path / "chay-ghi-am.wav"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(spoken_word), "-af", "apad=whole_dur=1.2",
                    str(recording)], check=True)
    library = ready_asset(container, recording=recording)
    response = client.post(URL, headers=operator.headers, json={
        "targets": {"areas": [HOAN_KIEM]}, "reason": "Cháy chợ", "audio_id": library, "expires_in_minutes": 30})
    assert response.status_code == 201, response.text
    asset = alert_of(client, operator, response.json())
    assert asset["kind"] == "upload" and asset["id"] != library
    assert_chime_then_repeated(asset["duration_ms"], chime_ms(container), 1.2)


def cap_alert(identifier: str, *, description: str = "", resource_wav: bytes | None = None) -> bytes:
    """A fire alert without <expires> (it then lasts the default hour) and without an instruction."""
    resource = ("<resource><resourceDesc>Ghi âm</resourceDesc><mimeType>audio/wav</mimeType>"
                f"<derefUri>{base64.b64encode(resource_wav).decode()}</derefUri></resource>") if resource_wav else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>{identifier}</identifier><sender>pccc@hanoi.gov.vn</sender><sent>2026-11-28T21:00:00+07:00</sent>
  <status>Actual</status><msgType>Alert</msgType><scope>Public</scope>
  <info><language>vi-VN</language><category>Fire</category><event>Cháy</event><urgency>Immediate</urgency>
    <severity>Extreme</severity><certainty>Observed</certainty><description>{description}</description>{resource}
    <area><areaDesc>Hoàn Kiếm</areaDesc><geocode><valueName>VN-ADMIN</valueName><value>{HOAN_KIEM}</value></geocode>
    </area></info>
</alert>""".encode()


def post_cap(client, operator, data: bytes):
    return client.post(f"{URL}/cap", headers={**operator.headers, "Content-Type": "application/cap+xml"},
                       content=data)


def test_a_cap_alert_of_one_word_is_spoken_after_the_chime_twice(container, client, operator, spoken_word):
    response = post_cap(client, operator, cap_alert("PCCC-1", description=WORD))
    assert response.status_code == 201, response.text
    emergency = response.json()["emergency"]
    asset = alert_of(client, operator, emergency)
    assert asset["kind"] == "tts" and emergency["text"] == WORD
    assert_chime_then_repeated(asset["duration_ms"], chime_ms(container), seconds_of(spoken_word))


def test_a_cap_recording_shorter_than_the_library_minimum_is_played(container, client, operator, spoken_word):
    response = post_cap(client, operator, cap_alert("PCCC-2", resource_wav=spoken_word.read_bytes()))
    assert response.status_code == 201, response.text
    asset = alert_of(client, operator, response.json()["emergency"])
    assert asset["kind"] == "upload"
    assert_chime_then_repeated(asset["duration_ms"], chime_ms(container), seconds_of(spoken_word))


def test_the_library_still_refuses_an_upload_under_its_minimum(container, client, spoken_word):
    editor = user(container, client, "bien-tap", "editor", HOAN_KIEM)
    with spoken_word.open("rb") as handle:
        response = client.post("/api/v1/audio", headers=editor.headers, files={"file": ("chay.wav", handle)},
                               data={"title": "Cháy", "area_code": HOAN_KIEM})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "too_short"


def sine_wav(seconds: float, freq: float = 880.0) -> bytes:
    done = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i",
                           f"sine=frequency={freq}:duration={seconds}:sample_rate=22050", "-f", "wav", "-"],
                          capture_output=True, check=True)
    return done.stdout


def test_administrators_replace_the_chime_and_restore_the_default(container, client, operator, spoken_word):
    admin = user(container, client, "quan-tri", "admin", HOAN_KIEM)
    editor = user(container, client, "bien-tap", "editor", HOAN_KIEM)
    default = client.get("/api/v1/emergency-chime", headers=operator.headers)
    assert default.status_code == 200 and default.headers["X-Chime"] == "default"
    with wave.open(io.BytesIO(default.content)) as heard:
        assert 1.0 < heard.getnframes() / heard.getframerate() < 2.0

    horn = ("coi.wav", sine_wav(0.5), "audio/wav")
    assert client.put("/api/v1/emergency-chime", headers=editor.headers, files={"file": horn}).status_code == 403
    too_long = client.put("/api/v1/emergency-chime", headers=admin.headers,
                          files={"file": ("dai.wav", sine_wav(16.0), "audio/wav")})
    assert too_long.status_code == 422 and too_long.json()["error"]["code"] == "too_long"
    not_audio = client.put("/api/v1/emergency-chime", headers=admin.headers,
                           files={"file": ("coi.wav", b"khong phai am thanh" * 100, "audio/wav")})
    assert not_audio.status_code == 422
    replaced = client.put("/api/v1/emergency-chime", headers=admin.headers, files={"file": horn})
    assert replaced.status_code == 200, replaced.text
    assert replaced.json() == {"custom": True, "duration_ms": 500}
    assert client.get("/api/v1/emergency-chime", headers=operator.headers).headers["X-Chime"] == "custom"

    response = client.post(URL, headers=operator.headers, json={
        "targets": {"areas": [HOAN_KIEM]}, "reason": "Cháy chợ", "text": WORD, "expires_in_minutes": 30})
    assert response.status_code == 201, response.text
    asset = alert_of(client, operator, response.json())
    assert_chime_then_repeated(asset["duration_ms"], 500, seconds_of(spoken_word))
    assert opening_pitch_hz(client, asset) == pytest.approx(880, abs=10)  # the administrators' horn

    assert client.delete("/api/v1/emergency-chime", headers=editor.headers).status_code == 403
    restored = client.delete("/api/v1/emergency-chime", headers=admin.headers)
    assert restored.status_code == 200 and restored.json()["custom"] is False
    assert client.get("/api/v1/emergency-chime", headers=operator.headers).headers["X-Chime"] == "default"
    with container.engine.connect() as connection:
        actions = connection.scalars(select(AuditRow.action).where(AuditRow.object_type == "emergency_chime")
                                     .order_by(AuditRow.id)).all()
    assert actions == ["emergency.chime_set", "emergency.chime_reset"]


@pytest.fixture
def thrice(tmp_path, database_url, clock):
    container = make_container(tmp_path, database_url, clock=clock, emergency_repeat=3)
    yield container
    wipe(container)
    container.close()


def test_the_number_of_repetitions_is_a_setting(thrice, spoken_word):
    assert thrice.emergency_tools().repeat == 3  # LOAXA_EMERGENCY_REPEAT
    prepared = prepare_emergency(thrice.uow(), thrice.emergency_tools(), Actor(None), EmergencyRequest(
        reason="Cháy chợ", areas=(HOAN_KIEM,), audio_file=AudioFile(spoken_word, "chay.wav")))
    assert prepared.audio.duration_ms is not None
    assert_chime_then_repeated(prepared.audio.duration_ms, chime_ms(thrice), seconds_of(spoken_word), repeat=3)
