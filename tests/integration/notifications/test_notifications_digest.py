"""The morning digest per commune, e-mailed through a real SMTP server to the people responsible for it: the alerts
not yet over and yesterday's (local day) misses and failures, with the plays not made because the amplifier was
switched off on purpose told apart; a viewer is not told, a commune's people see only their commune."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert

from broadcast import protocol
from broadcast.adapters.smtp_sender import SmtpSender
from broadcast.adapters.webhook_sender import HttpWebhookSender
from broadcast.persistence.models import PlayLogRow
from broadcast.services import alerts as alert_service
from broadcast.services import notifications
from broadcast.services.context import Actor
from broadcast.services.delivery import DeliveryInbox
from broadcast.services.devices import DeviceSpec, register_device
from broadcast.services.users import set_email
from tests.support.app import CUA_NAM, HANOI, HOAN_KIEM, add_user
from tests.support.inbound import as_received
from tests.support.smtp import smtp_server  # noqa: F401 - fixture

pytestmark = pytest.mark.integration
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
MORNING = datetime(2026, 11, 29, 6, 30, tzinfo=TZ)  # the digest job's hour
YESTERDAY = datetime(2026, 11, 28, tzinfo=TZ)


def play(n: int, device_id: str, commune: str, at: datetime, outcome: str, reason: str | None = None) -> dict:
    return {"device_id": device_id, "commune_code": commune, "item_id": f"occ-{n}", "title": "Bản tin sáng",
            "planned_start": at.astimezone(UTC), "outcome": outcome, "reason": reason,
            "recorded_at": at.astimezone(UTC) + timedelta(minutes=5)}


@pytest.fixture
def commune_world(container, clock):
    clock.current = YESTERDAY.astimezone(UTC)
    for device_id, commune in (("hk-0001", HOAN_KIEM), ("cn-0001", CUA_NAM)):
        register_device(container.uow(), clock, Actor(None),
                        DeviceSpec(id=device_id, name=f"Cụm loa {device_id}", area_code=commune))
    for username, role, area in (("lanh-dao-hk", "approver", HOAN_KIEM), ("quan-tri-hn", "admin", HANOI),
                                 ("xem-hn", "viewer", HANOI)):
        add_user(container, username, role, area)
        set_email(container.uow(), clock, Actor(None), username=username, email=f"{username}@loaxa.vn")
    clock.current = MORNING.astimezone(UTC)
    inbox = DeliveryInbox(container.uow)
    for device_id in ("hk-0001", "cn-0001"):
        doc = protocol.build_status(device_id, at=clock.now(), schedule_version=None, volume=70,
                                    storage_free_bytes=1 << 30,
                                    health={"amplifier": "fault" if device_id == "hk-0001" else "ok"})
        inbox.handle([as_received(doc, clock.now())])
    alert_service.set_thresholds(container.uow(), clock, Actor(None), HANOI, {"settle_s": 0})
    alert_service.evaluate(container.uow, clock, TZ, notify=container.notifier)
    rows = [play(n, "hk-0001", HOAN_KIEM, YESTERDAY + timedelta(hours=6, minutes=n), outcome, reason)
            for n, (outcome, reason) in enumerate([("missed", None), ("missed", None), ("missed", "power_off"),
                                                   ("missed", "power_off"), ("missed", "power_off"),
                                                   ("failed", "download_failed"), ("played", None)])]
    rows += [play(20, "hk-0001", HOAN_KIEM, YESTERDAY - timedelta(hours=1), "missed"),  # the day before
             play(21, "hk-0001", HOAN_KIEM, MORNING - timedelta(minutes=30), "failed")]  # today already
    with container.engine.begin() as connection:
        connection.execute(insert(PlayLogRow), rows)
    return container


def digests(server, address: str) -> dict[str, str]:
    return {m["Subject"]: m.get_content() for m in server.inbox.to(address)
            if m["Subject"].startswith("[LoaXa] Tình trạng loa")}


def test_the_morning_digest_tells_each_commune_s_people_about_yesterday(commune_world, clock,
                                                                        smtp_server):  # noqa: F811
    container = commune_world
    public_url = "https://loa.hoankiem.vn"
    staged = notifications.stage_daily_digest(container.uow, clock, TZ, public_url)
    assert staged == 3  # Hoàn Kiếm: its approver and Hà Nội's admin; Cửa Nam: the admin; never the viewer
    sent = notifications.deliver(container.uow, clock, SmtpSender(smtp_server.url, "LoaXa <loaxa@localhost>"),
                                 HttpWebhookSender(container.settings.fetch_policy))
    assert sent >= 3  # with the alert's own e-mails, staged when it opened
    with container.uow() as uow:
        assert uow.notifications.backlog() == 0
        hk_name, cn_name = uow.areas.get(HOAN_KIEM).name, uow.areas.get(CUA_NAM).name

    hk_subject = f"[LoaXa] Tình trạng loa {hk_name} ngày 29/11/2026"
    mine = digests(smtp_server, "lanh-dao-hk@loaxa.vn")
    assert list(mine) == [hk_subject]
    body = mine[hk_subject]
    assert ("Hôm qua (28/11/2026): 2 lượt phát bị lỡ, 1 lượt phát lỗi, 3 lượt không phát do tắt nguồn."
            in body), body
    assert "Cảnh báo chưa hết (1):" in body and "Cụm loa hk-0001 (hk-0001): Hỏng bộ khuếch đại" in body
    assert f"{public_url}/canh-bao?khu={HOAN_KIEM}" in body

    province = digests(smtp_server, "quan-tri-hn@loaxa.vn")
    assert set(province) == {hk_subject, f"[LoaXa] Tình trạng loa {cn_name} ngày 29/11/2026"}
    cn_body = province[f"[LoaXa] Tình trạng loa {cn_name} ngày 29/11/2026"]
    assert "Hôm qua (28/11/2026): 0 lượt phát bị lỡ, 0 lượt phát lỗi." in cn_body
    assert "Không có cảnh báo nào chưa hết." in cn_body and "hk-0001" not in cn_body
    assert smtp_server.inbox.to("xem-hn@loaxa.vn") == []
    raw = next(m for m in smtp_server.inbox.to("lanh-dao-hk@loaxa.vn") if m["Subject"] == hk_subject)
    assert raw.get_content_charset() == "utf-8"


def test_a_second_run_the_same_morning_finds_nothing_left_to_send(commune_world, clock,
                                                                  smtp_server):  # noqa: F811
    container = commune_world
    sender = SmtpSender(smtp_server.url, "LoaXa <loaxa@localhost>")
    webhooks = HttpWebhookSender(container.settings.fetch_policy)
    notifications.stage_daily_digest(container.uow, clock, TZ, "https://loa.vn")
    notifications.deliver(container.uow, clock, sender, webhooks)
    before = len(smtp_server.inbox.messages)
    assert notifications.deliver(container.uow, clock, sender, webhooks) == 0
    assert len(smtp_server.inbox.messages) == before  # each message once
