"""The emergency API on SQLite and PostgreSQL: targets to topics, tracking, authorization, bad input, stop, reach."""
from __future__ import annotations

import math
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from broadcast import protocol
from broadcast.domain.audio import AssetStatus
from broadcast.domain.delivery import AckReport
from broadcast.persistence.models import AuditRow, EmergencyRow
from tests.integration.emergencies.conftest import count, nothing_written, publications, ready_asset
from tests.support.app import CUA_NAM, HANOI, HOAN_KIEM, VUNG_TAU, user
from tests.support.audio_fixtures import require_binary

pytestmark = pytest.mark.integration
URL = "/api/v1/emergencies"
STREAM = "http://radio.example.vn/vov1"


def body(**overrides) -> dict:
    base = {"targets": {"areas": [HOAN_KIEM]}, "reason": "Lũ quét trên sông Hồng", "stream_url": STREAM,
            "expires_in_minutes": 30}
    return {**base, **overrides}


@pytest.fixture
def operator(container, client):
    return user(container, client, "khan-cap-hk", "emergency_operator", HOAN_KIEM)


def test_areas_zones_and_devices_become_topics_with_per_device_tracking(container, client, registry):
    operator = user(container, client, "khan-cap-hn", "emergency_operator", HANOI)
    response = client.post(URL, headers=operator.headers, json=body(
        targets={"areas": [HOAN_KIEM], "zones": [registry.village], "devices": [registry.hoan_kiem[2], "cn-0"]},
        volume=90, stream_minutes=10))
    assert response.status_code == 201, response.text
    out = response.json()
    assert out["status"] == "active" and out["source"] == "operator" and out["created_by"] == operator.username
    assert out["topics"] == {"zones": [f"{HANOI}-{HOAN_KIEM}", registry.village], "devices": ["cn-0"]}

    docs = publications(container, out["cmd_id"])
    assert set(docs) == {("zone", f"{HANOI}-{HOAN_KIEM}"), ("zone", registry.village), ("device", "cn-0")}
    now = container.clock.now()
    for (kind, target), doc in docs.items():
        assert protocol.verify(doc, container.signer.public_key_b64)
        assert doc["action"] == "play_now" and doc["priority"] == "emergency" and doc["volume"] == 90
        assert doc["stream_url"] == STREAM and doc["target"] == {kind: target}
        assert protocol.parse_time(doc["end"]) == now + timedelta(minutes=10)
        assert protocol.parse_time(doc["expires_at"]) == now + timedelta(minutes=30)
    reach = out["reach"]
    assert reach["tracked"] == len(registry.hoan_kiem) + 1 == reach["not_reached"]
    assert reach["received"] == reach["playing"] == 0
    with container.engine.connect() as connection:
        entry = connection.execute(select(AuditRow).where(AuditRow.action == "emergency.start")).one()
    assert entry.actor == operator.username and entry.object_id == str(out["id"])


def test_province_operator_targets_the_province_zone(container, client, registry):
    province = user(container, client, "khan-cap-hn", "emergency_operator", HANOI)
    response = client.post(URL, headers=province.headers, json=body(targets={"areas": [HANOI]}))
    assert response.status_code == 201, response.text
    out = response.json()
    assert out["topics"] == {"zones": [HANOI], "devices": []} and out["area_code"] == HANOI
    assert out["reach"]["tracked"] == len(registry.hoan_kiem) + len(registry.cua_nam)
    # The stream plays until the emergency expires when no duration is given.
    assert out["ends_at"] == out["expires_at"].replace("Z", "+00:00") or \
        datetime.fromisoformat(out["ends_at"]) == datetime.fromisoformat(out["expires_at"])


@pytest.mark.parametrize("role,area,targets,expected", [
    ("emergency_operator", HOAN_KIEM, {"areas": [HOAN_KIEM]}, 201),
    ("admin", HOAN_KIEM, {"areas": [HOAN_KIEM]}, 201),
    ("emergency_operator", HANOI, {"areas": [HOAN_KIEM, CUA_NAM]}, 201),
    ("editor", HOAN_KIEM, {"areas": [HOAN_KIEM]}, 403),
    ("viewer", HOAN_KIEM, {"areas": [HOAN_KIEM]}, 403),
    ("approver", HOAN_KIEM, {"areas": [HOAN_KIEM]}, 403),
    ("emergency_operator", HOAN_KIEM, {"areas": [CUA_NAM]}, 403),
    ("emergency_operator", HOAN_KIEM, {"areas": [HANOI]}, 403),  # a ward operator cannot reach the province
    ("emergency_operator", HOAN_KIEM, {"areas": [HOAN_KIEM], "devices": ["vt-0"]}, 403),
    ("emergency_operator", HOAN_KIEM, {"devices": ["cn-0"]}, 403),
    ("emergency_operator", HANOI, {"areas": [HOAN_KIEM, VUNG_TAU]}, 403),
])
def test_only_emergency_operators_and_admins_holding_every_target(container, client, registry, role, area, targets,
                                                                  expected):
    caller = user(container, client, f"u-{role}", role, area)
    response = client.post(URL, headers=caller.headers, json=body(targets=targets))
    assert response.status_code == expected, response.text
    if expected == 403:
        assert response.json()["error"]["code"] == "forbidden"
        assert nothing_written(container)
    else:
        assert count(container, EmergencyRow) == 1


