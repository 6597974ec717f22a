"""The delivery core through in-memory repositories: staging signed schedule versions, the outbox flush with its
backoff, and live commands (services.delivery)."""
from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import timedelta

import pytest

from broadcast import protocol
from broadcast.devices.ports import InboundMessage
from broadcast.domain.areas import slugify
from broadcast.domain.errors import InvalidInput
from broadcast.services.delivery import DeliveryInbox, flush_outbox, stage_schedule
from broadcast.services.delivery.commands import CommandRequest, flush_commands, stage_command
from tests.unit.services.fakes import FakeDatabase, RecordingPublisher
from tests.unit.services.world import CUA_NAM, HANOI, HOAN_KIEM, device

RETRY_S = 60
HK = device("hk-0001", HOAN_KIEM, f"{HANOI}-{HOAN_KIEM}-to-5")


@pytest.fixture
def db(db: FakeDatabase) -> FakeDatabase:
    db.add(HK, device("hk-0002", HOAN_KIEM), device("cn-0001", CUA_NAM))
    return db


def item(clock, title: str, *, starts_in: timedelta = timedelta(hours=1), minutes: int = 15) -> dict:
    start = clock.now() + starts_in
    sha256 = hashlib.sha256(title.encode()).hexdigest()
    media = [protocol.build_media(sha256, protocol.media_url("https://loa.example.vn", sha256), 48_000, 60_000)]
    return dict(protocol.build_item(f"i-{slugify(title)}", start, start + timedelta(minutes=minutes),
                                    priority="normal", volume=80, title=title, media=media))


def stage(db, clock, signer, items, *, device_id="hk-0001", horizon=timedelta(days=7), **kwargs):
    uow = db.uow()
    with uow:
        publication = stage_schedule(uow, clock, signer, uow.devices.get(device_id), items,
                                     horizon_end=clock.now() + horizon, **kwargs)
        uow.commit()
    return publication


def report(db, clock, device_id: str, *, online: bool = True, acked: int | None = None) -> None:
    """The device speaks through the real inbox: a status, and an ack of a schedule version."""
    now = clock.now()
    status = protocol.build_status(device_id, at=now, schedule_version=acked, volume=60) if online \
        else protocol.offline_status(device_id)
    messages = [InboundMessage(device_id, "status", protocol.parse_status(protocol.encode(status)), now)]
    if acked is not None:
        ack = protocol.build_ack(device_id, protocol.schedule_ref(acked), "received", at=now)
        messages.append(InboundMessage(device_id, "ack", protocol.parse_ack(protocol.encode(ack)), now))
    DeliveryInbox(db.uow).handle(messages)


def flush(db, clock, publisher, **kwargs) -> int:
    return flush_outbox(db.uow, clock, publisher, retry_base_s=RETRY_S, **kwargs)


def sent_versions(publisher) -> list[tuple[str, int]]:
    return [(device_id, json.loads(payload)["version"]) for device_id, payload in publisher.schedules]


def test_a_version_is_signed_for_its_device_and_stored_only_with_the_callers_commit(db, clock, signer):
    uow = db.uow()
    with uow:
        stage_schedule(uow, clock, signer, HK, [item(clock, "một")], horizon_end=clock.now() + timedelta(days=7))
    assert db.tables.publications == {}  # staging never commits: the caller's change and its version go together

    publication = stage(db, clock, signer, [item(clock, "một")])
    assert publication.version == 1 and db.tables.publications[("hk-0001", 1)].document == publication.document
    assert protocol.verify(publication.document, signer.public_key_b64)
    parsed = protocol.parse_signed_schedule(protocol.encode(publication.document), signer.public_key_b64, "hk-0001")
    assert parsed["zones"] == [HANOI, f"{HANOI}-{HOAN_KIEM}", f"{HANOI}-{HOAN_KIEM}-to-5"]
    assert [i["title"] for i in parsed["items"]] == ["một"]


