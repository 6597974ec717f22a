"""What devices report, stored by the DeliveryInbox through in-memory repositories: live state and presence,
acks stored once, the first received ack of a version, command acks only from devices the command was sent to,
deliveries that only move forward, and one transaction per batch."""
from __future__ import annotations

from datetime import timedelta

import pytest

from broadcast import protocol
from broadcast.devices.ports import InboundMessage
from broadcast.services.delivery import DeliveryInbox, stage_schedule
from broadcast.services.delivery.commands import CommandRequest, stage_command
from tests.unit.services.fakes import FakeDatabase
from tests.unit.services.world import HANOI, HOAN_KIEM, device


@pytest.fixture
def db(db: FakeDatabase) -> FakeDatabase:
    db.add(device("hk-0001", HOAN_KIEM), device("hk-0002", HOAN_KIEM))
    return db


def status(clock, device_id: str, *, online: bool = True, **fields) -> InboundMessage:
    doc = protocol.build_status(device_id, at=clock.now(), schedule_version=fields.pop("version", None),
                                volume=fields.pop("volume", 60), **fields) if online \
        else protocol.offline_status(device_id)
    return InboundMessage(device_id, "status", protocol.parse_status(protocol.encode(doc)), clock.now())


def ack(clock, device_id: str, ref: dict, stage: str, **fields) -> InboundMessage:
    if stage in ("playing", "played", "preempted"):  # what the protocol requires of these stages
        fields.setdefault("started_at", clock.now())
    if stage in ("played", "preempted"):
        fields.setdefault("ended_at", clock.now())
    doc = protocol.build_ack(device_id, ref, stage, at=clock.now(), **fields)
    return InboundMessage(device_id, "ack", protocol.parse_ack(protocol.encode(doc)), clock.now())


def stored_acks(db) -> list[tuple[str, str, str]]:
    return sorted((a.device_id, a.ref_id, a.stage) for a in db.tables.acks.values())


def staged_command(db, clock, signer, tracked: list[str]) -> str:
    uow = db.uow()
    with uow:
        cmd_id = stage_command(uow, clock, signer, CommandRequest(action="play_now", zones=[f"{HANOI}-{HOAN_KIEM}"],
                                                                  tracked_devices=tracked, stream_url="http://r.vn/1"),
                               created_by="khan-cap")
        uow.commit()
    return cmd_id


def test_statuses_update_the_live_state_and_presence_records_each_flip(db, clock):
    inbox = DeliveryInbox(db.uow)
    playing = {"item_id": "occ-1", "since": protocol.format_time(clock.now())}
    inbox.handle([status(clock, "hk-0001", firmware="sim-1.0", volume=70, version=3, playing=playing),
                  status(clock, "ghost-01")])  # not registered: nothing about it is kept
    state = db.tables.device_state["hk-0001"]
    assert (state.online, state.firmware, state.volume, state.reported_version, state.playing_item) == \
        (True, "sim-1.0", 70, 3, "occ-1")
    assert state.last_seen == clock.now() and "ghost-01" not in db.tables.device_state
    clock.advance(seconds=60)
    inbox.handle([status(clock, "hk-0001")])  # still online: no presence change
    clock.advance(seconds=60)
    inbox.handle([status(clock, "hk-0001", online=False), status(clock, "hk-0002"), status(clock, "hk-0002",
                                                                                            online=False)])
    assert [(e.device_id, e.online) for e in db.tables.presence] == \
        [("hk-0001", True), ("hk-0001", False), ("hk-0002", True), ("hk-0002", False)]
    assert db.tables.device_state["hk-0001"].playing_item is None  # an offline device plays nothing
    assert db.tables.device_state["hk-0002"].online is False  # the newest status of a batch wins


def test_acks_are_stored_once_and_the_hook_sees_only_new_ones_in_the_same_transaction(db, clock):
    seen = []
    inbox = DeliveryInbox(db.uow, on_acks=lambda uow, new: seen.append((uow.db.commits, [a.stage for a in new])))
    received = ack(clock, "hk-0001", protocol.schedule_ref(1), "received")
    inbox.handle([received, received,  # a QoS 1 duplicate
                  ack(clock, "ghost-01", protocol.schedule_ref(1), "received")])
    inbox.handle([received])  # and again, later
    assert stored_acks(db) == [("hk-0001", "1", "received")]
    assert seen == [(0, ["received"])]  # before the batch's commit, so proof of play commits with the acks


def test_the_first_received_ack_stamps_a_version(db, clock, signer):
    uow = db.uow()
    with uow:
        stage_schedule(uow, clock, signer, uow.devices.get("hk-0001"), [], horizon_end=clock.now() + timedelta(days=1))
        uow.commit()
    inbox = DeliveryInbox(db.uow)
    inbox.handle([ack(clock, "hk-0001", protocol.schedule_ref(1), "rejected", reason="bad_signature")])
    assert db.tables.publications[("hk-0001", 1)].received_at is None  # a refusal is no delivery
    clock.advance(seconds=5)
    first = clock.now()
    inbox.handle([ack(clock, "hk-0001", protocol.schedule_ref(1), "received")])
    clock.advance(minutes=30)
    inbox.handle([ack(clock, "hk-0001", protocol.schedule_ref(1), "played", item_id="occ-1")])
    assert db.tables.publications[("hk-0001", 1)].received_at == first
    assert len(db.tables.acks) == 3


