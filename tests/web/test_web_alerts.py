"""The alerts page: what is wrong in the officer's areas in Vietnamese, a badge with the open count on every page,
taking an alert in hand with a note through the form, and the map's points coloured by state."""
from __future__ import annotations

import pytest

from broadcast import protocol
from broadcast.domain.auth import Principal
from broadcast.services import alerts as alert_service
from broadcast.services.context import Actor
from broadcast.services.delivery.inbox import DeliveryInbox
from broadcast.services.devices import DeviceSpec, register_device
from tests.support.app import CUA_NAM, HANOI, HOAN_KIEM, add_user
from tests.support.inbound import as_received
from tests.support.web import post_form, sign_in

pytestmark = pytest.mark.integration


@pytest.fixture
def faults(container, clock):
    for device_id, commune, lat in (("hk-0001", HOAN_KIEM, 21.03), ("hk-0002", HOAN_KIEM, 21.02),
                                    ("cn-0001", CUA_NAM, 21.01)):
        register_device(container.uow(), clock, Actor(None), DeviceSpec(id=device_id, name=f"Cụm loa {device_id}",
                                                                         area_code=commune, latitude=lat,
                                                                         longitude=105.85))
    inbox = DeliveryInbox(container.uow)
    for device_id, health in (("hk-0001", {"speaker_line": "open"}), ("hk-0002", {"temperature_c": 40}),
                              ("cn-0001", {"supply_mv": 10_100})):
        doc = protocol.build_status(device_id, at=clock.now(), schedule_version=None, volume=70,
                                    storage_free_bytes=1 << 30, health=health)
        inbox.handle([as_received(doc, clock.now())])
    alert_service.set_thresholds(container.uow(), clock, Actor(None), HANOI, {"settle_s": 0})
    alert_service.evaluate(container.uow, clock, container.settings.tz)


def test_the_page_lists_alerts_and_every_page_shows_the_badge(container, client, faults):
    add_user(container, "lanh-dao-hk", "approver", HOAN_KIEM)
    sign_in(client, "lanh-dao-hk")
    page = client.get("/canh-bao").text
    assert "Đứt hoặc chập dây loa (đứt dây)" in page and "Cụm loa hk-0001" in page
    assert "Cụm loa cn-0001" not in page and "10,10 V" not in page  # Cửa Nam is not this leader's
    assert "Nhận xử lý" in page
    home = client.get("/").text
    assert 'class="count-badge"' in home and 'href="/canh-bao"' in home


def test_taking_an_alert_in_hand_with_a_note(container, client, faults):
    add_user(container, "lanh-dao-hk", "approver", HOAN_KIEM)
    sign_in(client, "lanh-dao-hk")
    alert_id = alert_service.list_alerts(container.uow(), _principal(container, "lanh-dao-hk"))[0].id
    done = post_form(client, "/canh-bao", f"/canh-bao/{alert_id}/xac-nhan", {"note": "Thợ đến chiều nay",
                                                                            "back": "/canh-bao?trang-thai=tat-ca"})
    assert done.status_code == 303 and done.headers["location"].startswith("/canh-bao")
    page = client.get("/canh-bao?trang-thai=acknowledged").text
    assert "Đang xử lý" in page and "lanh-dao-hk" in page and "Thợ đến chiều nay" in page
    assert 'class="count-badge"' not in client.get("/").text  # nothing open any more


def test_a_viewer_sees_no_acknowledge_control_and_the_map_is_coloured(container, client, faults):
    add_user(container, "xem-hn", "viewer", HANOI)
    sign_in(client, "xem-hn")
    page = client.get("/canh-bao").text
    assert "Điện áp nguồn thấp: 10,10 V" in page and "Nhận xử lý" not in page
    points = {p["id"]: p for p in client.get("/canh-bao/ban-do.json").json()["points"]}
    assert points["hk-0001"]["colour"] == "#b91c1c" and points["hk-0002"]["colour"] == "#1e6b34"
    assert points["hk-0001"]["state_text"] == "có cảnh báo chưa xử lý"


def _principal(container, username):
    with container.uow() as uow:
        account = uow.users.get_by_username(username)
    return Principal(user_id=account.id, username=account.username, grants=account.grants)


def test_alerts_beyond_one_page_are_reached_by_page_links(container, client, clock):
    for n in range(51):  # never heard since registration: offline, one without coordinates
        register_device(container.uow(), clock, Actor(None), DeviceSpec(
            id=f"cn-{n:04d}", name=f"Loa Cửa Nam {n:02d}", area_code=CUA_NAM,
            latitude=21.0 + n / 1000 if n else None, longitude=105.85 if n else None))
    clock.advance(hours=1)
    alert_service.set_thresholds(container.uow(), clock, Actor(None), HANOI, {"settle_s": 0})
    assert alert_service.evaluate(container.uow, clock, container.settings.tz).opened == 51
    add_user(container, "xem-cn", "viewer", CUA_NAM)
    sign_in(client, "xem-cn")
    first = client.get("/canh-bao", params={"loai": "offline"}).text
    assert first.count("Mất kết nối quá 15 phút") == 50 and "Danh sách · trang 1" in first
    assert 'href="/canh-bao?trang-thai=open&amp;loai=offline&amp;trang=2"' in first
    second = client.get("/canh-bao", params={"loai": "offline", "trang": "2"}).text
    assert second.count("Mất kết nối quá 15 phút") == 1 and "Trang trước" in second and "Trang sau" not in second
    shown = {n for n in range(51) if f"Loa Cửa Nam {n:02d}" in first + second}
    assert shown == set(range(51))
    points = client.get("/canh-bao/ban-do.json", params={"khu": CUA_NAM}).json()
    assert (len(points["points"]), points["without_location"]) == (50, 1)
    assert {p["colour"] for p in points["points"]} == {"#b91c1c"}
