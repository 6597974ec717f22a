"""The devices pages over the real app and database: the list's filters (diacritics ignored) and pages, the map's
points, a device's page (live state, the title it plays and the next one, recent acks in local time), volume and
resync as signed commands, devices put into zones through the API and the pages (audited), and who sees what."""
from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from broadcast import protocol
from broadcast.persistence.models import AuditRow, CommandPublicationRow, CommandRow
from broadcast.services.areas import create_zone
from broadcast.services.context import Actor
from broadcast.services.delivery.inbox import DeliveryInbox
from broadcast.services.devices import DeviceSpec, register_device
from broadcast.services.dispatch import DispatchSettings, dispatch
from broadcast.settings import SettingsError, load_settings
from broadcast.web.app import create_app
from broadcast.web.pages import devices as devices_page
from tests.support.app import CUA_NAM, HANOI, HOAN_KIEM, add_user, make_container, user
from tests.support.inbound import as_received
from tests.support.web import approved_schedule, csrf_of, post_form, sign_in

pytestmark = pytest.mark.integration
MORNING = datetime(2026, 11, 28, 1, 0, tzinfo=UTC)  # 08:00 in Vietnam, Saturday 28/11/2026


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def audit_actions(container, action: str) -> list[AuditRow]:
    with container.engine.connect() as connection:
        return list(connection.execute(select(AuditRow).where(AuditRow.action == action)))


def newest_document(container, device_id: str) -> dict:
    uow = container.uow()
    with uow:
        return uow.delivery.latest_publication(device_id).document


@pytest.fixture
def fleet(container, client, clock):
    """Hoàn Kiếm: two programmes today, a zone, three devices (two on the map, one playing the 08:30 programme);
    Cửa Nam: one device."""
    clock.current = MORNING
    editor = user(container, client, "can-bo-hk", "editor", HOAN_KIEM)
    approver = user(container, client, "chu-tich-hk", "approver", HOAN_KIEM)
    approved_schedule(client, editor, approver, title="Luật Hòa giải ở cơ sở", start="2026-11-28T08:30")
    approved_schedule(client, editor, approver, title="Phòng chống lừa đảo qua mạng", start="2026-11-28T10:00")
    system = Actor(None)
    zone = create_zone(container.uow(), clock, system, commune_code=HOAN_KIEM, name="Tổ dân phố số 5",
                       kind="residential_group")
    for spec in (DeviceSpec("loa-thon-dong", "Cụm loa Thôn Đông", HOAN_KIEM, latitude=21.0285, longitude=105.8542),
                 DeviceSpec("loa-to-5", "Cụm loa Tổ dân phố số 5", HOAN_KIEM, zones=(zone.id,), latitude=21.03,
                            longitude=105.85),
                 DeviceSpec("loa-cho", "Cụm loa chợ Hàng Da", HOAN_KIEM),
                 DeviceSpec("loa-cua-nam", "Cụm loa Cửa Nam", CUA_NAM, latitude=21.02, longitude=105.84)):
        register_device(container.uow(), clock, system, spec)
    settings = DispatchSettings(container.settings.timezone, 7, container.settings.public_url)
    dispatch(container.uow, clock, container.signer, settings)
    clock.advance(minutes=35)  # 08:35
    document = newest_document(container, "loa-thon-dong")
    playing = next(i for i in document["items"] if i["title"] == "Luật Hòa giải ở cơ sở")
    now = clock.now()
    DeliveryInbox(container.uow).handle([
        as_received(protocol.build_status("loa-thon-dong", at=now, schedule_version=document["version"], volume=70,
                                          firmware="sim-1.0", playing={"item_id": playing["item_id"],
                                                                       "since": protocol.format_time(now)}), now),
        as_received(protocol.build_ack("loa-thon-dong", protocol.schedule_ref(document["version"]), "received",
                                       at=now), now)])
    return {"zone": zone.id}