def test_a_command_ack_counts_only_from_a_device_the_command_was_sent_to(db, clock, signer):
    """Every device reads its ward's zone topic, so hk-0002 saw the command; it was not sent to it, and its ack
    would be forged proof of play."""
    cmd_id = staged_command(db, clock, signer, tracked=["hk-0001"])
    hooked = []
    DeliveryInbox(db.uow, on_acks=lambda uow, new: hooked.extend(a.device_id for a in new)).handle([
        ack(clock, "hk-0001", protocol.command_ref(cmd_id), "received"),
        ack(clock, "hk-0001", protocol.command_ref(cmd_id), "playing"),
        ack(clock, "hk-0002", protocol.command_ref(cmd_id), "played")])
    assert stored_acks(db) == [("hk-0001", cmd_id, "playing"), ("hk-0001", cmd_id, "received")]
    assert hooked == ["hk-0001", "hk-0001"]
    assert db.tables.deliveries == {(cmd_id, "hk-0001"): "playing"}


def test_a_delivery_only_moves_forward(db, clock, signer):
    cmd_id = staged_command(db, clock, signer, tracked=["hk-0001", "hk-0002"])
    inbox = DeliveryInbox(db.uow)
    inbox.handle([ack(clock, "hk-0001", protocol.command_ref(cmd_id), "played")])
    inbox.handle([ack(clock, "hk-0001", protocol.command_ref(cmd_id), "received"),  # late, out of order
                  ack(clock, "hk-0002", protocol.command_ref(cmd_id), "playing"),
                  ack(clock, "hk-0002", protocol.command_ref(cmd_id), "ready")])
    assert db.tables.deliveries == {(cmd_id, "hk-0001"): "played", (cmd_id, "hk-0002"): "playing"}
    assert len(db.tables.acks) == 4  # every ack is kept; only the delivery's stage stays at the furthest


def test_a_batch_is_one_transaction(db, clock):
    def failing_hook(uow, new):
        raise RuntimeError("play log unavailable")

    with pytest.raises(RuntimeError):
        DeliveryInbox(db.uow, on_acks=failing_hook).handle([
            status(clock, "hk-0001"), ack(clock, "hk-0001", protocol.schedule_ref(1), "received")])
    assert db.tables.acks == {} and db.tables.device_state == {} and db.tables.presence == []


def _published(db, clock, signer, device_id: str, versions: int, *, retry_in: timedelta) -> None:
    """`versions` schedules staged for the device, each published at once and waiting `retry_in` for a retry."""
    for _ in range(versions):
        uow = db.uow()
        with uow:
            latest = uow.delivery.latest_publication(device_id)
            # A horizon two days further each time: a new version even without items (stage_schedule's refresh).
            horizon = clock.now() + timedelta(days=1 + 2 * (latest.version if latest else 0))
            version = stage_schedule(uow, clock, signer, uow.devices.get(device_id), [], horizon_end=horizon).version
            uow.delivery.mark_published([(device_id, version, clock.now() + retry_in)], at=clock.now())
            uow.commit()


def test_a_device_reading_an_older_schedule_again_gets_the_newer_one_at_the_next_flush(db, clock, signer):
    """After a broker node's failover a device can read a stale retained copy (docs/nats.md): it answers the old
    version with `received` again. The newer version sent to it meanwhile must not wait for its retry time."""
    _published(db, clock, signer, "hk-0001", 1, retry_in=timedelta(minutes=2))
    inbox = DeliveryInbox(db.uow)
    inbox.handle([ack(clock, "hk-0001", protocol.schedule_ref(1), "received")])
    _published(db, clock, signer, "hk-0001", 1, retry_in=timedelta(minutes=2))  # version 2, not yet received
    _published(db, clock, signer, "hk-0002", 1, retry_in=timedelta(minutes=2))
    clock.advance(seconds=3)
    inbox.handle([ack(clock, "hk-0001", protocol.schedule_ref(1), "received"),  # version 1 again: stale copy
                  ack(clock, "hk-0002", protocol.schedule_ref(1), "received")])  # a first receipt: nothing lost
    assert db.tables.publications[("hk-0001", 2)].next_attempt_at == clock.now()
    assert db.tables.publications[("hk-0002", 1)].received_at == clock.now()
    assert db.tables.publications[("hk-0001", 1)].received_at < clock.now()  # the first receipt stays


def test_a_repeated_receipt_of_the_newest_version_resends_nothing(db, clock, signer):
    _published(db, clock, signer, "hk-0001", 2, retry_in=timedelta(minutes=2))  # version 1 retired by version 2
    inbox = DeliveryInbox(db.uow)
    inbox.handle([ack(clock, "hk-0001", protocol.schedule_ref(1), "received"),
                  ack(clock, "hk-0001", protocol.schedule_ref(2), "received")])
    before = dict(db.tables.publications)
    clock.advance(seconds=3)
    inbox.handle([ack(clock, "hk-0001", protocol.schedule_ref(2), "received"),  # a QoS 1 repeat
                  ack(clock, "hk-0001", protocol.schedule_ref(1), "received")])  # an older copy read again
    assert db.tables.publications == before  # version 2 is received: nothing newer to send