def test_no_token_is_401(client, registry):
    for method, path in (("post", URL), ("get", URL), ("get", f"{URL}/1"), ("post", f"{URL}/1/stop"),
                         ("post", f"{URL}/cap")):
        response = getattr(client, method)(path, json=body()) if method == "post" else client.get(path)
        assert response.status_code == 401, (method, path)


@pytest.mark.parametrize("overrides,status,code", [
    ({"targets": {"areas": ["99999"]}}, 404, "area_not_found"),
    ({"targets": {"zones": ["01-00070-khong-co"]}}, 404, "zone_not_found"),
    ({"targets": {"devices": ["khong-co-thiet-bi"]}}, 404, "device_not_found"),
    ({"targets": {}}, 422, "no_targets"),
    ({"stream_url": None}, 422, "no_audio"),
    ({"text": "Sơ tán ngay"}, 422, "too_many_audio"),
    ({"stream_url": "file:///etc/passwd"}, 422, "invalid_stream_url"),
    ({"audio_id": 987654, "stream_url": None}, 404, "audio_not_found"),
    ({"expires_in_minutes": 0}, 422, "invalid_expiry"),
    ({"expires_in_minutes": 24 * 60 + 1}, 422, "invalid_expiry"),
    ({"expires_in_minutes": None, "expires_at": "2026-11-28T20:59:00+07:00"}, 422, "expired"),
    ({"expires_in_minutes": None, "expires_at": "2026-11-29T21:00:01+07:00"}, 422, "expiry_too_long"),
    ({"expires_at": "2026-11-28T22:00:00+07:00"}, 422, "invalid_expiry"),
    ({"volume": 101}, 422, "invalid_volume"),
    ({"reason": "   "}, 422, "invalid_reason"),
    ({"priority": "normal"}, 422, "invalid_input"),  # unknown field
])
def test_bad_input_is_refused_and_nothing_is_written(container, client, registry, operator, overrides, status, code):
    # The test clock stands at 2026-11-28T21:00:00+07:00.
    response = client.post(URL, headers=operator.headers, json=body(**overrides))
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert nothing_written(container)


def test_audio_must_be_ready(container, client, registry, operator):
    processing = ready_asset(container, status=AssetStatus.PROCESSING)
    response = client.post(URL, headers=operator.headers, json=body(stream_url=None, audio_id=processing))
    assert response.status_code == 422 and response.json()["error"]["code"] == "audio_not_ready"
    assert nothing_written(container)


def test_ready_audio_goes_as_media_with_end_after_its_duration(container, client, registry, operator):
    require_binary("ffmpeg")
    asset = ready_asset(container, seconds=3.0)
    response = client.post(URL, headers=operator.headers, json=body(stream_url=None, audio_id=asset))
    assert response.status_code == 201, response.text
    out = response.json()
    alert = client.get(f"/api/v1/audio/{out['audio_id']}", headers=operator.headers).json()
    assert out["audio_id"] != asset and alert["original_name"] == "canh-bao.wav"  # chime + message twice
    assert alert["duration_ms"] > 2 * 3000
    (doc,) = publications(container, out["cmd_id"]).values()
    sha = alert["sha256"]
    assert doc["media"] == [{"sha256": sha, "url": f"{container.settings.public_url}/media/{sha}.mp3",
                             "bytes": alert["bytes"], "duration_ms": alert["duration_ms"]}]
    assert "stream_url" not in doc
    span = protocol.parse_time(doc["end"]) - protocol.parse_time(doc["issued_at"])
    assert span == timedelta(seconds=math.ceil(alert["duration_ms"] / 1000))


