"""CAP 1.2 alerts through the API: status and msgType mapping, geocodes, expiry, audio resources, idempotency."""
from __future__ import annotations

import functools
import http.server
import threading
from datetime import timedelta

import pytest

from broadcast.persistence.models import AudioAssetRow, AuditRow, EmergencyRow
from tests.integration.emergencies.conftest import count, nothing_written, publications
from tests.support.app import CUA_NAM, HANOI, HOAN_KIEM, user
from tests.support.audio_fixtures import generate, require_binary

pytestmark = pytest.mark.integration
URL = "/api/v1/emergencies/cap"
XML = {"Content-Type": "application/cap+xml"}
SENDER = "canhbao@kttv.gov.vn"


def cap(identifier: str, *, status="Actual", msg_type="Alert", references="", expires: str | None = "+30min",
        areas=((("VN-ADMIN", HOAN_KIEM),),), description="Nước sông Hồng lên nhanh. Bà con sơ tán ngay.",
        resource: str | None = None, clock=None, info=True) -> bytes:
    if expires and expires.startswith("+"):
        expires = (clock.now() + timedelta(minutes=int(expires[1:-3]))).isoformat()
    area_xml = "".join(
        "<area><areaDesc>Địa bàn</areaDesc>" + "".join(
            f"<geocode><valueName>{n}</valueName><value>{v}</value></geocode>" for n, v in codes) + "</area>"
        for codes in areas)
    info_xml = (f"""<info><language>vi-VN</language><category>Met</category><event>Lũ quét</event>
      <urgency>Immediate</urgency><severity>Extreme</severity><certainty>Observed</certainty>
      {f'<expires>{expires}</expires>' if expires else ''}<headline>Cảnh báo lũ quét</headline>
      <description>{description}</description><instruction>Di chuyển lên vùng cao.</instruction>
      {f'<resource><resourceDesc>Bản tin</resourceDesc><mimeType>audio/mpeg</mimeType><uri>{resource}</uri></resource>'
       if resource else ''}{area_xml}</info>""" if info else "")
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>{identifier}</identifier><sender>{SENDER}</sender><sent>2026-11-28T21:00:00+07:00</sent>
  <status>{status}</status><msgType>{msg_type}</msgType><scope>Public</scope>
  {f'<references>{references}</references>' if references else ''}{info_xml}
