"""A device's page shows its health in Vietnamese words and charts of the last day; a device that never sent
health says so; the charts are for readers of the device's area only."""
from __future__ import annotations

from datetime import timedelta

import pytest

from broadcast import protocol
from broadcast.services.context import Actor
from broadcast.services.delivery.inbox import DeliveryInbox
from broadcast.services.devices import DeviceSpec, register_device
from tests.support.app import CUA_NAM, HOAN_KIEM, add_user
from tests.support.inbound import as_received
from tests.support.web import sign_in

pytestmark = pytest.mark.integration


@pytest.fixture
def devices(container, clock):
    for device_id, commune in (("hk-0001", HOAN_KIEM), ("cn-0001", CUA_NAM), ("hk-0002", HOAN_KIEM)):
        register_device(container.uow(), clock, Actor(None), DeviceSpec(id=device_id, name=f"Cụm loa {device_id}",
                                                                         area_code=commune))
    inbox = DeliveryInbox(container.uow)
    t0 = clock.now()
    for n, temperature in enumerate((40, 52, 47)):
        at = t0 - timedelta(hours=3 - n)
        doc = protocol.build_status("hk-0001", at=at, schedule_version=None, volume=70,
                                    health={"temperature_c": temperature, "supply_mv": 12150 - 100 * n,
                                            "amplifier": "fault" if n == 2 else "ok", "speaker_line": "open",
                                            "power": "on", "rssi_dbm": -71, "network": "cellular",
                                            "uptime_s": 90_000})
        inbox.handle([as_received(doc, at)])


def test_the_page_reads_health_in_words(container, client, devices):
    add_user(container, "xem-hk", "viewer", HOAN_KIEM)
    sign_in(client, "xem-hk")
    page = client.get("/thiet-bi/hk-0001").text
    for words in ("Tình trạng thiết bị", "Bộ khuếch đại", "hỏng", "đứt dây", "47 °C", "11,95 V", "-71 dBm",
                  "di động (3G/4G)", "1 ngày 1 giờ", "suc-khoe/nhiet-do.svg"):
        assert words in page, words
    silent = client.get("/thiet-bi/hk-0002").text
    assert "không gửi số liệu tình trạng" in silent


def test_the_charts_draw_the_history_for_readers_of_the_area(container, client, devices):
    add_user(container, "xem-hk", "viewer", HOAN_KIEM)
    sign_in(client, "xem-hk")
    chart = client.get("/thiet-bi/hk-0001/suc-khoe/nhiet-do.svg")
    assert chart.status_code == 200 and chart.headers["content-type"].startswith("image/svg+xml")
    assert "Nhiệt độ trong 24 giờ qua" in chart.text and "52 °C" in chart.text and "<polyline" in chart.text
    supply = client.get("/thiet-bi/hk-0001/suc-khoe/nguon.svg").text
    assert "12,15 V" in supply and "11,95 V" in supply
    assert client.get("/thiet-bi/hk-0001/suc-khoe/khac.svg").status_code == 404
    assert client.get("/thiet-bi/cn-0001/suc-khoe/nhiet-do.svg").status_code == 403
    empty = client.get("/thiet-bi/hk-0002/suc-khoe/nhiet-do.svg").text
    assert "Chưa có số liệu" in empty


def test_power_and_reboot_from_the_device_page(container, client, devices):
    from sqlalchemy import select

    from broadcast.persistence.models import CommandPublicationRow
    from tests.support.web import post_form

    add_user(container, "quan-tri-hk", "admin", HOAN_KIEM)
    sign_in(client, "quan-tri-hk")
    page = client.get("/thiet-bi/hk-0001").text
    assert "Tắt nguồn loa" in page and "Khởi động lại" in page
    for control in ("tat-nguon", "khoi-dong-lai"):
        done = post_form(client, "/thiet-bi/hk-0001", f"/thiet-bi/hk-0001/{control}", {})
        assert done.status_code == 303
    assert post_form(client, "/thiet-bi/hk-0001", "/thiet-bi/hk-0001/xoa-sach", {}).status_code == 303
    with container.engine.connect() as connection:
        documents = [r.document for r in connection.execute(select(CommandPublicationRow))]
    assert [(d["action"], d.get("power"), d["target"]) for d in documents] == [
        ("set_power", "off", {"device": "hk-0001"}), ("reboot", None, {"device": "hk-0001"})]
    add_user(container, "xem-hk", "viewer", HOAN_KIEM)
    sign_in(client, "xem-hk")
    assert "Tắt nguồn loa" not in client.get("/thiet-bi/hk-0001").text
