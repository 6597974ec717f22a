"""The relay channel catalogue through the API on SQLite and PostgreSQL: anyone signed in reads it, administrators
add, change, probe and remove channels (audited), a programme relays a channel and its schedules carry the
channel's URL as it is when compiled."""
from __future__ import annotations

import subprocess

import pytest
from sqlalchemy import select

from broadcast.persistence.models import AuditRow
from broadcast.services.dispatch import DispatchSettings, dispatch
from tests.support.app import HANOI, HOAN_KIEM, user
from tests.support.audio_fixtures import require_binary
from tests.support.http_servers import Route, closed_port, silent_port

pytestmark = pytest.mark.integration
URL = "/api/v1/relay-channels"


@pytest.fixture
def admin(container, client):
    return user(container, client, "quan-tri", "admin", HANOI)


@pytest.fixture(scope="module")
def mp3_64k(tmp_path_factory) -> bytes:
    path = tmp_path_factory.mktemp("relay") / "tone.mp3"
    subprocess.run([require_binary("ffmpeg"), "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
                    "sine=frequency=440:sample_rate=44100:duration=3", "-ac", "1", "-c:a", "libmp3lame",
                    "-b:a", "64k", str(path)], check=True, timeout=60)
    return path.read_bytes()


def audit_actions(container) -> list[str]:
    with container.engine.connect() as connection:
        return list(connection.scalars(select(AuditRow.action).where(AuditRow.object_type == "relay_channel")
                                       .order_by(AuditRow.id)))