def test_a_new_version_only_when_what_the_device_would_play_changed(db, clock, signer):
    first = [item(clock, "một")]
    assert stage(db, clock, signer, first).version == 1
    assert stage(db, clock, signer, first, horizon=timedelta(days=7, hours=1)) is None
    clock.advance(minutes=1)
    assert stage(db, clock, signer, first) is None
    assert stage(db, clock, signer, [*first, item(clock, "hai", starts_in=timedelta(hours=3))]).version == 2
    assert stage(db, clock, signer, first).version == 3  # taking an item away is a change too
    assert stage(db, clock, signer, first, status_interval_s=30).version == 4
    db.tables.devices["hk-0001"] = replace(HK, zones=(*HK.zones, f"{HANOI}-{HOAN_KIEM}-to-6"))
    assert stage(db, clock, signer, first, status_interval_s=30).version == 5  # the zones it listens on
    assert sorted(v for _, v in db.tables.publications) == [1, 2, 3, 4, 5]


def test_items_that_have_ended_are_no_reason_for_a_new_version_but_a_short_horizon_is(db, clock, signer):
    soon, later = item(clock, "sớm", starts_in=timedelta(minutes=5)), item(clock, "muộn", starts_in=timedelta(hours=5))
    assert stage(db, clock, signer, [soon, later]).version == 1
    clock.advance(minutes=30)  # `soon` has ended: a fresh compilation no longer has it
    assert stage(db, clock, signer, [later]) is None
    clock.advance(days=1, minutes=1)  # the published horizon now falls more than a day short of the wanted one
    assert stage(db, clock, signer, [later]).version == 2


def test_the_outbox_publishes_a_version_once_then_retries_an_online_silent_device_with_backoff(db, clock, signer):
    publication = stage(db, clock, signer, [item(clock, "một")])
    publisher = RecordingPublisher()
    assert flush(db, clock, publisher) == 1
    assert publisher.schedules == [("hk-0001", protocol.encode(publication.document))]  # the wire bytes as stored
    assert flush(db, clock, publisher) == 0
    clock.advance(seconds=RETRY_S + 1)
    assert flush(db, clock, publisher) == 0  # never heard of: an offline device keeps its retained copy
    report(db, clock, "hk-0001")  # online, but no ack
    assert flush(db, clock, publisher) == 1
    clock.advance(seconds=RETRY_S + 1)
    assert flush(db, clock, publisher) == 0  # the second wait is twice the first
    clock.advance(seconds=RETRY_S)
    assert flush(db, clock, publisher) == 1
    report(db, clock, "hk-0001", acked=1)
    clock.advance(hours=2)
    assert flush(db, clock, publisher) == 0  # received: never again
    assert sent_versions(publisher) == [("hk-0001", 1)] * 3
    assert db.tables.publications[("hk-0001", 1)].attempts == 3


def test_a_version_the_broker_refused_stays_due(db, clock, signer):
    stage(db, clock, signer, [item(clock, "một")])
    assert flush(db, clock, RecordingPublisher(accept=False)) == 0
    stored = db.tables.publications[("hk-0001", 1)]
    assert stored.published_at is None and stored.attempts == 0
    assert flush(db, clock, RecordingPublisher()) == 1


def test_only_the_newest_waiting_version_goes_out_and_a_superseded_one_never_does(db, clock, signer):
    publisher = RecordingPublisher()
    report(db, clock, "hk-0001")
    stage(db, clock, signer, [item(clock, "một")])
    assert flush(db, clock, publisher) == 1
    stage(db, clock, signer, [item(clock, "hai")])
    stage(db, clock, signer, [item(clock, "ba")])
    assert flush(db, clock, publisher) == 1
    report(db, clock, "hk-0001", acked=3)
    clock.advance(hours=2)
    assert flush(db, clock, publisher) == 0  # version 1 was never acked, yet resending it would roll back
    assert sent_versions(publisher) == [("hk-0001", 1), ("hk-0001", 3)]