def test_text_is_spoken_now_and_kept_in_the_library(container, client, registry, operator):
    require_binary("espeak-ng")
    require_binary("ffmpeg")
    text = "Khẩn cấp. Nước sông Hồng đang lên nhanh. Bà con khu vực bãi giữa sơ tán ngay lên vùng cao."
    response = client.post(URL, headers=operator.headers, json=body(stream_url=None, text=text))
    assert response.status_code == 201, response.text
    out = response.json()
    asset = client.get(f"/api/v1/audio/{out['audio_id']}", headers=operator.headers).json()
    assert asset["status"] == "ready" and asset["kind"] == "tts" and asset["area_code"] == HOAN_KIEM
    assert asset["duration_ms"] > 3000
    (doc,) = publications(container, out["cmd_id"]).values()
    assert doc["media"][0]["sha256"] == asset["sha256"]
    assert doc["media"][0]["duration_ms"] == asset["duration_ms"]
    assert client.get(f"/media/{asset['sha256']}.mp3").status_code == 200  # devices can fetch it
    span = protocol.parse_time(doc["end"]) - protocol.parse_time(doc["issued_at"])
    assert span == timedelta(seconds=math.ceil(asset["duration_ms"] / 1000))


def test_stop_sends_a_stop_to_the_same_topics_once(container, client, registry, operator):
    started = client.post(URL, headers=operator.headers,
                          json=body(targets={"areas": [HOAN_KIEM], "devices": ["hk-0"]})).json()
    editor = user(container, client, "bien-tap", "editor", HOAN_KIEM)
    assert client.post(f"{URL}/{started['id']}/stop", headers=editor.headers).status_code == 403
    response = client.post(f"{URL}/{started['id']}/stop", headers=operator.headers)
    assert response.status_code == 200, response.text
    out = response.json()
    assert out["status"] == "stopped" and out["stopped_at"] is not None
    docs = publications(container, out["stop_cmd_id"])
    assert set(docs) == {("zone", f"{HANOI}-{HOAN_KIEM}")}  # hk-0 listens on its ward's zone already
    (doc,) = docs.values()
    assert doc["action"] == "stop" and doc["ref_cmd_id"] == started["cmd_id"]
    assert protocol.verify(doc, container.signer.public_key_b64)
    assert out["stop_reach"]["tracked"] == len(registry.hoan_kiem)
    again = client.post(f"{URL}/{started['id']}/stop", headers=operator.headers)
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_stopped"
    assert client.post(f"{URL}/424242/stop", headers=operator.headers).status_code == 404
    with container.engine.connect() as connection:
        assert connection.scalar(select(AuditRow.actor).where(AuditRow.action == "emergency.stop")) == operator.username


def test_reach_counts_devices_by_their_furthest_ack(container, client, registry, operator):
    out = client.post(URL, headers=operator.headers, json=body()).json()
    now = container.clock.now()
    stages = {"hk-v0": ["received", "playing"], "hk-v1": ["received", "playing", "played"], "hk-0": ["received"],
              "hk-1": ["rejected"]}
    uow = container.uow()
    with uow:
        uow.delivery.record_acks([AckReport(device_id=d, ref_kind="command", ref_id=out["cmd_id"], stage=s, at=now,
                                            received_at=now) for d, ss in stages.items() for s in ss])
        uow.commit()
    reach = client.get(f"{URL}/{out['id']}", headers=operator.headers).json()["reach"]
    assert reach["tracked"] == 5
    assert (reach["received"], reach["playing"], reach["played"], reach["rejected"], reach["not_reached"]) == \
        (3, 1, 1, 1, 1)


def test_list_is_scoped_and_expiry_shows(container, client, clock, registry, operator):
    first = client.post(URL, headers=operator.headers, json=body(expires_in_minutes=5)).json()
    second = client.post(URL, headers=operator.headers, json=body(expires_in_minutes=60)).json()
    listed = client.get(URL, headers=operator.headers).json()
    assert [e["id"] for e in listed] == [second["id"], first["id"]]
    outsider = user(container, client, "xem-vt", "viewer", VUNG_TAU)
    assert client.get(URL, headers=outsider.headers).json() == []
    assert client.get(f"{URL}/{first['id']}", headers=outsider.headers).status_code == 403
    clock.advance(minutes=6)
    assert client.get(f"{URL}/{first['id']}", headers=operator.headers).json()["status"] == "expired"
    assert [e["id"] for e in client.get(URL, params={"status": "active"}, headers=operator.headers).json()] == \
        [second["id"]]
    assert client.get(URL, params={"status": "nonsense"}, headers=operator.headers).status_code == 422
