"""A webhook receiver that is stopped (nobody listening on its port) gets every alert event later, once, in order,
when it is started again; a failure holds back only that receiver's later events, other receivers get theirs at
once; a receiver that asked for some causes gets only those. Real HTTP servers, real database (both engines)."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from broadcast.adapters.webhook_sender import HttpWebhookSender
from broadcast.domain.alert_events import AlertEvent
from broadcast.persistence.models_notify import NotificationRow
from broadcast.services import notifications
from broadcast.services import webhooks as webhook_service
from broadcast.services.context import Actor
from broadcast.services.devices import DeviceSpec, register_device
from tests.support.app import HANOI, HOAN_KIEM, make_container, wipe
from tests.support.webhook_receiver import receiving, webhook_receiver  # noqa: F401 - fixture

pytestmark = pytest.mark.integration
SECRET = "bi-mat-cua-tinh-0123456789"
CAUSES = ["amplifier_fault", "offline", "amplifier_fault", "temperature_high", "offline"]


@pytest.fixture
def allowed(tmp_path, database_url, clock):
    container = make_container(tmp_path, database_url, clock=clock, fetch_allow="127.0.0.1/32")
    register_device(container.uow(), clock, Actor(None), DeviceSpec(id="hk-0001", name="Cụm loa chợ",
                                                                     area_code=HOAN_KIEM))
    yield container
    wipe(container)
    container.close()


def hook(container, clock, url: str, area: str, causes: list[str]) -> None:
    parts = urlsplit(url)  # as the API checks it: the policy must allow the loopback receiver
    container.settings.fetch_policy.check_host(parts.hostname or "", parts.port or 80)
    webhook_service.add_webhook(container.uow(), clock, Actor(None), url=url, area_code=area, causes=causes,
                                secret=SECRET, check_url=lambda url: None)


def alert_events(container, clock) -> None:
    """Five events, each in its own transaction, as the alert rules would record them one pass after another."""
    for n, cause in enumerate(CAUSES):
        clock.advance(seconds=10)
        kind = "resolved" if n >= 3 else "opened"
        event = AlertEvent(kind, n + 1, cause, "hk-0001", HOAN_KIEM, clock.now(), details={})
        uow = container.uow()
        with uow:
            container.notifier(uow, clock, [event])
            uow.commit()


def pending(container) -> list[tuple[int, str | None]]:
    with container.engine.connect() as connection:
        return [(r.attempts, r.last_error) for r in connection.execute(
            select(NotificationRow).where(NotificationRow.sent_at.is_(None)).order_by(NotificationRow.id))]


def test_a_stopped_receiver_gets_every_event_later_once_in_order(allowed, clock, webhook_receiver):  # noqa: F811
    container = allowed
    sender = HttpWebhookSender(container.settings.fetch_policy)
    with receiving() as offline_only:
        hook(container, clock, webhook_receiver.url, HANOI, [])  # the province's: every cause
        hook(container, clock, offline_only.url, HOAN_KIEM, ["offline"])
        webhook_receiver.stop()
        alert_events(container, clock)

        assert notifications.deliver(container.uow, clock, None, sender) == 2  # the other receiver's two
        assert [e["alert"]["cause"] for e in offline_only.events()] == ["offline", "offline"]
        assert [e["type"] for e in offline_only.events()] == ["alert.opened", "alert.resolved"]
        waiting = pending(container)
        assert len(waiting) == 5 and waiting[0][0] == 1 and "ConnectError" in (waiting[0][1] or "")
        assert [a for a, _ in waiting[1:]] == [0, 0, 0, 0]  # held back behind the first, not tried

        assert notifications.deliver(container.uow, clock, None, sender) == 0  # not yet due again
        clock.advance(seconds=31)
        assert notifications.deliver(container.uow, clock, None, sender) == 0  # still stopped: next retry later
        assert pending(container)[0][0] == 2

        webhook_receiver.start()  # the same port again
        clock.advance(minutes=2)
        assert notifications.deliver(container.uow, clock, None, sender) == 5
        events = webhook_receiver.events()
        assert [(e["alert"]["id"], e["alert"]["cause"], e["type"]) for e in events] == [
            (n + 1, cause, "alert.resolved" if n >= 3 else "alert.opened") for n, cause in enumerate(CAUSES)]
        assert len({e["id"] for e in events}) == 5 and webhook_receiver.verified(SECRET)
        assert all(r["event"] == r["json"]["id"] for r in webhook_receiver.received)
        assert pending(container) == []

        clock.advance(hours=2)
        assert notifications.deliver(container.uow, clock, None, sender) == 0  # once: nothing sent twice
        assert len(webhook_receiver.events()) == 5 and len(offline_only.events()) == 2
    sender.close()


def test_a_removed_webhook_is_not_called_and_its_backlog_settles(allowed, clock, webhook_receiver):  # noqa: F811
    container = allowed
    hook(container, clock, webhook_receiver.url, HANOI, [])
    webhook_receiver.stop()
    alert_events(container, clock)
    sender = HttpWebhookSender(container.settings.fetch_policy)
    notifications.deliver(container.uow, clock, None, sender)
    with container.uow() as uow:
        (only,) = uow.notifications.webhooks(frozenset({HANOI}))
    webhook_service.remove_webhook(container.uow(), clock, Actor(None), only.id)
    webhook_receiver.start()
    clock.advance(hours=1)
    notifications.deliver(container.uow, clock, None, sender)
    assert webhook_receiver.events() == [] and pending(container) == []
    sender.close()