def test_the_list_filters_by_area_connection_and_name_without_diacritics(container, client, fleet):
    add_user(container, "xem-ha-noi", "viewer", HANOI)
    sign_in(client, "xem-ha-noi")
    everything = client.get("/thiet-bi").text
    assert all(name in everything for name in ("Cụm loa Thôn Đông", "Cụm loa chợ Hàng Da", "Cụm loa Cửa Nam"))
    found = client.get("/thiet-bi", params={"tim": "thon dong"}).text
    assert "Cụm loa Thôn Đông" in found and "Cụm loa chợ Hàng Da" not in found
    assert "Cụm loa Thôn Đông" in client.get("/thiet-bi", params={"tim": "THÔN ĐÔNG"}).text
    by_id = client.get("/thiet-bi", params={"tim": "loa-cho"}).text
    assert "Cụm loa chợ Hàng Da" in by_id and "Cụm loa Thôn Đông" not in by_id
    online = client.get("/thiet-bi", params={"trang-thai": "truc-tuyen"}).text
    assert "Cụm loa Thôn Đông" in online and "Cụm loa Cửa Nam" not in online
    offline = client.get("/thiet-bi", params={"trang-thai": "mat-ket-noi"}).text
    assert "Cụm loa Thôn Đông" not in offline and "Cụm loa Cửa Nam" in offline
    cua_nam = client.get("/thiet-bi", params={"khu": CUA_NAM}).text
    assert "Cụm loa Cửa Nam" in cua_nam and "Cụm loa Thôn Đông" not in cua_nam
    assert "Không có thiết bị nào khớp bộ lọc." in client.get("/thiet-bi", params={"tim": "khong co"}).text


def test_the_list_is_paginated_and_keeps_its_filters(container, client, fleet, monkeypatch):
    monkeypatch.setattr(devices_page, "PAGE_SIZE", 2)
    add_user(container, "xem-ha-noi", "viewer", HANOI)
    sign_in(client, "xem-ha-noi")
    first = client.get("/thiet-bi", params={"tim": "cum loa"}).text
    assert first.count('<th scope="row"') == 2 and 'href="/thiet-bi?tim=cum+loa&amp;trang=2"' in first
    second = client.get("/thiet-bi", params={"tim": "cum loa", "trang": "2"}).text
    assert second.count('<th scope="row"') == 2 and "Trang trước" in second and "Trang sau" not in second
    names = re.findall(r'<a href="/thiet-bi/([a-z0-9-]+)">', first + second)
    assert sorted(names) == ["loa-cho", "loa-cua-nam", "loa-thon-dong", "loa-to-5"]


def test_a_commune_sees_only_its_devices_and_the_map_only_those_with_coordinates(container, client, fleet):
    add_user(container, "xem-hk", "viewer", HOAN_KIEM)
    sign_in(client, "xem-hk")
    page = client.get("/thiet-bi").text
    assert "Cụm loa Cửa Nam" not in page and "Cụm loa chợ Hàng Da" in page and "chưa có tọa độ" in page
    assert 'data-points="/thiet-bi/ban-do.json"' in page and 'data-tiles=""' in page
    data = client.get("/thiet-bi/ban-do.json").json()
    assert sorted(p["id"] for p in data["points"]) == ["loa-thon-dong", "loa-to-5"]
    assert data["without_location"] == 1 and data["truncated"] is False
    dong = next(p for p in data["points"] if p["id"] == "loa-thon-dong")
    assert (dong["lat"], dong["lon"], dong["online"], dong["url"]) == (21.0285, 105.8542, True,
                                                                      "/thiet-bi/loa-thon-dong")
    searched = client.get("/thiet-bi/ban-do.json", params={"tim": "to dan pho"}).json()
    assert [p["id"] for p in searched["points"]] == ["loa-to-5"]
    assert client.get("/thiet-bi", params={"khu": CUA_NAM}).status_code == 403
    assert client.get("/thiet-bi/loa-cua-nam").status_code == 403