def test_administrators_manage_the_catalogue_and_others_read_it(container, client, admin):
    editor = user(container, client, "bien-tap", "editor", HOAN_KIEM)
    body = {"name": "  VOV1  Thời sự ", "url": "http://127.0.0.1:8000/vov1.mp3", "kind": "vov"}
    assert client.post(URL, headers=editor.headers, json=body).status_code == 403
    created = client.post(URL, headers=admin.headers, json=body)
    assert created.status_code == 201, created.text
    channel = created.json()
    assert (channel["name"], channel["kind"], channel["probe"], channel["created_by"]) == (
        "VOV1 Thời sự", "vov", None, "quan-tri")

    again = client.post(URL, headers=admin.headers, json={**body, "url": "http://127.0.0.1:8000/other.mp3"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "relay_channel_exists"
    for bad, code in (({"url": "rtmp://127.0.0.1/live"}, "invalid_stream_url"), ({"url": "vov1"}, "invalid_stream_url"),
                      ({"kind": "tv"}, "invalid_channel_kind"), ({"name": "   "}, "invalid_channel_name")):
        refused = client.post(URL, headers=admin.headers, json={**body, "name": "Đài tỉnh", **bad})
        assert refused.status_code == 422 and refused.json()["error"]["code"] == code, refused.text

    listed = client.get(URL, headers=editor.headers)
    assert listed.status_code == 200 and [c["name"] for c in listed.json()] == ["VOV1 Thời sự"]
    assert client.get(URL).status_code == 401

    changed = client.put(f"{URL}/{channel['id']}", headers=admin.headers,
                         json={"name": "Đài Hà Nội", "url": "https://radio.hanoi.example/live.mp3",
                               "kind": "provincial"})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["name"], changed.json()["kind"]) == ("Đài Hà Nội", "provincial")
    assert client.put(f"{URL}/999999", headers=admin.headers, json=body).status_code == 404
    assert client.delete(f"{URL}/{channel['id']}", headers=editor.headers).status_code == 403
    assert client.delete(f"{URL}/{channel['id']}", headers=admin.headers).status_code == 204
    assert client.get(f"{URL}/{channel['id']}", headers=admin.headers).status_code == 404
    assert audit_actions(container) == ["relay_channel.create", "relay_channel.update", "relay_channel.delete"]


def test_probe_records_a_live_stream_and_a_dead_one(container, client, admin, http_servers, mp3_64k):
    server = http_servers("127.0.0.1", {"/vov1.mp3": Route(body=mp3_64k, headers={"Content-Type": "audio/mpeg"})})
    live = client.post(URL, headers=admin.headers, json={"name": "VOV1", "url": server.url("/vov1.mp3"),
                                                        "kind": "vov"}).json()
    dead = client.post(URL, headers=admin.headers, json={
        "name": "Đài tắt", "url": f"http://127.0.0.1:{closed_port()}/x.mp3", "kind": "provincial"}).json()

    probed = client.post(f"{URL}/{live['id']}/probe", headers=admin.headers)
    assert probed.status_code == 200, probed.text
    probe = probed.json()["probe"]
    assert (probe["reachable"], probe["codec"], probe["bitrate_kbps"], probe["error"]) == (True, "mp3", 64, None)
    down = client.post(f"{URL}/{dead['id']}/probe", headers=admin.headers).json()["probe"]
    assert down["reachable"] is False and down["error"]  # ffprobe's own words (connection refused)
    assert down["codec"] is None and down["bitrate_kbps"] is None

    # Changing the URL forgets the probe of the old stream.
    moved = client.put(f"{URL}/{live['id']}", headers=admin.headers,
                       json={"name": "VOV1", "url": server.url("/moved.mp3"), "kind": "vov"})
    assert moved.json()["probe"] is None


def test_probe_job_gives_up_on_a_silent_server_in_bounded_time(container, client, admin):
    import time

    from broadcast.adapters.stream_probe import probe_stream
    from broadcast.services.relay_channels import probe_channels

    sock, port = silent_port()
    try:
        client.post(URL, headers=admin.headers, json={"name": "Câm", "url": f"http://127.0.0.1:{port}/s.mp3"})
        started = time.monotonic()
        recorded = probe_channels(container.uow(), lambda url: probe_stream(url, now=container.clock.now,
                                                                          timeout_s=1.5))
        elapsed = time.monotonic() - started
    finally:
        sock.close()
    assert [c.probe.reachable for c in recorded if c.probe] == [False]
    assert elapsed < 6, elapsed
    assert client.get(URL, headers=admin.headers).json()[0]["probe"]["reachable"] is False


def test_a_relay_programme_plays_its_channel_and_follows_its_url(container, client, admin):
    editor = user(container, client, "bien-tap", "editor", HANOI)
    approver = user(container, client, "duyet", "approver", HANOI)
    channel = client.post(URL, headers=admin.headers, json={"name": "VOV1", "url": "http://127.0.0.1:9/vov1.mp3",
                                                           "kind": "vov"}).json()
    client.post("/api/v1/devices", headers=admin.headers, json={"id": "hk-0001", "name": "Cụm loa 1",
                                                                 "area_code": HOAN_KIEM})
    both = client.post("/api/v1/programmes", headers=editor.headers, json={
        "title": "Tiếp sóng VOV1", "area_code": HOAN_KIEM, "relay_channel_id": channel["id"],
        "stream_url": "http://127.0.0.1:9/x.mp3", "stream_duration_s": 600})
    assert both.status_code == 422 and both.json()["error"]["code"] == "programme_content"
    no_length = client.post("/api/v1/programmes", headers=editor.headers, json={
        "title": "Tiếp sóng VOV1", "area_code": HOAN_KIEM, "relay_channel_id": channel["id"]})
    assert no_length.status_code == 422 and no_length.json()["error"]["code"] == "invalid_stream_duration"
    missing = client.post("/api/v1/programmes", headers=editor.headers, json={
        "title": "Tiếp sóng", "area_code": HOAN_KIEM, "relay_channel_id": 999999, "stream_duration_s": 600})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "relay_channel_not_found"

    made = client.post("/api/v1/programmes", headers=editor.headers, json={
        "title": "Tiếp sóng VOV1", "area_code": HOAN_KIEM, "relay_channel_id": channel["id"],
        "stream_duration_s": 600})
    assert made.status_code == 201, made.text
    assert (made.json()["relay_channel_id"], made.json()["stream_url"]) == (channel["id"], channel["url"])
    sid = client.post("/api/v1/schedules", headers=editor.headers, json={
        "programme_id": made.json()["id"], "targets": {"areas": [HOAN_KIEM]}, "start": "2026-11-29T06:00"}).json()["id"]
    assert client.post(f"/api/v1/schedules/{sid}/submit", headers=editor.headers).status_code == 200
    assert client.post(f"/api/v1/schedules/{sid}/approve", headers=approver.headers).status_code == 200

    # The station moves: the next compile sends devices the new address.
    client.put(f"{URL}/{channel['id']}", headers=admin.headers,
               json={"name": "VOV1", "url": "http://127.0.0.1:9/vov1-new.mp3", "kind": "vov"})
    settings = DispatchSettings(container.settings.timezone, 7, container.settings.public_url)
    dispatch(container.uow, container.clock, container.signer, settings)
    from tests.integration.schedules.test_schedapi_dispatch import latest_documents

    items = latest_documents(container)["hk-0001"]["items"]
    assert [(i["stream_url"], i["title"]) for i in items] == [("http://127.0.0.1:9/vov1-new.mp3", "Tiếp sóng VOV1")]
    assert "media" not in items[0]

    in_use = client.delete(f"{URL}/{channel['id']}", headers=admin.headers)
    assert in_use.status_code == 409 and in_use.json()["error"]["code"] == "relay_channel_in_use"


def test_quiet_hours_apply_to_relays(container, client, admin):
    editor = user(container, client, "bien-tap", "editor", HANOI)
    channel = client.post(URL, headers=admin.headers, json={"name": "VOV1", "url": "http://127.0.0.1:9/vov1.mp3",
                                                           "kind": "vov"}).json()
    made = client.post("/api/v1/programmes", headers=editor.headers, json={
        "title": "Tiếp sóng đêm", "area_code": HOAN_KIEM, "relay_channel_id": channel["id"],
        "stream_duration_s": 1800}).json()
    night = client.post("/api/v1/schedules", headers=editor.headers, json={
        "programme_id": made["id"], "targets": {"areas": [HOAN_KIEM]}, "start": "2026-11-30T22:30"}).json()["id"]
    refused = client.post(f"/api/v1/schedules/{night}/submit", headers=editor.headers)
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["code"] == "policy_violation"
    assert [v["code"] for v in refused.json()["error"]["details"]] == ["policy.outside_window"]
    # The same relay inside the allowed hours goes through.
    day = client.post("/api/v1/schedules", headers=editor.headers, json={
        "programme_id": made["id"], "targets": {"areas": [HOAN_KIEM]}, "start": "2026-11-30T06:00"}).json()["id"]
    assert client.post(f"/api/v1/schedules/{day}/submit", headers=editor.headers).status_code == 200
