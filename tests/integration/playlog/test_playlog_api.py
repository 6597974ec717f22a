"""GET /api/v1/playlog on the real app: filters, paging, order, CSV for Excel, and who may see what."""
from __future__ import annotations

import csv
import io
from datetime import UTC, timedelta

import pytest

from broadcast import protocol
from broadcast.domain.delivery import CommandPublication
from broadcast.services.playlog import CSV_HEADERS
from tests.support.app import CUA_NAM, HANOI, HCMC, HOAN_KIEM, VUNG_TAU, user

pytestmark = pytest.mark.integration
URL = "/api/v1/playlog"


@pytest.fixture
def logged(world):
    """hk-0001 plays items 0 and 1, misses 2; hk-0002 plays 0; cn-0001 fails 3; vt-0001 plays 0 and an emergency."""
    t0, clock = world.t0, world.clock
    clock.advance(hours=5)

    def played(device, n, stage="played"):
        item = world.item(device, n)
        start = protocol.parse_time(item["start"])
        return world.ack(device, stage, item_id=item["item_id"], started_at=start,
                         ended_at=start + timedelta(minutes=5))

    world.feed(played("hk-0001", 0), played("hk-0001", 1), world.ack("hk-0001", "missed",
                                                                      item_id=world.item("hk-0001", 2)["item_id"]))
    clock.advance(hours=1)  # later arrivals: recorded an hour after the first batch
    world.feed(played("hk-0002", 0), world.ack("cn-0001", "failed", item_id=world.item("cn-0001", 3)["item_id"],
                                               reason="download_failed"), played("vt-0001", 0))
    uow = world.container.uow()
    with uow:
        uow.commands.add(cmd_id="cmd-emg-9", action="play_now", priority="emergency", issued_at=t0 - timedelta(hours=1),
                         expires_at=t0, created_by="test", emergency_id=9,
                         publications=[CommandPublication("cmd-emg-9", "zone", "79", {"type": "command"})],
                         tracked_devices=["vt-0001"])
        uow.commit()
    world.feed(world.ack("vt-0001", "played", ref=protocol.command_ref("cmd-emg-9"), started_at=t0 - timedelta(hours=1),
                         ended_at=t0 - timedelta(minutes=58)))
    return world


@pytest.fixture
def admin(container, client):
    return user(container, client, "admin", "admin", HANOI)


def get(client, who, **params):
    response = client.get(URL, params=params, headers=who.headers)
    assert response.status_code == 200, response.text
    return response.json()


def keys(rows):
    return [(r["device_id"], r["item_id"], r["outcome"]) for r in rows]


def test_lists_in_planned_order_with_filters_and_pages(logged, container, client):
    root = user(container, client, "root", "admin", HANOI)
    everyone = get(client, root)
    # An admin of Hà Nội sees Hà Nội only, ordered by planned start.
    assert {r["device_id"] for r in everyone} == {"hk-0001", "hk-0002", "cn-0001"}
    starts = [r["planned_start"] for r in everyone]
    assert starts == sorted(starts) and len(everyone) == 5
    first = everyone[0]
    assert first["outcome_label"] == "đã phát" and first["commune_name"] and first["title"] == "Bản tin số 1"

    assert {r["device_id"] for r in get(client, root, area=CUA_NAM)} == {"cn-0001"}
    assert {r["device_id"] for r in get(client, root, area=HOAN_KIEM)} == {"hk-0001", "hk-0002"}
    assert keys(get(client, root, device="hk-0001", outcome="missed")) == [
        ("hk-0001", logged.item("hk-0001", 2)["item_id"], "missed")]
    assert {r["device_id"] for r in get(client, root, programme=200)} == {"hk-0001", "hk-0002"}
    assert [r["item_id"] for r in get(client, root, schedule=101)] == [logged.item("hk-0001", 1)["item_id"]]
    assert [r["outcome"] for r in get(client, root, outcome="failed")] == ["failed"]

    t0 = logged.t0
    window = get(client, root, **{"from": (t0 + timedelta(minutes=30)).isoformat(),
                                  "to": (t0 + timedelta(hours=2, minutes=30)).isoformat()})
    assert [r["item_id"] for r in window] == [logged.item("hk-0001", n)["item_id"] for n in (1, 2)]
    # Naive times are local (UTC+7): the first items start at t0 + 7 h on the wall clock.
    local = (t0 + timedelta(hours=7)).replace(tzinfo=None)
    first_items = get(client, root, **{"from": local.isoformat(), "to": (local + timedelta(minutes=1)).isoformat()})
    assert {r["device_id"] for r in first_items} == {"hk-0001", "hk-0002"} and len(first_items) == 2
    late = get(client, root, by="recorded", **{"from": (logged.clock.now() - timedelta(minutes=1)).isoformat()})
    assert {r["device_id"] for r in late} == {"hk-0002", "cn-0001"}

    page1, page2 = get(client, root, limit=2), get(client, root, limit=2, offset=2)
    assert keys(page1) + keys(page2) == keys(everyone)[:4]

    assert client.get(URL, params={"outcome": "exploded"}, headers=root.headers).status_code == 422
    assert client.get(URL).status_code == 401


