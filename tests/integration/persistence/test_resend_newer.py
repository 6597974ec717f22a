"""A device that answers an older schedule version with `received` again has just read an older document than the
newest one sent to it (a stale retained copy after a broker node's failover, docs/nats.md): the DeliveryInbox makes
the newer version it lacks due at once, on both engines, and leaves received and superseded versions alone. And the
versions a broker that lost its retained store must get again after a reconnect (`published_since`)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select

from broadcast import protocol
from broadcast.devices.ports import InboundMessage
from broadcast.persistence.models import DeviceRow, SchedulePublicationRow
from broadcast.services.delivery import DeliveryInbox
from tests.support.app import device_row

pytestmark = [pytest.mark.integration]
NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
RETRY_AT = NOW + timedelta(minutes=2)


def publication(device: str, version: int, *, received: bool = False, retired: bool = False) -> dict:
    return {"device_id": device, "version": version, "fingerprint": "f" * 64, "document": {"v": version},
            "created_at": NOW, "published_at": NOW, "attempts": 1,
            "next_attempt_at": None if retired else RETRY_AT, "received_at": NOW if received else None}


def received(device: str, version: int, heard: datetime) -> InboundMessage:
    doc = protocol.build_ack(device, protocol.schedule_ref(version), "received", at=heard)
    return InboundMessage(device, "ack", protocol.parse_ack(protocol.encode(doc)), heard)


def next_attempts(container) -> dict[tuple[str, int], datetime | None]:
    table = SchedulePublicationRow.__table__
    with container.engine.connect() as connection:
        rows = connection.execute(select(table.c.device_id, table.c.version, table.c.next_attempt_at))
        return {(d, v): None if at is None else at.replace(tzinfo=UTC) for d, v, at in rows}


def test_an_older_version_read_again_makes_the_newer_one_due(container):
    with container.engine.begin() as connection:
        connection.execute(insert(DeviceRow), [device_row(d, NOW) for d in ("loa-1", "loa-2", "loa-3")])
        connection.execute(insert(SchedulePublicationRow), [
            publication("loa-1", 1, received=True), publication("loa-1", 2),  # 2 sent, not received
            publication("loa-2", 1, received=True), publication("loa-2", 2, received=True),  # all received
            publication("loa-3", 1, received=True, retired=True), publication("loa-3", 2, retired=True),
            publication("loa-3", 3)])
    inbox = DeliveryInbox(container.uow)
    inbox.handle([*(received(d, 1, NOW) for d in ("loa-1", "loa-2", "loa-3")), received("loa-3", 2, NOW)])
    heard = NOW + timedelta(seconds=5)
    inbox.handle([received("loa-1", 1, heard), received("loa-2", 1, heard), received("loa-3", 2, heard)])
    assert next_attempts(container) == {
        ("loa-1", 1): RETRY_AT, ("loa-1", 2): heard,  # due when the stale copy was heard
        ("loa-2", 1): RETRY_AT, ("loa-2", 2): RETRY_AT,  # nothing newer missing
        ("loa-3", 1): None, ("loa-3", 2): None, ("loa-3", 3): heard}  # superseded ones stay retired


def test_first_receipts_resend_nothing(container):
    with container.engine.begin() as connection:
        connection.execute(insert(DeviceRow), [device_row("loa-1", NOW)])
        connection.execute(insert(SchedulePublicationRow), [publication("loa-1", 1), publication("loa-1", 2)])
    DeliveryInbox(container.uow).handle([received("loa-1", 1, NOW + timedelta(seconds=5))])
    assert next_attempts(container)[("loa-1", 2)] == RETRY_AT  # version 1 came late, not again


def test_published_since_gives_each_enabled_devices_newest_version_published_in_the_window(container):
    """What a broker that lost its retained store gets again after a reconnect (services/delivery/retained.py)."""
    earlier = NOW - timedelta(minutes=10)
    devices = ("loa-1", "loa-2", "loa-3", "loa-4", "loa-5", "loa-6", "loa-7")
    with container.engine.begin() as connection:
        connection.execute(insert(DeviceRow), [device_row(d, NOW, disabled=d == "loa-5") for d in devices])
        connection.execute(insert(SchedulePublicationRow), [
            publication("loa-1", 1, received=True), publication("loa-1", 2, received=True),  # the newest: 2
            publication("loa-2", 1, received=True), publication("loa-2", 2),  # 2 still in flight: retained too
            {**publication("loa-3", 1, received=True), "published_at": earlier, "received_at": earlier},  # before
            publication("loa-4", 1), {**publication("loa-4", 2), "published_at": None},  # 2 is the outbox's
            publication("loa-5", 1),  # disabled
            publication("loa-6", 1),
            # abandoned at the loss (never marked published), sent again by paho on the resumed session, received
            {**publication("loa-7", 1, received=True), "published_at": None}])
    with container.uow() as uow:
        current = uow.delivery.published_since(NOW - timedelta(minutes=1))
    assert [(p.device_id, p.version, p.payload) for p in current] == [
        ("loa-1", 2, b'{"v":2}'), ("loa-2", 2, b'{"v":2}'), ("loa-6", 1, b'{"v":1}'), ("loa-7", 1, b'{"v":1}')]