</alert>""".encode()


@pytest.fixture
def operator(container, client):
    require_binary("espeak-ng")
    require_binary("ffmpeg")
    return user(container, client, "khan-cap-hk", "emergency_operator", HOAN_KIEM)


def post(client, who, data: bytes):
    return client.post(URL, headers={**who.headers, **XML}, content=data)


def test_actual_alert_plays_once_per_identifier(container, client, clock, registry, operator):
    first = post(client, operator, cap("KTTV-2026-001", clock=clock))
    assert first.status_code == 201, first.text
    out = first.json()
    assert out["action"] == "started"
    emergency = out["emergency"]
    assert emergency["source"] == "cap" and emergency["external_id"] == f"{SENDER},KTTV-2026-001"
    assert emergency["reason"] == "Cảnh báo lũ quét" and emergency["test_only"] is False
    assert emergency["topics"] == {"zones": [f"{HANOI}-{HOAN_KIEM}"], "devices": []}
    assert emergency["reach"]["tracked"] == len(registry.hoan_kiem)
    (doc,) = publications(container, emergency["cmd_id"]).values()
    assert doc["priority"] == "emergency" and doc["media"][0]["duration_ms"] > 2000

    again = post(client, operator, cap("KTTV-2026-001", clock=clock))
    assert again.status_code == 200 and again.json()["action"] == "duplicate"
    assert again.json()["emergency"]["id"] == emergency["id"]
    assert count(container, EmergencyRow) == 1 and count(container, AudioAssetRow) == 1


def test_test_alert_reaches_only_test_devices(container, client, clock, registry, operator):
    response = post(client, operator, cap("KTTV-TEST-1", status="Test", clock=clock))
    assert response.status_code == 201, response.text
    emergency = response.json()["emergency"]
    assert emergency["test_only"] is True
    assert emergency["topics"] == {"zones": [], "devices": registry.test_devices}
    assert set(publications(container, emergency["cmd_id"])) == {("device", d) for d in registry.test_devices}
    assert emergency["reach"]["tracked"] == len(registry.test_devices)


def test_update_replaces_and_cancel_stops(container, client, clock, registry, operator):
    first = post(client, operator, cap("KTTV-7", clock=clock)).json()["emergency"]
    ref = f"{SENDER},KTTV-7,2026-11-28T21:00:00+07:00"
    update = post(client, operator, cap("KTTV-8", msg_type="Update", references=ref, clock=clock,
                                        description="Mực nước đã lên mức báo động 3."))
    assert update.status_code == 201, update.text
    assert update.json()["stopped"] == [first["id"]]
    old = client.get(f"/api/v1/emergencies/{first['id']}", headers=operator.headers).json()
    assert old["status"] == "stopped"
    (stop_doc,) = publications(container, old["stop_cmd_id"]).values()
    assert stop_doc["action"] == "stop" and stop_doc["ref_cmd_id"] == first["cmd_id"]

    second = update.json()["emergency"]
    cancel_xml = cap("KTTV-9", msg_type="Cancel", references=f"{SENDER},KTTV-8,2026-11-28T21:00:00+07:00",
                     clock=clock, info=False)
    cancelled = post(client, operator, cancel_xml)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["action"] == "stopped" and cancelled.json()["stopped"] == [second["id"]]
    assert client.get(f"/api/v1/emergencies/{second['id']}", headers=operator.headers).json()["status"] == "stopped"
    repeat = post(client, operator, cancel_xml)
    assert repeat.status_code == 200 and repeat.json()["action"] == "duplicate"
    unknown = post(client, operator, cap("KTTV-10", msg_type="Cancel", references=f"{SENDER},KHONG-CO,x",
                                         clock=clock, info=False))
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "cap_reference_not_found"
    assert count(container, EmergencyRow) == 2


@pytest.mark.parametrize("status", ["System", "Draft"])
def test_system_and_draft_are_accepted_not_broadcast(container, client, clock, registry, operator, status):
    response = post(client, operator, cap("KTTV-S", status=status, clock=clock))
    assert response.status_code == 200 and response.json()["action"] == "ignored", response.text
    assert nothing_written(container)


def test_expiry_beyond_24_hours_is_capped(container, client, clock, registry, operator):
    response = post(client, operator, cap("KTTV-LONG", expires=(clock.now() + timedelta(days=3)).isoformat()))
    assert response.status_code == 201, response.text
    emergency = response.json()["emergency"]
    assert emergency["expires_at"].startswith((clock.now() + timedelta(hours=24)).strftime("%Y-%m-%dT%H:%M:%S"))


def _billion_laughs() -> bytes:
    return (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
            b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&lol2;</identifier></alert>')


@pytest.mark.parametrize("make,status,code", [
    (lambda c: b"<alert><not-closed>", 422, "invalid_cap"),
    (lambda c: b"", 422, "invalid_cap"),
    (lambda c: _billion_laughs(), 422, "invalid_cap"),
    (lambda c: cap("X1", clock=c).replace(b"cap:1.2", b"cap:1.1"), 422, "invalid_cap"),
    (lambda c: cap("X2", clock=c).replace(b"<status>Actual</status>", b""), 422, "invalid_cap"),
    (lambda c: cap("X3", clock=c, status="Rumour"), 422, "invalid_cap"),
    (lambda c: cap("X4", clock=c, areas=((("FIPS6", "1234"),),)), 422, "cap_no_area"),
    (lambda c: cap("X5", clock=c, areas=()), 422, "cap_no_area"),
    (lambda c: cap("X6", clock=c, areas=((("iso3166-2:VN", "VN-HN"),),)), 422, "cap_bad_area_code"),
    (lambda c: cap("X7", clock=c, areas=((("loaxa:area", "99"),),)), 404, "area_not_found"),
    (lambda c: cap("X8", clock=c, expires=(c.now() - timedelta(minutes=1)).isoformat()), 422, "cap_expired"),
    (lambda c: cap("X9", clock=c, expires="ngày mai"), 422, "invalid_cap"),
    (lambda c: cap("X10", clock=c, description=""), 201, None),  # instruction alone is enough to speak
])
def test_bad_alerts_are_refused_and_nothing_is_written(container, client, clock, registry, operator, make, status,
                                                       code):
    response = post(client, operator, make(clock))
    assert response.status_code == status, response.text
    if code:
        assert response.json()["error"]["code"] == code
        assert nothing_written(container) and count(container, AudioAssetRow) == 0


def test_rights_are_checked_per_area(container, client, clock, registry, operator):
    editor = user(container, client, "bien-tap", "editor", HOAN_KIEM)
    assert post(client, editor, cap("R1", clock=clock)).status_code == 403
    both = cap("R2", clock=clock, areas=((("VN-ADMIN", HOAN_KIEM), ("loaxa:area", CUA_NAM)),))
    assert post(client, operator, both).status_code == 403
    province = user(container, client, "khan-cap-hn", "emergency_operator", HANOI)
    response = post(client, province, both)
    assert response.status_code == 201, response.text
    assert response.json()["emergency"]["targets"]["areas"] == [HOAN_KIEM, CUA_NAM]


@pytest.fixture
def file_server(tmp_path):
    """A real HTTP server on loopback serving tmp_path/www."""
    root = tmp_path / "www"
    root.mkdir()
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("fetch_allow", ["127.0.0.1"])  # the file server's loopback (LOAXA_FETCH_ALLOW)
def test_audio_resource_is_downloaded_and_rendered(container, client, clock, registry, operator, file_server):
    root, base = file_server
    generate(root / "ban-tin.mp3", kind="speechlike", seconds=4, lufs=-23)
    (root / "not-audio.mp3").write_text("đây không phải âm thanh")
    response = post(client, operator, cap("RES-1", clock=clock, resource=f"{base}/ban-tin.mp3"))
    assert response.status_code == 201, response.text
    emergency = response.json()["emergency"]
    asset = client.get(f"/api/v1/audio/{emergency['audio_id']}", headers=operator.headers).json()
    assert asset["kind"] == "upload" and asset["status"] == "ready" and asset["original_name"] == "ban-tin.mp3"
    assert 11_100 <= asset["duration_ms"] <= 12_100  # the chime (1.6 s), then a 1 s pause and the 4 s message, twice
    (doc,) = publications(container, emergency["cmd_id"]).values()
    assert doc["media"][0]["sha256"] == asset["sha256"]
    assert not list((container.settings.data_dir / "emergency-work").glob("cap-*"))  # temp file removed

    for i, uri in enumerate((f"{base}/missing.mp3", f"{base}/not-audio.mp3", "http://127.0.0.1:9/closed.mp3",
                             "ftp://example.vn/a.mp3")):
        bad = post(client, operator, cap(f"RES-BAD-{i}", clock=clock, resource=uri))
        assert bad.status_code == 422, (uri, bad.text)
    assert count(container, EmergencyRow) == 1 and count(container, AudioAssetRow) == 1


def test_every_cap_import_is_audited(container, client, clock, registry, operator):
    post(client, operator, cap("A-1", clock=clock))
    post(client, operator, cap("A-2", status="Draft", clock=clock))
    with container.engine.connect() as connection:
        actions = sorted(connection.scalars(AuditRow.__table__.select().with_only_columns(AuditRow.action)
                                            .where(AuditRow.action.like("emergency.%"))))
    assert actions == ["emergency.cap_ignored", "emergency.start"]