def test_a_device_page_shows_live_state_titles_and_recent_acks(container, client, fleet):
    add_user(container, "xem-hk", "viewer", HOAN_KIEM)
    sign_in(client, "xem-hk")
    page = text_of(client.get("/thiet-bi/loa-thon-dong").text)
    assert "Cụm loa Thôn Đông" in page and "trực tuyến" in page and "sim-1.0" in page
    version = newest_document(container, "loa-thon-dong")["version"]
    assert f"đang dùng bản mới nhất ({version})" in page
    now = page.split("Đang phát", 1)[1].split("Tiếp theo")[0]
    assert "Luật Hòa giải ở cơ sở" in now and "từ 08:35" in now and "occ-" not in now
    after = page.split("Tiếp theo", 1)[1]
    assert "Phòng chống lừa đảo qua mạng" in after and "10:00–10:15" in after
    acks = page.split("Phản hồi gần đây", 1)[1]
    assert f"Lịch phát bản {version}" in acks and "đã nhận" in acks and "08:35 28/11/2026" in acks
    panel = client.get("/thiet-bi/loa-thon-dong/trang-thai", headers={"HX-Request": "true"})
    assert panel.status_code == 200 and "<html" not in panel.text and 'hx-trigger="every 10s' in panel.text
    silent = text_of(client.get("/thiet-bi/loa-cho").text)
    assert "Không rõ: thiết bị đang mất kết nối." in silent and "Phòng chống lừa đảo qua mạng" in silent


def test_a_viewer_sees_no_controls_and_cannot_use_them(container, client, fleet):
    add_user(container, "xem-hk", "viewer", HOAN_KIEM)
    sign_in(client, "xem-hk")
    page = client.get("/thiet-bi/loa-thon-dong").text
    assert page.count('method="post"') == 1  # signing out only
    assert "Đặt âm lượng" not in page and "Đồng bộ lịch phát" not in page
    zones = client.get("/thiet-bi/khu-vuc").text
    assert "Tổ dân phố số 5" in zones and 'method="post"' not in zones.split("</header>", 1)[1]
    token = csrf_of(page)
    for action, data in (("am-luong", {"volume": "30"}), ("dong-bo", {}), ("vung-phat", {"zones": fleet["zone"]})):
        refused = client.post(f"/thiet-bi/loa-thon-dong/{action}", data={**data, "csrf_token": token})
        assert refused.status_code == 403, action
    with container.engine.connect() as connection:
        assert connection.scalar(select(CommandRow.cmd_id)) is None


def test_volume_and_resync_are_signed_commands_to_the_device_alone(container, client, fleet):
    add_user(container, "quan-tri-hk", "admin", HOAN_KIEM)
    sign_in(client, "quan-tri-hk")
    page = client.get("/thiet-bi/loa-thon-dong").text
    assert "Đặt âm lượng" in page and "Đồng bộ lịch phát" in page
    sent = post_form(client, "/thiet-bi/loa-thon-dong", "/thiet-bi/loa-thon-dong/am-luong", {"volume": "35"})
    assert sent.status_code == 303 and sent.headers["location"] == "/thiet-bi/loa-thon-dong"
    assert "Đã gửi lệnh đặt âm lượng 35" in client.get("/thiet-bi/loa-thon-dong").text
    bad = post_form(client, "/thiet-bi/loa-thon-dong", "/thiet-bi/loa-thon-dong/am-luong", {"volume": "150"})
    assert bad.status_code == 303 and "Âm lượng phải là số nguyên từ 0 đến 100." in client.get("/thiet-bi/loa-cho").text
    assert post_form(client, "/thiet-bi/loa-thon-dong", "/thiet-bi/loa-thon-dong/dong-bo", {}).status_code == 303
    with container.engine.connect() as connection:
        commands = {r.action: r for r in connection.execute(select(CommandRow))}
        documents = {r.document["action"]: r for r in connection.execute(select(CommandPublicationRow))}
    assert set(commands) == set(documents) == {"set_volume", "resync"}
    volume = documents["set_volume"]
    assert (volume.target_kind, volume.target_id) == ("device", "loa-thon-dong")
    assert volume.document["volume"] == 35 and volume.document["target"] == {"device": "loa-thon-dong"}
    assert protocol.verify(volume.document, container.signer.public_key_b64)
    assert protocol.verify(documents["resync"].document, container.signer.public_key_b64)
    (entry,) = audit_actions(container, "command.set_volume")
    assert entry.actor == "quan-tri-hk" and entry.details["devices"] == ["loa-thon-dong"]
    assert entry.details["volume"] == 35 and entry.object_id == commands["set_volume"].cmd_id
    assert len(audit_actions(container, "command.resync")) == 1