def test_a_disabled_device_gets_nothing(db, clock, signer):
    stage(db, clock, signer, [item(clock, "một")])
    db.tables.devices["hk-0001"] = replace(HK, disabled=True)
    assert flush(db, clock, RecordingPublisher()) == 0


def test_the_outbox_drains_in_batches_never_sent_first(db, clock, signer):
    publisher = RecordingPublisher()
    report(db, clock, "cn-0001")
    stage(db, clock, signer, [item(clock, "cũ")], device_id="cn-0001")
    flush(db, clock, publisher)
    clock.advance(seconds=RETRY_S + 1)  # cn-0001's retry is due again, behind the new versions below
    for device_id in ("hk-0001", "hk-0002"):
        stage(db, clock, signer, [item(clock, "mới")], device_id=device_id)
    assert flush(db, clock, publisher, batch_size=2) == 3
    assert sent_versions(publisher) == [("cn-0001", 1), ("hk-0001", 1), ("hk-0002", 1), ("cn-0001", 1)]


def test_a_command_is_signed_once_per_topic_bound_to_it_and_tracked_per_device(db, clock, signer):
    uow = db.uow()
    zones, devices = [f"{HANOI}-{HOAN_KIEM}"], ["cn-0001"]
    with uow:
        cmd_id = stage_command(uow, clock, signer, CommandRequest(
            action="set_volume", zones=zones, devices=devices, tracked_devices=["hk-0001", "hk-0002", "cn-0001"],
            volume=40, ttl=timedelta(minutes=2)), created_by="can-bo-vh")
        uow.commit()
    docs = {(p.target_kind, p.target_id): p.document for p in db.tables.command_publications.values()}
    assert set(docs) == {("zone", f"{HANOI}-{HOAN_KIEM}"), ("device", "cn-0001")}
    for (kind, target), doc in docs.items():
        assert protocol.verify(doc, signer.public_key_b64)
        assert doc["cmd_id"] == cmd_id and doc["target"] == {kind: target} and doc["volume"] == 40
        assert protocol.parse_time(doc["expires_at"]) == clock.now() + timedelta(minutes=2)
    assert db.tables.deliveries == {(cmd_id, d): None for d in ("hk-0001", "hk-0002", "cn-0001")}


@pytest.mark.parametrize("request_, code", [
    (CommandRequest(action="self_destruct", devices=["hk-0001"]), "invalid_action"),
    (CommandRequest(action="stop"), "no_targets"),
    (CommandRequest(action="stop", devices=["hk-0001"], ttl=timedelta(seconds=4)), "invalid_ttl"),
    (CommandRequest(action="stop", devices=["hk-0001"], ttl=timedelta(hours=24, seconds=1)), "invalid_ttl"),
])
def test_a_bad_command_is_refused_before_anything_is_written(db, clock, signer, request_, code):
    uow = db.uow()
    with uow, pytest.raises(InvalidInput) as refused:
        stage_command(uow, clock, signer, request_, created_by="can-bo-vh")
    assert refused.value.code == code and db.tables.commands == {}


def test_commands_are_published_once_while_they_are_valid(db, clock, signer):
    def staged(ttl: timedelta) -> str:
        uow = db.uow()
        with uow:
            cmd_id = stage_command(uow, clock, signer, CommandRequest(action="resync", devices=["hk-0001"], ttl=ttl),
                                   created_by="system")
            uow.commit()
        return cmd_id

    short, long = staged(timedelta(seconds=30)), staged(timedelta(minutes=10))
    assert flush_commands(db.uow, clock, RecordingPublisher(accept=False)) == 0  # refused: both still due
    clock.advance(seconds=31)  # `short` expired unsent: a stale command is never sent
    publisher = RecordingPublisher()
    assert flush_commands(db.uow, clock, publisher) == 1
    assert flush_commands(db.uow, clock, publisher) == 0
    assert [p.cmd_id for p in publisher.commands] == [long] and short != long