def test_viewer_sees_only_own_areas(logged, container, client):
    south = user(container, client, "south", "viewer", HCMC)
    ward = user(container, client, "ward", "viewer", CUA_NAM)
    assert {r["device_id"] for r in get(client, south)} == {"vt-0001"}
    assert {r["device_id"] for r in get(client, ward)} == {"cn-0001"}
    assert {r["device_id"] for r in get(client, south, programme=200)} == {"vt-0001"}  # not Hà Nội's plays
    emergency = get(client, south, emergency=9)
    assert keys(emergency) == [("vt-0001", "cmd-emg-9", "played")]
    assert emergency[0]["priority"] == "emergency" and emergency[0]["title"] == "Phát khẩn cấp"
    assert [r["item_id"] for r in get(client, south)] == ["cmd-emg-9", logged.item("vt-0001", 0)["item_id"]]
    for params in ({"area": HANOI}, {"area": HOAN_KIEM}, {"device": "hk-0001"}):
        refused = client.get(URL, params=params, headers=south.headers)
        assert refused.status_code == 403, params
        assert refused.json()["error"]["code"]
    assert client.get(URL, params={"area": HOAN_KIEM}, headers=ward.headers).status_code == 403
    assert client.get(URL, params={"area": "99999"}, headers=ward.headers).status_code == 404
    # Their own province is fine, and a CSV with a refused area is refused before any byte is sent.
    assert {r["device_id"] for r in get(client, south, area=VUNG_TAU)} == {"vt-0001"}
    assert client.get(URL, params={"area": HANOI, "format": "csv"}, headers=south.headers).status_code == 403


def parse_csv(response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    assert response.content.startswith("\ufeff".encode())  # BOM: Excel reads UTF-8
    text = response.content.decode("utf-8-sig")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    assert tuple(reader.fieldnames) == CSV_HEADERS
    return list(reader)


def test_csv_export_for_excel(logged, container, client, admin):
    rows = parse_csv(client.get(URL, params={"format": "csv"}, headers=admin.headers))
    assert {"Thiết bị", "Xã/phường", "Chương trình", "Bắt đầu dự kiến", "Bắt đầu thực tế", "Kết thúc",
            "Kết quả"} <= set(rows[0])
    assert len(rows) == 5  # no paging in an export
    by_item = {r["Mã mục"]: r for r in rows}
    played = by_item[logged.item("hk-0001", 0)["item_id"]]
    local = (logged.t0 + timedelta(hours=7)).strftime("%Y-%m-%d %H:%M:%S")
    assert played["Bắt đầu dự kiến"] == local == played["Bắt đầu thực tế"]
    assert played["Kết quả"] == "đã phát" and played["Chương trình"] == "Bản tin số 1"
    assert played["Xã/phường"] and played["Mã xã/phường"] == HOAN_KIEM and played["Thiết bị"] == "hk-0001"
    assert played["Mức ưu tiên"] == "thông thường"
    assert {r["Kết quả"] for r in rows} == {"đã phát", "bỏ lỡ", "lỗi"}
    assert by_item[logged.item("cn-0001", 3)["item_id"]]["Lý do"] == "download_failed"

    via_accept = parse_csv(client.get(URL, params={"device": "hk-0001"},
                                      headers={**admin.headers, "Accept": "text/csv"}))
    assert [r["Thiết bị"] for r in via_accept] == ["hk-0001"] * 3
    assert [r["Kết quả"] for r in via_accept] == ["đã phát", "đã phát", "bỏ lỡ"]


def test_csv_streams_many_rows(world, container, client, admin):
    """More rows than one chunk: every row arrives once, in order."""
    from broadcast.services.ports import PlayLogEntry

    uow = container.uow()
    now = world.clock.now()
    with uow:
        uow.playlog.add_many([PlayLogEntry(device_id="hk-0001", commune_code=HOAN_KIEM, item_id=f"bulk-{i:05d}",
                                           outcome="played", recorded_at=now,
                                           planned_start=now + timedelta(seconds=i)) for i in range(1203)])
        uow.commit()
    rows = parse_csv(client.get(URL, params={"format": "csv"}, headers=admin.headers))
    assert [r["Mã mục"] for r in rows] == [f"bulk-{i:05d}" for i in range(1203)]
    assert rows[-1]["Bắt đầu dự kiến"] == (now + timedelta(seconds=1202)).astimezone(
        protocol.VIETNAM_TZ).strftime("%Y-%m-%d %H:%M:%S")
    assert now.tzinfo is UTC