def test_zones_are_assigned_through_the_api_audited_and_in_the_next_schedule(container, client, fleet):
    admin = user(container, client, "quan-tri-hk", "admin", HOAN_KIEM)
    editor = user(container, client, "bien-tap-hk", "editor", HOAN_KIEM)
    other = user(container, client, "quan-tri-cn", "admin", CUA_NAM)
    village = create_zone(container.uow(), container.clock, Actor(None), commune_code=HOAN_KIEM, name="Thôn Đông",
                          kind="village")
    url = "/api/v1/devices/loa-to-5/zones"
    uow = container.uow()
    with uow:
        marker = uow.schedules.change_marker()
    assert client.put(url, headers=editor.headers, json={"zones": [village.id]}).status_code == 403
    assert client.put(url, headers=other.headers, json={"zones": [village.id]}).status_code == 403
    moved = client.put(url, headers=admin.headers, json={"zones": [village.id]})
    assert moved.status_code == 200, moved.text
    assert moved.json()["zones"] == [village.id] and village.id in moved.json()["listens_on"]
    with uow:
        assert uow.schedules.change_marker() != marker  # as many zone rows as before: the compiler must still see it
    (entry,) = audit_actions(container, "device.zones")
    assert entry.actor == "quan-tri-hk" and entry.details["added"] == [village.id]
    assert entry.details["removed"] == [fleet["zone"]]
    foreign = create_zone(container.uow(), container.clock, Actor(None), commune_code=CUA_NAM, name="Tổ 1",
                          kind="residential_group")
    refused = client.put(url, headers=admin.headers, json={"zones": [foreign.id]})
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "unknown_zone"

    members = client.put(f"/api/v1/zones/{village.id}/devices", headers=admin.headers,
                         json={"devices": ["loa-thon-dong", "loa-cho"]})
    assert members.status_code == 200 and members.json()["devices"] == ["loa-cho", "loa-thon-dong"]
    listed = client.get("/api/v1/devices", params={"zone": village.id}, headers=admin.headers).json()
    assert sorted(d["id"] for d in listed) == ["loa-cho", "loa-thon-dong"]  # loa-to-5 left the zone
    (entry,) = audit_actions(container, "zone.devices")
    assert entry.details == {"added": ["loa-cho", "loa-thon-dong"], "removed": ["loa-to-5"]}
    stranger = client.put(f"/api/v1/zones/{village.id}/devices", headers=admin.headers,
                          json={"devices": ["loa-cua-nam"]})
    assert stranger.status_code == 422 and stranger.json()["error"]["code"] == "device_not_in_commune"

    settings = DispatchSettings(container.settings.timezone, 7, container.settings.public_url)
    dispatch(container.uow, container.clock, container.signer, settings)
    assert village.id in newest_document(container, "loa-cho")["zones"]
    assert village.id not in newest_document(container, "loa-to-5")["zones"]


def test_zones_are_created_and_filled_on_the_zones_page(container, client, fleet, clock):
    add_user(container, "quan-tri-hk", "admin", HOAN_KIEM)
    sign_in(client, "quan-tri-hk")
    page = client.get("/thiet-bi/khu-vuc").text  # one commune: chosen already
    assert "Các vùng phát của" in page and "Tổ dân phố số 5" in page and "Tạo vùng phát mới" in page
    created = post_form(client, "/thiet-bi/khu-vuc", "/thiet-bi/khu-vuc",
                        {"commune": HOAN_KIEM, "name": "Thôn Đoài", "kind": "village", "description": ""})
    assert created.status_code == 303
    editing = client.get(created.headers["location"]).text
    assert "Đã tạo vùng phát “Thôn Đoài”" in editing and "Cụm loa thuộc “Thôn Đoài”" in editing
    zone_id = re.search(r'action="/thiet-bi/khu-vuc/([a-z0-9-]+)"', editing).group(1)
    saved = client.post(f"/thiet-bi/khu-vuc/{zone_id}", data={
        "csrf_token": csrf_of(editing), "commune": HOAN_KIEM, "devices": ["loa-cho", "loa-to-5"]},
        follow_redirects=False)
    assert saved.status_code == 303
    after = text_of(client.get(saved.headers["location"]).text)
    assert "Đã lưu: vùng phát có 2 cụm loa." in after
    assert "Thôn Đoài Thôn · 2 cụm loa" in after
    (entry,) = audit_actions(container, "zone.devices")
    assert entry.actor == "quan-tri-hk" and entry.details["added"] == ["loa-cho", "loa-to-5"]
    duplicate = post_form(client, "/thiet-bi/khu-vuc", "/thiet-bi/khu-vuc",
                          {"commune": HOAN_KIEM, "name": "Thôn Đoài", "kind": "village"})
    assert duplicate.status_code == 409 and "đã tồn tại" in duplicate.text
    device = text_of(client.get("/thiet-bi/loa-cho").text)
    assert "Vùng phát Thôn Đoài" in device
    moved = post_form(client, "/thiet-bi/loa-cho", "/thiet-bi/loa-cho/vung-phat", {"zones": fleet["zone"]})
    assert moved.status_code == 303
    assert "Vùng phát Tổ dân phố số 5" in text_of(client.get("/thiet-bi/loa-cho").text)


def test_another_communes_admin_cannot_assign_or_control(container, client, fleet):
    add_user(container, "quan-tri-cn", "admin", CUA_NAM)
    sign_in(client, "quan-tri-cn")
    token = csrf_of(client.get("/thiet-bi").text)
    assert client.get("/thiet-bi/loa-thon-dong").status_code == 403
    assert client.post(f"/thiet-bi/khu-vuc/{fleet['zone']}", data={"csrf_token": token, "devices": "loa-cho"},
                       follow_redirects=False).status_code == 403
    assert client.post("/thiet-bi/loa-cho/am-luong", data={"csrf_token": token, "volume": "10"}).status_code == 403
    assert client.post("/thiet-bi/khu-vuc", data={"csrf_token": token, "commune": HOAN_KIEM, "name": "Xóm mới",
                                                  "kind": "hamlet"}).status_code == 403
    assert audit_actions(container, "zone.devices") == []
    assert [r for r in audit_actions(container, "zone.create") if r.actor == "quan-tri-cn"] == []


def test_the_device_pages_need_a_session(client, fleet):
    for path in ("/thiet-bi", "/thiet-bi/ban-do.json", "/thiet-bi/loa-cho", "/thiet-bi/khu-vuc"):
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/dang-nhap"), path


def test_coordinates_come_from_registration_and_search_uses_the_folded_name(container, client):
    admin = user(container, client, "quan-tri-hk", "admin", HOAN_KIEM)
    created = client.post("/api/v1/devices", headers=admin.headers, json={
        "id": "loa-xom-bai", "name": "Cụm loa Xóm Bãi", "area_code": HOAN_KIEM, "latitude": 21.01,
        "longitude": 105.86})
    assert created.status_code == 201, created.text
    found = client.get("/api/v1/devices", params={"q": "xom bai"}, headers=admin.headers).json()
    assert [(d["id"], d["latitude"], d["longitude"]) for d in found] == [("loa-xom-bai", 21.01, 105.86)]
    assert client.get("/api/v1/devices", params={"q": "xóm bãi"}, headers=admin.headers).json()[0]["id"] == \
        "loa-xom-bai"
    assert client.get("/api/v1/devices", params={"q": "50%"}, headers=admin.headers).json() == []


def test_tiles_are_a_setting_and_the_csp_admits_only_their_host(tmp_path, database_url, clock, container, client):
    add_user(container, "xem-hk", "viewer", HOAN_KIEM)
    sign_in(client, "xem-hk")
    plain = client.get("/thiet-bi")
    assert "img-src 'self' data:;" in plain.headers["content-security-policy"] and 'data-tiles=""' in plain.text
    tiled = make_container(tmp_path / "tiled", database_url, clock=clock,
                           map_tile_url="https://{s}.tile.example.vn/{z}/{x}/{y}.png",
                           map_tile_attribution="© Bản đồ nền tỉnh")
    try:
        with TestClient(create_app(tiled)) as browser:
            sign_in(browser, "xem-hk")
            page = browser.get("/thiet-bi")
            assert "img-src 'self' data: https://*.tile.example.vn;" in page.headers["content-security-policy"]
            assert 'data-tiles="https://{s}.tile.example.vn/{z}/{x}/{y}.png"' in page.text
            assert 'data-attribution="© Bản đồ nền tỉnh"' in page.text
    finally:
        tiled.close()
    for bad in ("https://tiles.example.vn/tiles.png", "https://x.vn;script-src */{z}/{x}/{y}", "ftp://x.vn/{z}/{x}/{y}"):
        with pytest.raises(SettingsError):
            load_settings(map_tile_url=bad)
